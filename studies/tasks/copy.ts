// Copy with a long lag, as a study task: see K symbols, wait, then on a "go" signal write them back
// in order. Every symbol must be held for exactly T steps, with blanks in between (the copy task of
// Hochreiter & Schmidhuber 1997 as used by Arjovsky et al. 2016, here with K symbols and lag T).
//
// A sequence has T + K steps. Inputs, one-hot over A symbols + blank + go:
//   steps 0..K-1      the symbols s_1..s_K
//   steps K..T-2      blank
//   step  T-1         go
//   steps T..T+K-1    blank
// Targets (class ids: 0 blank, 1..A the symbols): blank at steps 0..T-1, then s_1..s_K, so
// symbol j (seen at step j - 1) is due at step T + j - 1, T steps later. The metric counts the
// recalled symbols: the argmax over the A + 1 classes at each of the last K steps; a memoryless
// model gets 1/A of them right.

import { dense, tensor } from "../../runtime/index.ts";
import { randInt, toRng, type RngOrSeed } from "../data/rng.ts";
import { chunkSeed, defineTask, type Batch } from "../task.ts";

/** Alphabet size A and number of symbols to copy K. */
export const COPY_SYMBOLS = 4;
export const COPY_LENGTH = 3;
/** Fraction of held-out recalled symbols that counts as solved. */
const SOLVED = 0.99;

export interface CopyData {
  count: number;
  steps: number;
  /** One-hot inputs [N, T + K, A + 2]: symbols 0..A-1, blank A, go A + 1. */
  inputs: Float32Array;
  /** Target class ids [N, T + K]: 0 blank, 1..A symbols. */
  targets: Float32Array;
  /** The symbols to copy, [N, K], each 1..A. */
  symbols: Int32Array;
}

/** N copy sequences with lag T (T >= K + 1, so the go signal comes after the last symbol). */
export function copyData(count: number, T: number, source: RngOrSeed, A = COPY_SYMBOLS, K = COPY_LENGTH): CopyData {
  if (!Number.isInteger(T) || T < K + 1) throw new Error(`copy task: T must be an integer >= ${K + 1}, got ${T}`);
  const rng = toRng(source);
  const steps = T + K;
  const F = A + 2;
  const inputs = new Float32Array(count * steps * F);
  const targets = new Float32Array(count * steps);
  const symbols = new Int32Array(count * K);
  for (let n = 0; n < count; n++) {
    for (let t = 0; t < steps; t++) {
      let feature = A; // blank
      if (t < K) {
        const s = randInt(rng, 1, A);
        symbols[n * K + t] = s;
        feature = s - 1;
      } else if (t === T - 1) {
        feature = A + 1; // go
      }
      inputs[(n * steps + t) * F + feature] = 1;
      if (t >= T) targets[n * steps + t] = symbols[n * K + (t - T)]!;
    }
  }
  return { count, steps, inputs, targets, symbols };
}

/** Fraction of the K recalled symbols whose largest output is the right class; outputs [N, T + K, A + 1]. */
export function copyRecall(d: CopyData, outputs: ArrayLike<number>, A = COPY_SYMBOLS, K = COPY_LENGTH): number {
  const C = A + 1;
  if (outputs.length !== d.count * d.steps * C) throw new Error(`copy score: expected ${d.count * d.steps * C} outputs, got ${outputs.length}`);
  let right = 0;
  for (let n = 0; n < d.count; n++) {
    for (let j = 0; j < K; j++) {
      const row = (n * d.steps + d.steps - K + j) * C;
      let best = 0;
      for (let c = 1; c < C; c++) if ((outputs[row + c] as number) > (outputs[row + best] as number)) best = c;
      if (best === d.symbols[n * K + j]) right++;
    }
  }
  return right / (d.count * K);
}

const made = new WeakMap<object, CopyData>();

function batch(d: CopyData): Batch {
  const b = {
    x: tensor(d.inputs, [d.count, d.steps, COPY_SYMBOLS + 2]),
    y: tensor(d.targets, [d.count, d.steps]),
  };
  made.set(b, d);
  return b;
}

export default defineTask({
  name: "copy",
  summary: `copy ${COPY_LENGTH} of ${COPY_SYMBOLS} symbols back after a lag of T steps, on a go signal`,
  T: { help: `steps between seeing a symbol and writing it back (>= ${COPY_LENGTH + 1})`, default: 15, min: COPY_LENGTH + 1 },
  defaults: { budget: 40_000, units: 16, batchSize: 32, optimizer: "adam", learningRate: 0.01, clipNorm: 1, evalEvery: 2000 },
  inputShape: () => [null, COPY_SYMBOLS + 2],
  cellInput: () => ({ size: COPY_SYMBOLS + 2, what: `one-hot ${COPY_SYMBOLS} symbols + blank + go` }),
  returnSequences: true,
  layers: (cell) => [cell, dense(COPY_SYMBOLS + 1, { activation: "softmax" })],
  loss: "sparseCategoricalCrossentropy",
  data(s, seed) {
    const T = s.T!;
    return {
      train: (chunk, n) => batch(copyData(n, T, chunkSeed(seed, chunk))),
      heldOut: batch(copyData(500, T, chunkSeed(seed, 0, 901))),
      test: batch(copyData(2000, T, chunkSeed(seed, 0, 777))),
    };
  },
  metric: { name: "symbols recalled", better: "higher", percent: true },
  success: `${SOLVED * 100}% of held-out symbols recalled`,
  evaluate(model, b) {
    const d = made.get(b);
    if (!d) throw new Error("copy: evaluate was given a batch this task did not make");
    const recall = copyRecall(d, model.predict(b.x, { batchSize: 256 }).data);
    return { metric: recall, success: recall >= SOLVED };
  },
});
