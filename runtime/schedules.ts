// Learning-rate schedules (Keras' keras.optimizers.schedules): objects that give the learning
// rate for each optimizer step, passed as an optimizer's learningRate:
//
//   adam({ learningRate: cosineDecay({ initialLearningRate: 0.01, decaySteps: 2500, alpha: 0.05 }) })
//
// `step` is the 0-based count of updates the optimizer has applied (its `iterations`), so the
// first update uses at(0) = the initial rate. The formulas, as in Keras:
//
//   exponentialDecay:        lr0 * rate ^ (step / decaySteps)      (staircase: floor(step / decaySteps))
//   cosineDecay:             lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha)
//                            after an optional linear warm-up from lr0 to warmupTarget over warmupSteps
//   piecewiseConstantDecay:  values[i] while step <= boundaries[i] (values[last] past the last boundary)
//
// A schedule is also a per-epoch function for learningRateScheduler (see callbacks-keras.ts).

import { describeValue } from "./describe.ts";

export interface LearningRateSchedule {
  /** What made it, for messages ("cosineDecay"...). */
  readonly name: string;
  /** The learning rate for 0-based optimizer step `step`. */
  at(step: number): number;
}

/** True for a schedule object (anything with an at(step) method). */
export function isSchedule(v: unknown): v is LearningRateSchedule {
  return typeof v === "object" && v !== null && typeof (v as { at?: unknown }).at === "function";
}

function positive(v: unknown, what: string): number {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new Error(`${what} must be a positive number, got ${describeValue(v)}`);
  return v;
}

function inUnit(v: unknown, what: string): number {
  if (!(typeof v === "number" && v >= 0 && v <= 1)) throw new Error(`${what} must be in [0, 1], got ${describeValue(v)}`);
  return v;
}

function count(v: unknown, what: string): number {
  if (!(typeof v === "number" && Number.isInteger(v) && v >= 0)) throw new Error(`${what} must be a whole number >= 0, got ${describeValue(v)}`);
  return v;
}

export interface ExponentialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  /** Decay in whole steps of decaySteps (default false: continuously). */
  staircase?: boolean;
}

export function exponentialDecay(opts: ExponentialDecayOptions): LearningRateSchedule {
  const lr0 = positive(opts?.initialLearningRate, "exponentialDecay initialLearningRate");
  const steps = positive(opts.decaySteps, "exponentialDecay decaySteps");
  const rate = positive(opts.decayRate, "exponentialDecay decayRate");
  const staircase = opts.staircase ?? false;
  return {
    name: "exponentialDecay",
    at(step) {
      const p = step / steps;
      return lr0 * rate ** (staircase ? Math.floor(p) : p);
    },
  };
}

export interface CosineDecayOptions {
  initialLearningRate: number;
  /** Steps over which the rate falls from its peak to alpha * peak (after the warm-up). */
  decaySteps: number;
  /** The final rate as a fraction of the peak (default 0). */
  alpha?: number;
  /** Steps of linear warm-up from initialLearningRate to warmupTarget (default 0: none). */
  warmupSteps?: number;
  /** The peak the warm-up reaches (needed when warmupSteps > 0). */
  warmupTarget?: number;
}

export function cosineDecay(opts: CosineDecayOptions): LearningRateSchedule {
  const lr0 = positive(opts?.initialLearningRate, "cosineDecay initialLearningRate");
  const steps = positive(opts.decaySteps, "cosineDecay decaySteps");
  const alpha = inUnit(opts.alpha ?? 0, "cosineDecay alpha");
  const warmup = count(opts.warmupSteps ?? 0, "cosineDecay warmupSteps");
  const peak = warmup > 0 ? positive(opts.warmupTarget, "cosineDecay warmupTarget (with warmupSteps)") : lr0;
  return {
    name: "cosineDecay",
    at(step) {
      if (step < warmup) return lr0 + ((peak - lr0) * step) / warmup;
      const s = Math.min(step - warmup, steps);
      return peak * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * s) / steps)) + alpha);
    },
  };
}

export interface PiecewiseConstantDecayOptions {
  /** Increasing step counts where the rate changes. */
  boundaries: readonly number[];
  /** One more value than boundaries: values[i] up to and including boundaries[i]. */
  values: readonly number[];
}

export function piecewiseConstantDecay(opts: PiecewiseConstantDecayOptions): LearningRateSchedule {
  const b = opts?.boundaries;
  const v = opts?.values;
  if (!Array.isArray(b) || !Array.isArray(v) || v.length !== b.length + 1) {
    throw new Error(`piecewiseConstantDecay needs boundaries (a list) and values (one more entry than boundaries), got ${describeValue(b)} and ${describeValue(v)}`);
  }
  b.forEach((x, i) => {
    count(x, `piecewiseConstantDecay boundaries[${i}]`);
    if (i > 0 && !(x > b[i - 1]!)) throw new Error(`piecewiseConstantDecay boundaries must increase, got ${b[i - 1]} then ${x}`);
  });
  v.forEach((x, i) => positive(x, `piecewiseConstantDecay values[${i}]`));
  const bounds = [...b];
  const values = [...v];
  return {
    name: "piecewiseConstantDecay",
    at(step) {
      const i = bounds.findIndex((x) => step <= x);
      return values[i < 0 ? values.length - 1 : i]!;
    },
  };
}

/** A rate from a schedule, checked: a schedule that yields no positive finite number is a bug in it. */
export function scheduledRate(s: LearningRateSchedule, step: number): number {
  const lr = s.at(step);
  if (!(typeof lr === "number" && Number.isFinite(lr) && lr > 0)) {
    throw new Error(`learning-rate schedule '${s.name}' gave ${describeValue(lr)} at step ${step}; a learning rate must be a positive number`);
  }
  return lr;
}
