// The embedded Reber grammar (Hochreiter & Schmidhuber 1997, experiment 1) as a one-command
// experiment: next-symbol prediction with the lstm spec and the plain rnn spec under the same
// budget, data stream and optimizer; a table and an SVG of both learning curves.
//
//   npm run example:reber -- [--budget 60000] [--seed 1] [--quick]
//
// Model: the cell over one-hot symbols (7 features), its output at every step -> Dense(7,
// softmax), categorical cross-entropy on the next symbol, Adam, gradients clipped to global norm
// 1. A string counts as predicted correctly when, at every step, each symbol that may legally
// come next gets a probability above the threshold (0.3) and every other symbol does not; this
// includes the second-to-last symbol, which must repeat the second one across the whole inner
// string (the long-lag part the plain RNN misses). Training stops once every string of a
// held-out set (256 strings, as the paper's test set) is correct; the final score is on 1000
// further strings. Training strings are drawn fresh from the grammar in chunks (the paper drew
// them from a fixed set of 256).

import { fileURLToPath } from "node:url";
import { adam, dense, sequential, tensor, type Sequential } from "../runtime/index.ts";
import { rnn } from "../jit/index.ts";
import { specFor } from "./adding.ts";
import { count, parseFlags, perCell, percent, runMain, table, usage, UsageError, type FlagSpec } from "./data/cli.ts";
import { trainLongLag, type LongLagTask } from "./data/long-lag.ts";
import { embeddedReberData, reberStringsCorrect, REBER_SIZE, type ReberData } from "../studies/data/reber.ts";
import { writeLineChart } from "../studies/plot.ts";

const FLAGS: Record<string, FlagSpec> = {
  budget: { type: "int", help: "training strings per cell", default: 60_000 },
  seed: { type: "int", help: "seed for data and weights", default: 1 },
  quick: { type: "bool", help: "a small run: budget 15,000" },
  cells: { type: "string", help: "specs to compare (names in examples/specs or .cell paths)", default: "lstm,rnn" },
  H: { type: "string", help: "hidden size, one for all or per cell", default: "lstm=8,rnn=16" },
  lr: { type: "number", help: "Adam learning rate", default: 0.01 },
  batch: { type: "int", help: "batch size", default: 16 },
  chunk: { type: "int", help: "fresh strings between evaluations", default: 1000 },
  threshold: { type: "number", help: "probability a legal next symbol must exceed", default: 0.3 },
  out: { type: "string", help: "where to write the SVG plot", default: "examples/out/reber.svg" },
};

/** Strings are padded to this many steps (longer ones are redrawn), so all batches share a shape. */
const MAX_STEPS = 40;

function asTensors(d: ReberData) {
  return {
    x: tensor(d.inputs, [d.count, d.maxLength, REBER_SIZE], d.lengths),
    y: tensor(d.targets, [d.count, d.maxLength, REBER_SIZE], d.lengths),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const f = parseFlags(argv, FLAGS);
  if (f.help) {
    console.log(USAGE);
    return;
  }
  const cells = String(f["cells"]).split(",").map((s) => s.trim()).filter(Boolean);
  if (cells.length === 0) throw new UsageError("--cells names no cell");
  const H = perCell(String(f["H"]), cells, "H");
  const budget = f["quick"] === true && !argv.some((a) => a.startsWith("--budget")) ? 15_000 : (f["budget"] as number);
  const threshold = f["threshold"] as number;
  if (!(threshold > 0 && threshold < 1)) throw new UsageError("--threshold must be in (0, 1)");
  for (const name of ["budget", "batch", "chunk", "lr"]) if (!((f[name] as number) > 0)) throw new UsageError(`--${name} must be positive`);
  const seed = f["seed"] as number;

  const score = (model: Sequential, d: ReberData) => {
    const p = model.predict(asTensors(d).x, { batchSize: 256 });
    const ok = reberStringsCorrect(d, p.data, threshold);
    const solved = ok.filter(Boolean).length / ok.length;
    return { error: 1 - solved, solved };
  };
  const task: LongLagTask<ReberData> = {
    draw: (n, _stage, s) => embeddedReberData(n, s, MAX_STEPS),
    async train(model, d, batchSize, onBatch) {
      const { x, y } = asTensors(d);
      await model.fit(x, y, { epochs: 1, batchSize, verbose: 0, callbacks: { onBatchEnd: (b, logs) => onBatch(b + 1, logs) } });
    },
    score,
    async model(cell, s) {
      const m = sequential([rnn({ spec: specFor(cell), units: H[cell]!, returnSequences: true }), dense(REBER_SIZE, { activation: "softmax" })], { seed: s });
      m.compile({ optimizer: adam({ learningRate: f["lr"] as number }), loss: "categoricalCrossentropy", clipNorm: 1 });
      await m.build([null, REBER_SIZE]);
      return m;
    },
  };

  console.log(`Embedded Reber grammar: budget ${count(budget)} strings per cell, seed ${seed}, threshold ${threshold}`);
  const runs = await trainLongLag(task, {
    cells,
    stages: [0],
    stageName: "stage",
    advanceAt: 1,
    stopAt: 1,
    budget,
    chunk: f["chunk"] as number,
    batchSize: f["batch"] as number,
    heldOut: 256,
    seed,
    verbose: 1,
    log: (line) => console.log(line),
  });
  const test = embeddedReberData(1000, seed * 1000 + 555, MAX_STEPS);
  const rows = runs.map((r) => {
    const s = score(r.model, test);
    return [
      r.cell,
      count(r.params),
      count(r.seen),
      r.solvedAfter === undefined ? "budget spent" : "solved",
      percent(s.solved),
      `${r.seconds.toFixed(1)}s`,
    ];
  });
  console.log(`\nHeld-out results on 1000 fresh embedded Reber strings (every step's legal next symbols above ${threshold}, no illegal one):\n`);
  console.log(table(["cell", "params", "strings seen", "result", "held-out strings correct", "wall time"], rows));
  const plot = writeLineChart(String(f["out"]), {
    title: "Embedded Reber grammar: held-out strings mispredicted while training",
    xLabel: "training strings seen",
    yLabel: "fraction of held-out strings wrong",
    series: runs.map((r) => ({ name: `${r.cell} (${count(r.params)} params)`, points: r.curve })),
  });
  console.log(`\nlearning curves: ${plot}`);
}

const USAGE = usage("npm run example:reber --", "Embedded Reber grammar (Hochreiter & Schmidhuber 1997): LSTM vs plain RNN.", FLAGS);

if (process.argv[1] === fileURLToPath(import.meta.url)) void runMain("example:reber", USAGE, main);
