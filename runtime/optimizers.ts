// Optimizers with Keras' update rules and defaults, and gradient clipping by global norm.
// Each keeps its slots (momentum, mean squares) per Param object, so one optimizer serves one
// model. Updates are written out as the formulas, in float64 scalars, stored to Float32Arrays.
//
//   SGD:     v = momentum * v - lr * g;  w += v            (nesterov: w += momentum * v - lr * g)
//   RMSprop: ms = rho * ms + (1 - rho) * g^2;  w -= lr * g / sqrt(ms + eps)
//            (with momentum: mom = momentum * mom + lr * g / sqrt(ms + eps); w -= mom)
//   Adam:    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//            w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

import { describeValue } from "./describe.ts";
import type { Param } from "./layers/layer.ts";
import { isSchedule, scheduledRate, type LearningRateSchedule } from "./schedules.ts";

export interface Optimizer {
  readonly name: string;
  /** The rate of the next update (of the last one, under a schedule); callbacks such as
   *  reduceLROnPlateau set it. Under a schedule, each step sets it from the schedule. */
  learningRate: number;
  /** The schedule given as learningRate, if any (see schedules.ts). */
  readonly schedule?: LearningRateSchedule;
  /** Updates applied so far (a schedule's step); undone with a failed step. */
  iterations?: number;
  /** Applies one update from each param's grad. */
  step(params: readonly Param[]): void;
  /** Sets its state (slots, step count) aside, so that `restore` can undo the next step. Training
   *  calls it before every step; an optimizer without it cannot have a failed step undone. */
  save?(): void;
  /** Puts back the state `save` set aside. */
  restore?(): void;
  /** False when a slot holds NaN or ±Infinity (checked after every step). */
  finite?(): boolean;
}

/** Per-param state arrays of one kind (momentum, mean squares...), zero when first used, with a
 *  saved copy for undoing a step. */
class Slots {
  private readonly live = new Map<Param, Float32Array>();
  private readonly saved = new Map<Param, Float32Array>();

  get(p: Param): Float32Array {
    let s = this.live.get(p);
    if (!s) {
      s = new Float32Array(p.value.length);
      this.live.set(p, s);
    }
    return s;
  }

  save(): void {
    for (const [p, s] of this.live) {
      let c = this.saved.get(p);
      if (!c) {
        c = new Float32Array(s.length);
        this.saved.set(p, c);
      }
      c.set(s);
    }
  }

  /** Slots made after the last save go back to their initial zeros. */
  restore(): void {
    for (const [p, s] of this.live) {
      const c = this.saved.get(p);
      if (c) s.set(c);
      else s.fill(0);
    }
  }

  finite(): boolean {
    let z = 0;
    // x * 0 is NaN exactly for NaN and ±Infinity.
    for (const s of this.live.values()) for (let i = 0; i < s.length; i++) z += s[i]! * 0;
    return z === 0;
  }
}

/** An optimizer's learningRate option: a number (default `dflt`) or a schedule. */
function rateOption(v: number | LearningRateSchedule | undefined, dflt: number, what: string): { learningRate: number; schedule?: LearningRateSchedule } {
  if (isSchedule(v)) return { learningRate: scheduledRate(v, 0), schedule: v };
  return { learningRate: positive(v ?? dflt, what) };
}

/** The rate for `o`'s next update: its schedule's at its iteration count, else its learningRate. */
function currentRate(o: Optimizer): number {
  if (o.schedule) o.learningRate = scheduledRate(o.schedule, o.iterations ?? 0);
  if (!(typeof o.learningRate === "number" && Number.isFinite(o.learningRate) && o.learningRate > 0)) {
    throw new Error(`optimizer '${o.name}': learningRate must be a positive number, got ${describeValue(o.learningRate)}`);
  }
  return o.learningRate;
}

/** The iteration count and rate set aside by save(), for restore(). */
class Clock {
  private iterations = 0;
  private learningRate = 0;
  save(o: Optimizer): void {
    this.iterations = o.iterations ?? 0;
    this.learningRate = o.learningRate;
  }
  restore(o: Optimizer): void {
    o.iterations = this.iterations;
    o.learningRate = this.learningRate;
  }
}

function positive(v: number, what: string): number {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new Error(`${what} must be a positive number, got ${describeValue(v)}`);
  return v;
}

function unit(v: number, what: string): number {
  if (!(typeof v === "number" && v >= 0 && v < 1)) throw new Error(`${what} must be in [0, 1), got ${describeValue(v)}`);
  return v;
}

