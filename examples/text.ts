// Character-level text generation with a deep LSTM (examples/specs/deep_lstm.cell: three stacked
// lstm layers), trained on any text file and then sampled with a temperature.
//
//   npm run example:text -- [--file studies/corpus/default.txt] [--epochs 10] [--temperature 0.7] [--length 400]
//
// Model: one-hot characters [B, T, V] -> deep_lstm (H units per layer, output at every step)
// -> Dense(V, softmax); sparse categorical cross-entropy on the next character; Adam with
// gradients clipped to global norm 1. The text is cut into windows of --seq characters starting
// every --stride characters; the last 5% of them (the end of the text) are held out to report
// validation loss. Sampling primes the network with the start of
// the text, then feeds back one drawn character at a time (predict with carryState), drawing
// from softmax(log p / temperature).

import { fileURLToPath } from "node:url";
import { loadCellFile } from "../driver/index.ts";
import { adam, dense, recurrent, sequential, tensor, type Sequential } from "../runtime/index.ts";
import { rnn, specPath } from "../jit/index.ts";
import { count, parseFlags, runMain, usage, UsageError, type FlagSpec } from "./data/cli.ts";
import { makeRng, type Rng } from "../studies/data/rng.ts";
import { charSequences, DEFAULT_CORPUS, loadCharCorpus, oneHot, sampleWithTemperature, type CharCorpus } from "../studies/data/text.ts";

const FLAGS: Record<string, FlagSpec> = {
  file: { type: "string", help: "text file to learn from", default: "studies/corpus/default.txt" },
  epochs: { type: "int", help: "passes over the windows", default: 10 },
  temperature: { type: "number", help: "sampling temperature (0 = always the likeliest character)", default: 0.7 },
  length: { type: "int", help: "characters to generate", default: 400 },
  prime: { type: "string", help: "text to start the sample with (default: the file's first 20 characters)" },
  H: { type: "int", help: "units per lstm layer", default: 32 },
  seq: { type: "int", help: "characters per training window", default: 50 },
  stride: { type: "int", help: "characters between the starts of consecutive windows", default: 5 },
  batch: { type: "int", help: "batch size", default: 32 },
  lr: { type: "number", help: "Adam learning rate", default: 0.01 },
  seed: { type: "int", help: "seed for weights, shuffling and sampling", default: 1 },
  quick: { type: "bool", help: "a small run: 2 epochs" },
  unoptimized: { type: "bool", help: "build the kernel without the compiler's optimizing passes" },
};

const USAGE = usage("npm run example:text --", "Train a deep LSTM on a text file character by character, then sample from it.", FLAGS);

/** Generates `length` characters after priming with `prime`. */
export function sample(model: Sequential, corpus: CharCorpus, prime: string, length: number, temperature: number, rng: Rng): string {
  const V = corpus.chars.length;
  const unknown = Array.from(prime).filter((c) => !corpus.ids.has(c));
  if (unknown.length > 0) throw new Error(`--prime uses characters that are not in the text: ${JSON.stringify([...new Set(unknown)].join(""))}`);
  const primeIds = Array.from(prime, (c) => corpus.ids.get(c)!);
  model.resetStates();
  let probs = lastStep(model.predict(tensor(oneHot(primeIds, V), [1, primeIds.length, V]), { carryState: true }).data, V);
  let out = "";
  for (let i = 0; i < length; i++) {
    const id = sampleWithTemperature(probs, temperature, rng);
    out += corpus.chars[id]!;
    probs = lastStep(model.predict(tensor(oneHot([id], V), [1, 1, V]), { carryState: true }).data, V);
  }
  model.resetStates();
  return out;
}

function lastStep(data: Float32Array, V: number): Float32Array {
  return data.subarray(data.length - V);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const f = parseFlags(argv, FLAGS);
  if (f.help) {
    console.log(USAGE);
    return;
  }
  const epochs = f["quick"] === true && !argv.some((a) => a.startsWith("--epochs")) ? 2 : (f["epochs"] as number);
  const temperature = f["temperature"] as number;
  if (!(temperature >= 0)) throw new UsageError(`--temperature must be >= 0, got ${temperature}`);
  for (const name of ["length", "H", "seq", "stride", "batch", "lr"]) if (!((f[name] as number) > 0)) throw new UsageError(`--${name} must be positive`);
  if (!(epochs > 0)) throw new UsageError("--epochs must be positive");
  const file = String(f["file"]);
  const corpus = loadCharCorpus(file === FLAGS["file"]!.default ? DEFAULT_CORPUS : file);
  const V = corpus.chars.length;
  const seqLen = f["seq"] as number;
  const seqs = charSequences(corpus.encoded, seqLen, f["stride"] as number);
  if (seqs.count < 2) throw new UsageError(`${file} is too short for windows of ${seqLen} characters; lower --seq`);
  console.log(`${file}: ${count(corpus.encoded.length)} characters, ${V} distinct; ${count(seqs.count)} windows of ${seqLen}`);

  const seed = f["seed"] as number;
  const H = f["H"] as number;
  const spec = specPath("deep_lstm");
  const cell = f["unoptimized"] === true
    ? recurrent({ type: "deep_lstm", returnSequences: true, kernel: (I: number) => loadCellFile(spec, { dims: { I, H }, optimize: false }) })
    : rnn({ spec, units: H, returnSequences: true });
  const model = sequential([cell, dense(V, { activation: "softmax" })], { seed });
  model.compile({ optimizer: adam({ learningRate: f["lr"] as number }), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"], clipNorm: 1 });
  await model.build([null, V]);
  console.log(`\n${model.summary()}\n`);

  const x = tensor(oneHot(seqs.inputs, V), [seqs.count, seqLen, V]);
  const y = tensor(Float32Array.from(seqs.targets), [seqs.count, seqLen]);
  const t0 = performance.now();
  const history = await model.fit(x, y, { epochs, batchSize: f["batch"] as number, validationSplit: seqs.count >= 40 ? 0.05 : undefined });
  const seconds = (performance.now() - t0) / 1000;
  const last = (k: string) => history.history[k]?.[history.history[k]!.length - 1];
  const valLoss = last("val_loss");
  console.log(
    `\ntrained ${epochs} epochs in ${seconds.toFixed(1)}s; loss ${last("loss")!.toFixed(3)}` +
      (valLoss === undefined ? "" : `, held-out loss ${valLoss.toFixed(3)} (${(valLoss / Math.LN2).toFixed(2)} bits/char), held-out next-char accuracy ${(100 * last("val_accuracy")!).toFixed(1)}%`),
  );

  const prime = f["prime"] === undefined ? Array.from(corpus.text).slice(0, 20).join("") : String(f["prime"]);
  const text = sample(model, corpus, prime, f["length"] as number, temperature, makeRng(seed));
  console.log(`\nsample (temperature ${temperature}):\n\n${prime}${text}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void runMain("example:text", USAGE, main);
