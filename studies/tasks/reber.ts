// The embedded Reber grammar (Hochreiter & Schmidhuber 1997, experiment 1) as a study task:
// next-symbol prediction over strings whose second-to-last symbol repeats the second one. The
// generator and the correctness rule are studies/data/reber.ts; the model is the cell at every
// step -> Dense(7, softmax), categorical cross-entropy. A string is correct when at every step
// each legal next symbol gets probability > 0.3 and every other one does not.

import { dense, tensor } from "../../runtime/index.ts";
import { embeddedReberData, reberStringsCorrect, REBER_SIZE, type ReberData } from "../data/reber.ts";
import { chunkSeed, defineTask, type Batch } from "../task.ts";

/** Strings are padded to this many steps (longer ones are redrawn), so all batches share a shape. */
const MAX_STEPS = 40;
const THRESHOLD = 0.3;
const data = new WeakMap<object, ReberData>();

function batch(d: ReberData): Batch {
  const b = {
    x: tensor(d.inputs, [d.count, d.maxLength, REBER_SIZE], d.lengths),
    y: tensor(d.targets, [d.count, d.maxLength, REBER_SIZE], d.lengths),
  };
  data.set(b, d); // evaluate needs the legal-next masks, not just the tensors
  return b;
}

export default defineTask({
  name: "reber",
  summary: "embedded Reber grammar (Hochreiter & Schmidhuber 1997): predict every legal next symbol",
  defaults: { budget: 20_000, units: 8, batchSize: 16, optimizer: "adam", learningRate: 0.01, clipNorm: 1, evalEvery: 1000 },
  inputShape: () => [null, REBER_SIZE],
  cellInput: () => ({ size: REBER_SIZE, what: "one-hot symbols B T P S X V E" }),
  returnSequences: true,
  layers: (cell) => [cell, dense(REBER_SIZE, { activation: "softmax" })],
  loss: "categoricalCrossentropy",
  data(_s, seed) {
    return {
      train: (chunk, n) => batch(embeddedReberData(n, chunkSeed(seed, chunk), MAX_STEPS)),
      heldOut: batch(embeddedReberData(256, chunkSeed(seed, 0, 901), MAX_STEPS)),
      test: batch(embeddedReberData(1000, chunkSeed(seed, 0, 555), MAX_STEPS)),
    };
  },
  metric: { name: "strings correct", better: "higher", percent: true },
  success: "every held-out string correct (256 strings)",
  evaluate(model, b) {
    const d = data.get(b);
    if (!d) throw new Error("reber: evaluate was given a batch this task did not make");
    const ok = reberStringsCorrect(d, model.predict(b.x, { batchSize: 256 }).data, THRESHOLD);
    const correct = ok.filter(Boolean).length / ok.length;
    return { metric: correct, success: correct === 1 };
  },
});
