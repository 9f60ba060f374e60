// Sequence-to-sequence translation (Sutskever, Vinyals & Le 2014): an encoder reads a sentence and
// its final states start a decoder that writes the translation. The task is a generated toy
// language (examples/data/translate.ts): English number words into digits,
// "three hundred and forty two thousand five hundred six" -> "342506".
//
//   npm run example:translate -- [--epochs 10] [--train 8000] [--beam 4] [--seed 1] [--quick]
//                                  [--schedule cosine|constant] [--patience 10]
//
// Model (a functional model; lstm.cell compiled by cellc when built):
//   source ids -> Embedding -> Bidirectional(LSTM(H), returnState) -> [h_fwd; h_bwd], [c_fwd; c_bwd]
//   target ids (BOS + digits, teacher forcing) -> Embedding -> LSTM(2H, initial state from the
//   encoder) -> Dense(softmax over digits + EOS); sparse categorical cross-entropy over the
//   target's real steps, Adam, gradients clipped to global norm 1.
// Training ends well rather than wherever the last epoch lands: the learning rate follows a cosine
// decay from --lr to a twentieth of it over the whole run (cosineDecay), a callback scores greedy
// exact match on the validation sentences after each epoch (logged as val_exact), and
// earlyStopping on val_exact puts back the best epoch's weights at the end (and stops after
// --patience epochs without improvement).
// Decoding uses two inference models that share the trained layers: the encoder alone, and one
// decoder step (token, h, c) -> (probabilities, h, c). Greedy decoding takes the most probable token
// at each step; beam search (--beam K) keeps the K best partial translations by total log-probability.
// Reports exact-match accuracy on held-out sentences (numbers never seen in training), prints
// examples, and writes the learning curve (examples/out/translate.svg).

import { fileURLToPath } from "node:url";
import {
  adam,
  bidirectional,
  concatenate,
  cosineDecay,
  dense,
  earlyStopping,
  embedding,
  input,
  model,
  tensor,
  type Callbacks,
  type Functional,
  type Tensor,
} from "../runtime/index.ts";
import { lstm } from "../jit/index.ts";
import { count, parseFlags, percent, runMain, table, usage, UsageError, type FlagSpec } from "./data/cli.ts";
import { idsToNumberText, SOURCE_WORDS, TARGET_BOS, TARGET_EOS, TARGET_WORDS, translationData, type TranslationSplit } from "./data/translate.ts";
import { beamSearch, type DecoderStep } from "./data/beam.ts";
import { writeLineChart } from "../studies/plot.ts";

const FLAGS: Record<string, FlagSpec> = {
  epochs: { type: "int", help: "passes over the training sentences", default: 10 },
  train: { type: "int", help: "training sentences", default: 8000 },
  val: { type: "int", help: "held-out sentences scored after each epoch", default: 500 },
  test: { type: "int", help: "held-out sentences for the final score", default: 1000 },
  units: { type: "int", help: "encoder LSTM units per direction (the decoder has twice as many)", default: 32 },
  emb: { type: "int", help: "embedding size", default: 16 },
  batch: { type: "int", help: "batch size", default: 32 },
  lr: { type: "number", help: "Adam learning rate (the peak, under --schedule cosine)", default: 0.01 },
  schedule: { type: "string", help: "learning rate over the run: cosine (decays to lr/20) or constant", default: "cosine" },
  patience: { type: "int", help: "stop after this many epochs without a better validation exact match (the best epoch's weights are kept either way)", default: 10 },
  beam: { type: "int", help: "beam width for beam-search decoding", default: 4 },
  examples: { type: "int", help: "held-out translations to print", default: 8 },
  seed: { type: "int", help: "seed for data and weights", default: 1 },
  quick: { type: "bool", help: "a short run: 4 epochs, 4000 sentences" },
  out: { type: "string", help: "where to write the SVG learning curve", default: "examples/out/translate.svg" },
};

const USAGE = usage("npm run example:translate --", "An LSTM encoder-decoder that translates English number words into digits.", FLAGS);

export interface Seq2Seq {
  /** Training: [source ids, decoder input ids] -> probabilities over target tokens at each step. */
  train: Functional;
  /** Source ids -> the decoder's initial [h, c]. */
  encoder: Functional;
  /** One decoder step: [token [B, 1], h, c] -> [probabilities [B, 1, V], h, c]. */
  step: Functional;
}

