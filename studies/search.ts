// Random search, as in Greff et al., "LSTM: A Search Space Odyssey" (2017): for every variant, N
// hyperparameter settings drawn at random from ranges, one study run per setting (and seed), so
// that variants are compared at their best and across their whole range rather than at one
// hand-picked setting. The same N settings are drawn for every variant (common random numbers):
// differences between variants are then not differences in luck of the draw.
//
// A space names, per hyperparameter, a range {min, max, scale} ("log": log-uniform, as Greff draws
// the learning rate) or a list of values to pick from uniformly:
//   { "learningRate": { "min": 1e-4, "max": 0.1, "scale": "log" }, "units": [4, 8, 16],
//     "batchSize": [16, 32, 64], "optimizer": ["adam", "sgd"], "momentum": { "min": 0, "max": 0.95 },
//     "inputNoise": { "min": 0, "max": 0.2 }, "clipNorm": [0, 1, 5] }
// A hyperparameter the space leaves out keeps the study's value. A task may bring its own space
// (StudyTask.space); otherwise defaultSpace() spans a decade either side of the task's learning
// rate, half to twice its hidden size and batch size, and the three optimizers.

import { makeRng, type Rng } from "./data/rng.ts";
import type { Dimension, Range, Searchable, SearchSpace, StudyTask } from "./task.ts";

export type { Dimension, Range, Searchable, SearchSpace };
export const SEARCHABLE: readonly Searchable[] = ["learningRate", "units", "batchSize", "optimizer", "momentum", "inputNoise", "clipNorm"];

/** One sampled setting (the study's own values for what the space leaves out). */
export interface Setting {
  learningRate: number;
  units: number;
  batchSize: number;
  optimizer: "adam" | "rmsprop" | "sgd";
  momentum: number;
  inputNoise: number;
  clipNorm: number;
}

const INTEGER = new Set<Searchable>(["units", "batchSize"]);
const OPTIMIZERS = ["adam", "rmsprop", "sgd"];

/** A search space that cannot be used: one line naming the hyperparameter. */
export class SpaceError extends Error {
  override name = "StudyError";
}

export function defaultSpace(task: StudyTask): SearchSpace {
  if (task.space) return task.space;
  const d = task.defaults;
  const around = (x: number) => [...new Set([Math.max(1, Math.round(x / 2)), x, x * 2])];
  return {
    learningRate: { min: d.learningRate / 10, max: d.learningRate * 10, scale: "log" },
    units: around(d.units),
    batchSize: around(d.batchSize),
    optimizer: OPTIMIZERS,
  };
}

/** Checks a space (from a --space file or a task); throws SpaceError saying what is wrong. */
export function checkSpace(space: unknown, where: string): SearchSpace {
  if (typeof space !== "object" || space === null || Array.isArray(space)) throw new SpaceError(`${where}: a search space is a JSON object of hyperparameters (${SEARCHABLE.join(", ")})`);
  for (const [k, v] of Object.entries(space)) {
    if (!(SEARCHABLE as readonly string[]).includes(k)) throw new SpaceError(`${where}: unknown hyperparameter '${k}'; known: ${SEARCHABLE.join(", ")}`);
    const name = k as Searchable;
    if (Array.isArray(v)) {
      if (v.length === 0) throw new SpaceError(`${where}: '${k}' lists no values`);
      for (const x of v) checkValue(name, x, where);
    } else if (typeof v === "object" && v !== null) {
      const r = v as Record<string, unknown>;
      if (name === "optimizer") throw new SpaceError(`${where}: 'optimizer' is a list of names (${OPTIMIZERS.join(", ")}), not a range`);
      if (typeof r["min"] !== "number" || typeof r["max"] !== "number" || !(r["min"] <= r["max"])) throw new SpaceError(`${where}: '${k}' needs numbers min <= max`);
      if (r["scale"] !== undefined && r["scale"] !== "linear" && r["scale"] !== "log") throw new SpaceError(`${where}: '${k}'.scale must be "linear" or "log"`);
      if (r["scale"] === "log" && !(r["min"] > 0)) throw new SpaceError(`${where}: '${k}' on a log scale needs min > 0`);
      checkValue(name, r["min"], where);
      checkValue(name, r["max"], where);
    } else throw new SpaceError(`${where}: '${k}' must be a range {"min": .., "max": ..} or a list of values`);
  }
  return space as SearchSpace;
}

