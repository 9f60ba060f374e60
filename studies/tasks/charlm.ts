// Character-level language modelling on the bundled corpus (studies/corpus/default.txt) as a study
// task: read T characters one-hot, predict each next one (cell at every step -> Dense(V, softmax),
// sparse categorical cross-entropy). The metric is bits per character on text the model never
// trained on. The corpus is split in three: the first 80% is the training text (training windows
// start at seeded random places in it), the next 10% the held-out text scored while training, the
// last 10% the test text of the final figure; both are cut into consecutive windows.

import { dense, tensor } from "../../runtime/index.ts";
import { DEFAULT_CORPUS, loadCharCorpus, oneHot, type CharCorpus } from "../data/text.ts";
import { makeRng } from "../data/rng.ts";
import { chunkSeed, defineTask, type Batch } from "../task.ts";

/** Add-k smoothing of the trigram baseline (see trigramBits). */
const TRIGRAM_K = 0.05;

let corpus: CharCorpus | undefined;
function text(): CharCorpus {
  return (corpus ??= loadCharCorpus(DEFAULT_CORPUS));
}

/** Where the held-out text and the test text begin: at 80% and 90% of the corpus. */
export function charlmSplits(c: CharCorpus): { heldOut: number; test: number } {
  return { heldOut: Math.floor(c.encoded.length * 0.8), test: Math.floor(c.encoded.length * 0.9) };
}

/** Starts of consecutive windows of T characters (and the one after each) in [from, to). */
function tiles(from: number, to: number, T: number): number[] {
  const out: number[] = [];
  for (let s = from; s + T + 1 <= to; s += T) out.push(s);
  return out;
}

/**
 * Bits per character of a trigram model on the text [from, to): character counts after each pair
 * of characters in the training text [0, trainEnd), add-k smoothed; a pair never seen in training
 * backs off to the counts after its last character. The task's success criterion is to beat it:
 * a cell that does has learned more than two characters of context.
 */
export function trigramBits(c: CharCorpus, trainEnd: number, from: number, to: number, k = TRIGRAM_K): number {
  const V = c.chars.length;
  const e = c.encoded;
  const after1 = new Float64Array(V * V);
  const after2 = new Map<number, Float64Array>();
  for (let i = 1; i < trainEnd; i++) {
    after1[e[i - 1]! * V + e[i]!]!++;
    if (i < 2) continue;
    const pair = e[i - 2]! * V + e[i - 1]!;
    let row = after2.get(pair);
    if (!row) after2.set(pair, (row = new Float64Array(V)));
    row[e[i]!]!++;
  }
  let bits = 0;
  let n = 0;
  for (let i = Math.max(from, 2); i < to; i++) {
    const row = after2.get(e[i - 2]! * V + e[i - 1]!) ?? after1.subarray(e[i - 1]! * V, (e[i - 1]! + 1) * V);
    let total = 0;
    for (let j = 0; j < V; j++) total += row[j]!;
    bits -= Math.log2((row[e[i]!]! + k) / (total + k * V));
    n++;
  }
  return bits / n;
}

let baseline: number | undefined;
/** The trigram baseline on the held-out text (the success threshold). */
function trigramThreshold(): number {
  const c = text();
  const s = charlmSplits(c);
  return (baseline ??= trigramBits(c, s.heldOut, s.heldOut, s.test));
}

/** Windows of T characters (inputs) and their next characters (targets), one-hot inputs. */
function windows(c: CharCorpus, starts: readonly number[], T: number): Batch {
  const V = c.chars.length;
  const ids = new Int32Array(starts.length * T);
  const next = new Float32Array(starts.length * T);
  starts.forEach((s, n) => {
    ids.set(c.encoded.subarray(s, s + T), n * T);
    for (let t = 0; t < T; t++) next[n * T + t] = c.encoded[s + t + 1]!;
  });
  return { x: tensor(oneHot(ids, V), [starts.length, T, V]), y: tensor(next, [starts.length, T]) };
}

export default defineTask({
  name: "charlm",
  summary: "character-level language model on the bundled corpus; bits per held-out character",
  T: { help: "characters per window (training, held-out and test)", default: 32, min: 2, max: 500 },
  defaults: { budget: 12_000, units: 32, batchSize: 32, optimizer: "adam", learningRate: 0.01, clipNorm: 1, evalEvery: 1000 },
  inputShape: () => [null, text().chars.length],
  cellInput: () => ({ size: text().chars.length, what: `one-hot characters, ${text().chars.length} distinct in the corpus` }),
  returnSequences: true,
  layers: (cell) => [cell, dense(text().chars.length, { activation: "softmax" })],
  loss: "sparseCategoricalCrossentropy",
  data(s, seed) {
    const c = text();
    const T = s.T!;
    const split = charlmSplits(c);
    const lastTrainStart = split.heldOut - T - 1; // a training window and its targets stay before the held-out text
    const held = tiles(split.heldOut, split.test, T);
    const test = tiles(split.test, c.encoded.length, T);
    if (lastTrainStart < 0 || held.length === 0 || test.length === 0) throw new Error(`charlm: the corpus is too short for windows of ${T} characters`);
    return {
      train(chunk, n) {
        const rng = makeRng(chunkSeed(seed, chunk));
        return windows(c, Array.from({ length: n }, () => Math.floor(rng() * (lastTrainStart + 1))), T);
      },
      heldOut: windows(c, held, T),
      test: windows(c, test, T),
    };
  },
  metric: { name: "bits/char", better: "lower", digits: 3 },
  get success() {
    return `fewer held-out bits/char than a trigram model counted on the training text (${trigramThreshold().toFixed(2)})`;
  },
  evaluate(model, b) {
    const loss = model.evaluate(b.x, b.y, { batchSize: 256 })["loss"]!;
    const bits = loss / Math.LN2;
    return { metric: bits, success: bits < trigramThreshold() };
  },
});