/** The three models, sharing one set of layers. */
export function seq2seq(units: number, emb: number, seed: number): Seq2Seq {
  const src = input({ shape: [null], name: "source" });
  const [, hf, cf, hb, cb] = bidirectional(lstm(units, { returnState: true }), { name: "encoder" }).applyAll(embedding(SOURCE_WORDS.length, emb, { name: "source_embedding" }).apply(src));
  const h = concatenate({ name: "h0" }).apply([hf!, hb!]);
  const c = concatenate({ name: "c0" }).apply([cf!, cb!]);
  const tgtEmbedding = embedding(TARGET_WORDS.length, emb, { name: "target_embedding" });
  const decoder = lstm(2 * units, { returnSequences: true, returnState: true, name: "decoder" });
  const head = dense(TARGET_WORDS.length, { activation: "softmax", name: "next_token" });

  const tgt = input({ shape: [null], name: "target" });
  const [seq] = decoder.applyAll(tgtEmbedding.apply(tgt), { initialState: [h, c] });
  const train = model({ inputs: [src, tgt], outputs: head.apply(seq!), seed, name: "seq2seq" });
  const encoder = model({ inputs: src, outputs: [h, c], name: "encoder" });

  const tok = input({ shape: [null], name: "token" });
  const hIn = input({ shape: [2 * units], name: "h" });
  const cIn = input({ shape: [2 * units], name: "c" });
  const [seq1, h1, c1] = decoder.applyAll(tgtEmbedding.apply(tok), { initialState: [hIn, cIn] });
  const step = model({ inputs: [tok, hIn, cIn], outputs: [head.apply(seq1!), h1!, c1!], name: "decoder_step" });
  return { train, encoder, step };
}

function sourceTensor(s: TranslationSplit): Tensor {
  return tensor(s.source, [s.count, s.sourceLength], s.sourceLengths);
}

/** Translates a batch: the encoder's states, then beam search over decoder steps (K = 1: greedy). */
export function decode(m: Seq2Seq, source: Tensor, K: number, maxLength: number): number[][] {
  const N = source.shape[0]!;
  const [h0, c0] = m.encoder.predict(source, { batchSize: 256 }) as Tensor[];
  const width = h0!.shape[1]!;
  const step: DecoderStep = (tokens, [h, c]) => {
    const R = tokens.length;
    const [probs, h1, c1] = m.step.predict([tensor(tokens, [R, 1]), tensor(h!, [R, width]), tensor(c!, [R, width])], { batchSize: R }) as Tensor[];
    return { probs: probs!.data, states: [h1!.data, c1!.data] };
  };
  return beamSearch(step, [h0!.data, c0!.data], N, { beam: K, maxLength, vocab: TARGET_WORDS.length, bos: TARGET_BOS, eos: TARGET_EOS, never: [0, TARGET_BOS] });
}

