// The training loop shared by the long-time-lag examples (adding problem, embedded Reber
// grammar): several cells, each trained on the same stream of freshly generated sequences with
// the same optimizer and budget, evaluated on a fixed held-out set after every chunk, stopping
// once solved. Task-specific parts (data, model head, loss, score) come in a LongLagTask.

import { ProgressBar, type Logs, type Sequential } from "../../runtime/index.ts";

export interface Score {
  /** The number the learning curve plots (lower is better). */
  error: number;
  /** Fraction of held-out sequences processed correctly. */
  solved: number;
}

export interface LongLagTask<Data> {
  /** Draws `n` sequences for curriculum stage index `stage` from a seeded stream. */
  draw(n: number, stage: number, seed: number): Data;
  /** Trains the model one pass over `data`; calls onBatch after each batch with fit's running logs. */
  train(model: Sequential, data: Data, batchSize: number, onBatch: (done: number, logs: Logs) => void): Promise<void>;
  score(model: Sequential, data: Data): Score;
  /** A new model for a cell. */
  model(cell: string, seed: number): Promise<Sequential>;
}

export interface LongLagOptions {
  cells: string[];
  /** Curriculum stages (task-defined, e.g. minimal lengths), the last being the real task. */
  stages: number[];
  /** What a stage number means, shown in the progress logs (e.g. "T"). */
  stageName: string;
  /** Advance to the next stage when this fraction of the stage's held-out set is solved. */
  advanceAt: number;
  /** Stop when this fraction of the final held-out set is solved. */
  stopAt: number;
  /** Sequences of training budget per cell. */
  budget: number;
  chunk: number;
  batchSize: number;
  heldOut: number;
  seed: number;
  /** 0 silent; 1 progress bar (plain lines when not a terminal). */
  verbose: 0 | 1;
  log: (line: string) => void;
}

export interface CellRun {
  cell: string;
  params: number;
  /** Sequences trained on until solved or the budget ran out. */
  seen: number;
  /** Sequences seen when the final-stage held-out set was first solved (stopAt), if ever. */
  solvedAfter: number | undefined;
  /** Highest stage index reached. */
  stage: number;
  /** [sequences seen, held-out error on the final task]. */
  curve: Array<[number, number]>;
  seconds: number;
  model: Sequential;
}

/** A seed for chunk `c` of stage `stage`, distinct for every (seed, c, stage). */
function mixSeed(seed: number, c: number, stage: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(c + 1, 0x85ebca6b) ^ Math.imul(stage + 1, 0xc2b2ae35)) >>> 0;
}

/** Trains each cell on the task; returns one CellRun per cell. */
export async function trainLongLag<Data>(task: LongLagTask<Data>, o: LongLagOptions): Promise<CellRun[]> {
  const finalStage = o.stages.length - 1;
  // One held-out set per stage, shared by all cells.
  const heldOut = o.stages.map((_, s) => task.draw(o.heldOut, s, o.seed * 1000 + 900 + s));
  const runs: CellRun[] = [];
  const chunks = Math.ceil(o.budget / o.chunk);
  // Build every model first, so a bad spec is reported before any training time is spent.
  const models: Sequential[] = [];
  for (const cell of o.cells) models.push(await task.model(cell, o.seed));
  for (const [ci, cell] of o.cells.entries()) {
    const model = models[ci]!;
    const params = model.paramCount();
    const run: CellRun = { cell, params, seen: 0, solvedAfter: undefined, stage: 0, curve: [], seconds: 0, model };
    const bar = o.verbose ? new ProgressBar({ epochs: chunks, batches: Math.ceil(o.chunk / o.batchSize), verbose: 1 }) : undefined;
    if (o.verbose) o.log(`\n${cell}: ${params.toLocaleString("en-US")} parameters; up to ${o.budget.toLocaleString("en-US")} sequences in chunks of ${o.chunk}`);
    const t0 = performance.now();
    let stage = 0;
    // The training stream depends only on the seed, stage and chunk index, so cells on the same
    // stage path see exactly the same sequences.
    for (let c = 0; c < chunks; c++) {
      const n = Math.min(o.chunk, o.budget - run.seen);
      const data = task.draw(n, stage, mixSeed(o.seed, c, stage));
      bar?.epochStart(c);
      let loss = NaN;
      await task.train(model, data, o.batchSize, (done, logs) => {
        loss = logs["loss"] ?? NaN;
        bar?.batchEnd(done, logs);
      });
      run.seen += n;
      const final = task.score(model, heldOut[finalStage]!);
      run.curve.push([run.seen, final.error]);
      const logs: Logs = { loss };
      if (o.stages.length > 1) logs[o.stageName] = o.stages[stage]!;
      logs["val_error"] = final.error;
      logs["val_solved"] = final.solved;
      if (stage < finalStage) {
        const cur = task.score(model, heldOut[stage]!);
        logs["stage_solved"] = cur.solved;
        if (cur.solved >= o.advanceAt) stage++;
      }
      run.stage = Math.max(run.stage, stage);
      bar?.epochEnd(logs);
      if (final.solved >= o.stopAt) {
        run.solvedAfter = run.seen;
        break;
      }
    }
    run.seconds = (performance.now() - t0) / 1000;
    runs.push(run);
  }
  return runs;
}