export interface SGDOptions {
  /** A number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  momentum?: number;
  nesterov?: boolean;
}

export function sgd(opts: SGDOptions = {}): Optimizer {
  const rate = rateOption(opts.learningRate, 0.01, "sgd learningRate");
  const clock = new Clock();
  const mu = unit(opts.momentum ?? 0, "sgd momentum");
  const nesterov = opts.nesterov ?? false;
  const vel = new Slots();
  return {
    name: "sgd",
    ...rate,
    iterations: 0,
    save() {
      vel.save();
      clock.save(this);
    },
    restore() {
      vel.restore();
      clock.restore(this);
    },
    finite: () => vel.finite(),
    step(params) {
      const lr = currentRate(this);
      this.iterations = (this.iterations ?? 0) + 1;
      for (const p of params) {
        const w = p.value;
        const g = p.grad;
        if (mu === 0) {
          for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * g[i]!;
          continue;
        }
        const v = vel.get(p);
        for (let i = 0; i < w.length; i++) {
          const vi = mu * v[i]! - lr * g[i]!;
          v[i] = vi;
          w[i] = nesterov ? w[i]! + mu * vi - lr * g[i]! : w[i]! + vi;
        }
      }
    },
  };
}

export interface RMSpropOptions {
  /** A number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  rho?: number;
  momentum?: number;
  epsilon?: number;
}

export function rmsprop(opts: RMSpropOptions = {}): Optimizer {
  const rate = rateOption(opts.learningRate, 0.001, "rmsprop learningRate");
  const clock = new Clock();
  const rho = unit(opts.rho ?? 0.9, "rmsprop rho");
  const mu = unit(opts.momentum ?? 0, "rmsprop momentum");
  const eps = positive(opts.epsilon ?? 1e-7, "rmsprop epsilon");
  const ms = new Slots();
  const mom = new Slots();
  return {
    name: "rmsprop",
    ...rate,
    iterations: 0,
    save() {
      ms.save();
      mom.save();
      clock.save(this);
    },
    restore() {
      ms.restore();
      mom.restore();
      clock.restore(this);
    },
    finite: () => ms.finite() && mom.finite(),
    step(params) {
      const lr = currentRate(this);
      this.iterations = (this.iterations ?? 0) + 1;
      for (const p of params) {
        const w = p.value;
        const g = p.grad;
        const s = ms.get(p);
        const m = mu > 0 ? mom.get(p) : undefined;
        for (let i = 0; i < w.length; i++) {
          const gi = g[i]!;
          const si = rho * s[i]! + (1 - rho) * gi * gi;
          s[i] = si;
          const inc = (lr * gi) / Math.sqrt(si + eps);
          if (m) {
            const mi = mu * m[i]! + inc;
            m[i] = mi;
            w[i] = w[i]! - mi;
          } else {
            w[i] = w[i]! - inc;
          }
        }
      }
    },
  };
}

export interface AdamOptions {
  /** A number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export function adam(opts: AdamOptions = {}): Optimizer {
  const rate = rateOption(opts.learningRate, 0.001, "adam learningRate");
  const clock = new Clock();
  const b1 = unit(opts.beta1 ?? 0.9, "adam beta1");
  const b2 = unit(opts.beta2 ?? 0.999, "adam beta2");
  const eps = positive(opts.epsilon ?? 1e-7, "adam epsilon");
  const M = new Slots();
  const V = new Slots();
  return {
    name: "adam",
    ...rate,
    iterations: 0,
    save() {
      M.save();
      V.save();
      clock.save(this);
    },
    restore() {
      M.restore();
      V.restore();
      clock.restore(this);
    },
    finite: () => M.finite() && V.finite(),
    step(params) {
      const lr = currentRate(this);
      const t = (this.iterations = (this.iterations ?? 0) + 1);
      const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      for (const p of params) {
        const w = p.value;
        const g = p.grad;
        const m = M.get(p);
        const v = V.get(p);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i]!;
          const mi = b1 * m[i]! + (1 - b1) * gi;
          const vi = b2 * v[i]! + (1 - b2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          w[i] = w[i]! - (alpha * mi) / (Math.sqrt(vi) + eps);
        }
      }
    },
  };
}

export type OptimizerName = "sgd" | "rmsprop" | "adam";

export function getOptimizer(o: OptimizerName | Optimizer): Optimizer {
  if (typeof o === "object" && o !== null) return o;
  if (o === "sgd") return sgd();
  if (o === "rmsprop") return rmsprop();
  if (o === "adam") return adam();
  throw new Error(`unknown optimizer '${String(o)}' (expected sgd, rmsprop or adam, or an optimizer object)`);
}

/** The global L2 norm of all gradients. */
export function globalNorm(params: readonly Param[]): number {
  let s = 0;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  }
  return Math.sqrt(s);
}

/** Scales all gradients by maxNorm / norm when their global norm exceeds maxNorm; returns the norm before clipping. */
export function clipByGlobalNorm(params: readonly Param[], maxNorm: number): number {
  positive(maxNorm, "clipNorm");
  const norm = globalNorm(params);
  if (norm > maxNorm) {
    const k = maxNorm / norm;
    for (const p of params) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * k;
    }
  }
  return norm;
}