/** Fraction of sentences whose decoded digits equal the reference exactly. */
function exactMatch(split: TranslationSplit, decoded: number[][]): number {
  let right = 0;
  split.pairs.forEach((p, i) => (right += idsToNumberText(decoded[i]!) === String(p.n) ? 1 : 0));
  return right / split.count;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const f = parseFlags(argv, FLAGS);
  if (f.help) {
    console.log(USAGE);
    return;
  }
  const quick = f["quick"] === true;
  const given = (name: string) => argv.some((a) => a.startsWith(`--${name}`));
  const epochs = quick && !given("epochs") ? 4 : (f["epochs"] as number);
  const nTrain = quick && !given("train") ? 4000 : (f["train"] as number);
  for (const name of ["train", "val", "test", "units", "emb", "batch", "lr", "beam"]) {
    if (!((f[name] as number) > 0)) throw new UsageError(`--${name} must be positive`);
  }
  if (!(epochs > 0)) throw new UsageError("--epochs must be positive");
  const schedule = String(f["schedule"]);
  if (schedule !== "cosine" && schedule !== "constant") throw new UsageError(`--schedule must be cosine or constant, got ${schedule}`);
  if (!((f["patience"] as number) >= 0)) throw new UsageError("--patience must be 0 or more");
  const K = f["beam"] as number;
  const seed = f["seed"] as number;
  const t0 = performance.now();
  const data = translationData(nTrain, f["val"] as number, f["test"] as number, seed);
  console.log(`Number words -> digits: ${count(nTrain)} training sentences, ${count(data.val.count)} validation and ${count(data.test.count)} test sentences (numbers never seen in training)`);
  for (const p of data.train.pairs.slice(0, 3)) console.log(`  ${p.source.join(" ")}  ->  ${p.n}`);

  const m = seq2seq(f["units"] as number, f["emb"] as number, seed);
  const lr = f["lr"] as number;
  const steps = epochs * Math.ceil(nTrain / (f["batch"] as number));
  const learningRate = schedule === "cosine" ? cosineDecay({ initialLearningRate: lr, decaySteps: steps, alpha: 0.05 }) : lr;
  m.train.compile({ optimizer: adam({ learningRate }), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"], clipNorm: 1 });
  await m.train.build();
  await m.encoder.build();
  await m.step.build();
  console.log(`\n${m.train.summary()}\n`);

  const maxLength = data.test.targetLength;
  const curve: { epoch: number; loss: number; valExact: number; valToken: number }[] = [];
  const xTrain = [sourceTensor(data.train), tensor(data.train.decoderIn, [data.train.count, data.train.targetLength], data.train.targetLengths)];
  const yTrain = tensor(data.train.decoderOut, [data.train.count, data.train.targetLength]);
  const xVal = [sourceTensor(data.val), tensor(data.val.decoderIn, [data.val.count, data.val.targetLength], data.val.targetLengths)];
  const yVal = tensor(data.val.decoderOut, [data.val.count, data.val.targetLength]);
  // Runs before earlyStopping, which monitors the val_exact it adds to the logs.
  const scoreValidation: Callbacks = {
    name: "validation exact match",
    onEpochEnd: (epoch, logs) => {
      const valExact = exactMatch(data.val, decode(m, sourceTensor(data.val), 1, maxLength));
      logs["val_exact"] = valExact;
      curve.push({ epoch: epoch + 1, loss: logs["loss"]!, valExact, valToken: logs["val_accuracy"]! });
      console.log(`  validation: ${percent(valExact)} of sentences exactly right (greedy), ${percent(logs["val_accuracy"]!)} of digits (teacher forcing)`);
    },
  };
  const stopper = earlyStopping({ monitor: "val_exact", mode: "max", patience: f["patience"] as number, restoreBestWeights: true });
  const tFit = performance.now();
  const history = await m.train.fit(xTrain, yTrain, {
    epochs,
    batchSize: f["batch"] as number,
    validationData: [xVal, yVal],
    callbacks: [scoreValidation, stopper],
  });
  const trainSeconds = (performance.now() - tFit) / 1000;
  const ran = history.epoch.length;
  const keptExact = exactMatch(data.val, decode(m, sourceTensor(data.val), 1, maxLength));
  console.log(
    `\nKept the weights of epoch ${stopper.bestEpoch + 1} of ${ran} (validation exact match ${percent(keptExact)})` +
      (stopper.stoppedEpoch >= 0 ? `; stopped after epoch ${stopper.stoppedEpoch + 1}, ${f["patience"]} without improvement` : ""),
  );

  const tDecode = performance.now();
  const greedy = decode(m, sourceTensor(data.test), 1, maxLength);
  const greedySeconds = (performance.now() - tDecode) / 1000;
  const tBeam = performance.now();
  const beam = decode(m, sourceTensor(data.test), K, maxLength);
  const beamSeconds = (performance.now() - tBeam) / 1000;

  console.log(`\nHeld-out translations (beam ${K}):`);
  for (let i = 0; i < Math.min(f["examples"] as number, data.test.count); i++) {
    const p = data.test.pairs[i]!;
    const got = idsToNumberText(beam[i]!);
    console.log(`  ${got === String(p.n) ? "ok " : "BAD"} ${p.source.join(" ")}  ->  ${got}${got === String(p.n) ? "" : `  (want ${p.n})`}`);
  }
  const differ = data.test.pairs.flatMap((p, i) => {
    const [g, b] = [idsToNumberText(greedy[i]!), idsToNumberText(beam[i]!)];
    return g === b ? [] : [`  ${p.source.join(" ")}  ->  greedy ${g}${g === String(p.n) ? " (right)" : ""}, beam ${b}${b === String(p.n) ? " (right)" : ""}`];
  });
  console.log(`\nGreedy and beam ${K} disagree on ${differ.length} of ${count(data.test.count)} sentences${differ.length > 0 ? ":" : ""}`);
  for (const line of differ.slice(0, 5)) console.log(line);
  const rows = [
    ["greedy", percent(exactMatch(data.test, greedy)), `${greedySeconds.toFixed(1)}s`],
    [`beam ${K}`, percent(exactMatch(data.test, beam)), `${beamSeconds.toFixed(1)}s`],
  ];
  console.log(`\nExact match on ${count(data.test.count)} held-out sentences (${ran} epochs, best of them kept, ${count(m.train.paramCount())} parameters):\n`);
  console.log(table(["decoding", "exact match", "decode time"], rows));
  const plot = writeLineChart(String(f["out"]), {
    title: "Number words -> digits: held-out accuracy while training",
    xLabel: "epoch",
    yLabel: "validation accuracy (%)",
    series: [
      { name: "sentences exactly right (greedy decoding)", points: curve.map((p) => [p.epoch, 100 * p.valExact] as const) },
      { name: "digits right (teacher forcing)", points: curve.map((p) => [p.epoch, 100 * p.valToken] as const) },
    ],
    hLine: { y: 95, label: "95%" },
  });
  console.log(`\ntraining ${trainSeconds.toFixed(1)}s, total wall time ${((performance.now() - t0) / 1000).toFixed(1)}s; learning curve: ${plot}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void runMain("example:translate", USAGE, main);