function checkValue(name: Searchable, x: unknown, where: string): void {
  if (name === "optimizer") {
    if (typeof x !== "string" || !OPTIMIZERS.includes(x)) throw new SpaceError(`${where}: optimizer must be one of ${OPTIMIZERS.join(", ")}, got ${JSON.stringify(x)}`);
    return;
  }
  if (typeof x !== "number" || !Number.isFinite(x)) throw new SpaceError(`${where}: '${name}' values must be numbers, got ${JSON.stringify(x)}`);
  const bad =
    (INTEGER.has(name) && !(x >= 1)) || (name === "learningRate" && !(x > 0)) || (name === "momentum" && !(x >= 0 && x < 1)) || ((name === "inputNoise" || name === "clipNorm") && !(x >= 0));
  if (bad) throw new SpaceError(`${where}: '${name}' value ${x} is out of range`);
}

function draw(rng: Rng, d: Dimension, integer: boolean): number | string {
  if (Array.isArray(d)) return d[Math.floor(rng() * d.length)]!;
  const r = d as Range;
  const u = rng();
  const x = r.scale === "log" ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
  return integer ? Math.round(x) : x;
}

/** N settings from the space, the same for a given seed; `base` fills in what it leaves out. */
export function sampleSettings(space: SearchSpace, n: number, base: Setting, seed = 1): Setting[] {
  const out: Setting[] = [];
  for (let i = 0; i < n; i++) {
    // One stream per setting and hyperparameter: adding a hyperparameter to a space leaves the
    // others' draws as they were.
    const s: Setting = { ...base };
    for (const [j, name] of SEARCHABLE.entries()) {
      const d = space[name];
      if (d === undefined) continue;
      const v = draw(makeRng(seed * 1_000_003 + i * 101 + j), d, INTEGER.has(name));
      (s as unknown as Record<string, number | string>)[name] = v;
    }
    out.push(s);
  }
  return out;
}

/** The hyperparameters a space varies (more than one possible value). */
export function varied(space: SearchSpace): Searchable[] {
  return SEARCHABLE.filter((k) => {
    const d = space[k];
    if (d === undefined) return false;
    return Array.isArray(d) ? new Set(d).size > 1 : (d as Range).min < (d as Range).max;
  });
}

/**
 * Each hyperparameter's share of the variance of a score: the correlation ratio η² = (variance
 * between groups) / (total variance), the groups being a categorical hyperparameter's values or a
 * numeric one's quantile bins (log-spaced values binned by rank). It is the first-order ("main
 * effect") share that fANOVA also reports, estimated by binning instead of from a random-forest
 * model: it needs no model fitted to a handful of runs, and says nothing about interactions.
 * Settings whose score is not finite (diverged) are left out. Returns shares in [0, 1].
 */
export function importance(settings: readonly Setting[], scores: readonly number[], names: readonly Searchable[]): Map<Searchable, number> {
  const keep = scores.map((s, i) => [s, i] as const).filter(([s]) => Number.isFinite(s));
  const out = new Map<Searchable, number>();
  if (keep.length < 3) return out;
  const ys = keep.map(([s]) => s);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const total = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
  const bins = Math.max(2, Math.min(4, Math.floor(keep.length / 3)));
  for (const name of names) {
    const values = keep.map(([, i]) => (settings[i] as unknown as Record<string, number | string>)[name]!);
    let group: Array<string | number>;
    if (typeof values[0] === "string" || new Set(values).size <= bins) group = values;
    else {
      const order = values.map((v, i) => [v as number, i] as const).sort((a, b) => a[0] - b[0]);
      group = new Array<number>(values.length);
      order.forEach(([, i], rank) => (group[i] = Math.floor((rank * bins) / order.length)));
    }
    const sums = new Map<string | number, { n: number; sum: number }>();
    group.forEach((g, i) => {
      const e = sums.get(g) ?? { n: 0, sum: 0 };
      e.n++;
      e.sum += ys[i]!;
      sums.set(g, e);
    });
    let between = 0;
    for (const { n, sum } of sums.values()) between += n * (sum / n - mean) ** 2;
    out.set(name, total > 0 ? between / total : 0);
  }
  return out;
}
