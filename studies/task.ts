// What a study task is: everything `cellc study` needs to train any spec on a problem and score
// it, in one object a task file exports as its default. The study never looks inside a task; to add
// one, write a file like tasks/adding.ts and either list it in tasks/index.ts or pass its path to
// `--task`. A task runs in the study's worker processes too, so it must be importable on its own
// (no state shared with the file that started the study) and deterministic given its seed.
//
// The contract, in the order a run uses it:
//   data(settings, seed)        training chunks, a held-out set and a test set, all from the seed
//   cellInput(settings)         how many features the cell reads per step (bound to the spec's I)
//   layers(cell, settings)      the model around the cell: e.g. [embedding, cell, dense]
//   loss                        what fit minimises
//   evaluate(model, batch)      the metric on a batch, and whether it meets the success criterion
// The metric is scored on the held-out set after every `evalEvery` training sequences (the
// learning curve; the first point that meets the criterion is "sequences to success") and once on
// the test set after the whole budget (the "final" figure of the table).

import type { Layer, LossName, OptimizerName, Recurrent, Sequential, Shape, Tensor } from "../runtime/index.ts";

/** Settings a user may change per study (`--T`); the rest of a task is fixed by its file. */
export interface TaskSettings {
  /** Sequence length, as the task defines it (see StudyTask.T); undefined when it takes none. */
  T: number | undefined;
}

export interface Batch {
  x: Tensor;
  y: Tensor;
}

export interface TaskData {
  /** `n` training sequences for chunk number `chunk` (0, 1, ...). Every spec trained with the same
   *  seed sees the very same chunks. */
  train(chunk: number, n: number): Batch;
  /** Scored after every chunk (the learning curve and the success criterion). */
  heldOut: Batch;
  /** Scored once, after the budget is spent (the final figure). */
  test: Batch;
}

export interface Evaluation {
  /** The task's metric (StudyTask.metric). */
  metric: number;
  /** Whether this evaluation meets the success criterion (StudyTask.success). */
  success: boolean;
}

export interface TaskDefaults {
  /** Training sequences per run. */
  budget: number;
  /** Hidden size H. */
  units: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Gradient clipping by global norm; 0 for none. */
  clipNorm: number;
  /** Training sequences between two held-out evaluations. */
  evalEvery: number;
}

/** A hyperparameter's range for a random search (studies/search.ts): uniform, or log-uniform. */
export type Range = { min: number; max: number; scale?: "linear" | "log" };
/** A range, or values to pick from uniformly. */
export type Dimension = Range | ReadonlyArray<number | string>;
export type Searchable = "learningRate" | "units" | "batchSize" | "optimizer" | "momentum" | "inputNoise" | "clipNorm";
/** What `--search N` samples from; a hyperparameter left out keeps the study's value. */
export type SearchSpace = Partial<Record<Searchable, Dimension>>;

export interface StudyTask {
  /** The name `--task` takes. */
  name: string;
  /** One line for listings. */
  summary: string;
  /** What `--T` means for this task, when it takes one. */
  T?: { help: string; default: number; min: number; max?: number };
  defaults: TaskDefaults;
  /** The ranges of `--search` (default: around the defaults, see studies/search.ts). Input noise
   *  belongs only in the space of a task whose inputs are real numbers (not token ids). */
  space?: SearchSpace;
  /** Per-sample shape of the model's input (batch axis left out; null for the time axis). */
  inputShape(s: TaskSettings): Shape;
  /** Features the recurrent cell reads per step (bound to the spec's input size) and what they are,
   *  for the message when a spec cannot take them. */
  cellInput(s: TaskSettings): { size: number; what: string };
  /** Whether the cell's output is used at every step (true) or only at each sequence's last. */
  returnSequences: boolean;
  /** The model: layers in order, `cell` among them. */
  layers(cell: Recurrent, s: TaskSettings): Layer[];
  loss: LossName;
  data(s: TaskSettings, seed: number): TaskData;
  metric: {
    /** Short name for tables, e.g. "bits/char". */
    name: string;
    better: "lower" | "higher";
    /** Shown as a percentage (a fraction in [0, 1]). */
    percent?: boolean;
    /** Significant digits in tables. */
    digits?: number;
    /** Plot the curve on a log scale. */
    logScale?: boolean;
  };
  /** The success criterion in words, e.g. "99% of held-out sequences within 0.04". */
  success: string;
  evaluate(model: Sequential, batch: Batch, s: TaskSettings): Evaluation;
}

/** Identity, for type checking a task file's default export. */
export function defineTask(task: StudyTask): StudyTask {
  return task;
}

/** A seed for chunk `chunk` of a run with `seed`, distinct for every pair (as in examples/data/long-lag.ts). */
export function chunkSeed(seed: number, chunk: number, salt = 0): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(chunk + 1, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35)) >>> 0;
}

/** Checks that a module's default export looks like a StudyTask; returns why not, or undefined. */
export function taskProblem(t: unknown): string | undefined {
  if (typeof t !== "object" || t === null) return "its default export is not a task object (export default defineTask({ ... }))";
  const o = t as Record<string, unknown>;
  for (const k of ["name", "summary", "loss", "success"]) if (typeof o[k] !== "string") return `its task has no string '${k}'`;
  for (const k of ["inputShape", "cellInput", "layers", "data", "evaluate"]) if (typeof o[k] !== "function") return `its task has no function '${k}'`;
  if (typeof o["returnSequences"] !== "boolean") return "its task has no boolean 'returnSequences'";
  if (typeof o["defaults"] !== "object" || o["defaults"] === null) return "its task has no 'defaults'";
  if (typeof o["metric"] !== "object" || o["metric"] === null) return "its task has no 'metric'";
  return undefined;
}
