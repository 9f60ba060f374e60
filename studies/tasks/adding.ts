// The adding problem (Hochreiter & Schmidhuber 1997, experiment 4) as a study task: remember two
// marked values among T noisy pairs and output 0.5 + (X1 + X2) / 4 at the end. The generator is
// studies/data/adding.ts (the paper's rules); the model reads the cell's output at each
// sequence's last step through Dense(1), mean squared error. No curriculum (examples/adding.ts
// grows T in stages): every spec faces the same fixed T, so pick T to suit the budget.

import { dense, tensor } from "../../runtime/index.ts";
import { addingData, addingScore, ADDING_TOLERANCE, type AddingData } from "../data/adding.ts";
import { chunkSeed, defineTask, type Batch } from "../task.ts";

/** Fraction of held-out sequences within the tolerance that counts as solved. */
const SOLVED = 0.95;

function batch(d: AddingData): Batch {
  return { x: tensor(d.inputs, [d.count, d.maxLength, 2], d.lengths), y: tensor(d.targets, [d.count, 1]) };
}

export default defineTask({
  name: "adding",
  summary: "adding problem (Hochreiter & Schmidhuber 1997): sum two marked values seen among T pairs",
  T: { help: "minimal sequence length (lengths T..T+T/10; the second mark lies in the first T/2)", default: 30, min: 20 },
  defaults: { budget: 40_000, units: 8, batchSize: 32, optimizer: "adam", learningRate: 0.01, clipNorm: 1, evalEvery: 2000 },
  // `--search`: Greff et al.'s hyperparameters (learning rate log-uniform, hidden size, momentum,
  // input noise), plus batch size, optimizer and gradient clipping, around this task's defaults.
  space: {
    learningRate: { min: 1e-3, max: 1e-1, scale: "log" },
    units: [4, 8, 16],
    batchSize: [16, 32, 64],
    optimizer: ["adam", "rmsprop", "sgd"],
    momentum: { min: 0, max: 0.95 },
    inputNoise: { min: 0, max: 0.2 },
    clipNorm: [0, 1, 5],
  },
  inputShape: () => [null, 2],
  cellInput: () => ({ size: 2, what: "a value and a marker per step" }),
  returnSequences: false,
  layers: (cell) => [cell, dense(1)],
  loss: "mse",
  data(s, seed) {
    const T = s.T!;
    return {
      train: (chunk, n) => batch(addingData(n, T, chunkSeed(seed, chunk))),
      heldOut: batch(addingData(500, T, chunkSeed(seed, 0, 901))),
      test: batch(addingData(2560, T, chunkSeed(seed, 0, 777))),
    };
  },
  metric: { name: "mean |err|", better: "lower", digits: 3, logScale: true },
  success: `${SOLVED * 100}% of held-out sequences within ${ADDING_TOLERANCE}`,
  evaluate(model, b) {
    const p = model.predict(b.x, { batchSize: 256 });
    const s = addingScore(p.data, b.y.data);
    return { metric: s.meanAbsError, success: s.fractionSolved >= SOLVED };
  },
});
