// Losses and metrics. A loss returns its mean value over the batch and writes d loss / d
// prediction; every loss is a mean over "positions" (samples, or sample-steps for a sequence
// output [B, T, C]); when the prediction carries per-sample lengths, steps past a sample's
// length are left out of the mean and get zero gradient.
//
// Decisions: binary cross-entropy and categorical cross-entropy take PROBABILITIES (the output
// of a sigmoid / softmax Dense, as Keras' default from_logits=false), clamped to
// [1e-7, 1 - 1e-7] inside the log (the gradient is taken at the clamped value, so a confidently
// wrong prediction still learns). MSE and BCE average over the last axis, as Keras does.
// Sparse categorical cross-entropy takes integer class ids with the prediction's last axis dropped.

import { shapeString, type Tensor } from "./tensor.ts";

export type LossName = "meanSquaredError" | "mse" | "binaryCrossentropy" | "categoricalCrossentropy" | "sparseCategoricalCrossentropy";

export interface Loss {
  readonly name: string;
  /** Labels are class ids: y has the prediction's shape without its last axis. */
  readonly sparse: boolean;
  /** Mean loss over the valid positions; writes d loss / d pred into `grad` when given. */
  compute(pred: Tensor, y: Tensor, grad?: Float32Array): number;
}

const EPS = 1e-7;

/** Positions (rows of the last axis) of a prediction and whether each is valid under lengths. */
interface Layout {
  rows: number;
  C: number;
  /** Valid rows, or null when all are. */
  valid: Uint8Array | null;
  count: number;
}

function layout(pred: Tensor): Layout {
  const C = pred.shape[pred.shape.length - 1]!;
  const rows = C === 0 ? 0 : pred.data.length / C;
  if (pred.lengths && pred.shape.length >= 3) {
    const B = pred.shape[0]!;
    const T = pred.shape[1]!;
    const per = rows / (B * T); // rows per step (1 unless extra axes)
    const valid = new Uint8Array(rows);
    let count = 0;
    for (let b = 0; b < B; b++) {
      const L = pred.lengths[b]!;
      for (let t = 0; t < L; t++) {
        for (let q = 0; q < per; q++) valid[(b * T + t) * per + q] = 1;
        count += per;
      }
    }
    return { rows, C, valid, count };
  }
  return { rows, C, valid: null, count: rows };
}

export function checkLabels(loss: Loss, predShape: readonly number[], y: Tensor, name = "y"): void {
  const want = loss.sparse ? predShape.slice(0, -1) : [...predShape];
  const ok = y.shape.length === want.length && want.every((d, i) => d === y.shape[i]);
  if (!ok) {
    throw new Error(`${name} has shape ${shapeString(y.shape)} but loss '${loss.name}' on the model's output ${shapeString(predShape)} needs ${shapeString(want)}`);
  }
}

/** A loss that is the mean of f(p, t) over every valid row and column, with ∂f/∂p = df. */
function elementwiseLoss(name: string, f: (p: number, t: number) => number, df: (p: number, t: number) => number): Loss {
  return {
    name,
    sparse: false,
    compute(pred, y, grad) {
      const { rows, C, valid, count } = layout(pred);
      const p = pred.data;
      const t = y.data;
      let sum = 0;
      const scale = count > 0 ? 1 / (count * C) : 0;
      for (let r = 0; r < rows; r++) {
        const o = r * C;
        const on = valid === null || valid[r] === 1;
        for (let j = 0; j < C; j++) {
          if (on) sum += f(p[o + j]!, t[o + j]!);
          if (grad) grad[o + j] = on ? scale * df(p[o + j]!, t[o + j]!) : 0;
        }
      }
      return sum * scale;
    },
  };
}

function meanSquaredError(): Loss {
  return elementwiseLoss(
    "meanSquaredError",
    (p, t) => (p - t) * (p - t),
    (p, t) => 2 * (p - t),
  );
}

/** Probabilities are clamped to [EPS, 1 - EPS] so the logs stay finite. */
const clampProb = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));

function binaryCrossentropy(): Loss {
  return elementwiseLoss(
    "binaryCrossentropy",
    (p, t) => {
      const q = clampProb(p);
      return -(t * Math.log(q) + (1 - t) * Math.log(1 - q));
    },
    (p, t) => {
      const q = clampProb(p);
      return -t / q + (1 - t) / (1 - q);
    },
  );
}

function categoricalCrossentropy(): Loss {
  return {
    name: "categoricalCrossentropy",
    sparse: false,
    compute(pred, y, grad) {
      const { rows, C, valid, count } = layout(pred);
      const p = pred.data;
      const t = y.data;
      let sum = 0;
      const scale = count > 0 ? 1 / count : 0;
      for (let r = 0; r < rows; r++) {
        const o = r * C;
        const on = valid === null || valid[r] === 1;
        for (let j = 0; j < C; j++) {
          const q = Math.min(1 - EPS, Math.max(EPS, p[o + j]!));
          const z = t[o + j]!;
          if (on) sum -= z * Math.log(q);
          if (grad) grad[o + j] = on ? (-scale * z) / q : 0;
        }
      }
      return count > 0 ? sum / count : 0;
    },
  };
}

function sparseCategoricalCrossentropy(): Loss {
  return {
    name: "sparseCategoricalCrossentropy",
    sparse: true,
    compute(pred, y, grad) {
      const { rows, C, valid, count } = layout(pred);
      const p = pred.data;
      const t = y.data;
      let sum = 0;
      const scale = count > 0 ? 1 / count : 0;
      if (grad) grad.fill(0, 0, rows * C);
      for (let r = 0; r < rows; r++) {
        if (valid !== null && valid[r] === 0) continue;
        const c = t[r]!;
        if (!Number.isInteger(c) || c < 0 || c >= C) {
          throw new Error(`y: label ${c} at position ${r} is not a class id in 0..${C - 1}`);
        }
        const q = Math.min(1 - EPS, Math.max(EPS, p[r * C + c]!));
        sum -= Math.log(q);
        if (grad) grad[r * C + c] = -scale / q;
      }
      return count > 0 ? sum / count : 0;
    },
  };
}

const LOSSES: Record<LossName, () => Loss> = {
  meanSquaredError,
  mse: meanSquaredError,
  binaryCrossentropy,
  categoricalCrossentropy,
  sparseCategoricalCrossentropy,
};

export function getLoss(loss: LossName | Loss): Loss {
  if (typeof loss === "object" && loss !== null) return loss;
  const make = LOSSES[loss as LossName];
  if (!make) throw new Error(`unknown loss '${String(loss)}' (expected one of ${Object.keys(LOSSES).join(", ")})`);
  return make();
}

// ---------------------------------------------------------------------------------------------
// Metrics

export type MetricName = "accuracy" | "binaryAccuracy" | "meanAbsoluteError" | "mae";

export interface Metric {
  readonly name: string;
  /** Mean over valid positions and the number of positions it averages. */
  compute(pred: Tensor, y: Tensor, sparse: boolean): { value: number; count: number };
}

/** Binary accuracy: each value counts as right when (pred > 0.5) equals (y > 0.5). */
function binaryAccuracy(name = "binaryAccuracy"): Metric {
  return {
    name,
    compute(pred, y) {
      const { rows, C, valid } = layout(pred);
      let right = 0;
      let n = 0;
      for (let r = 0; r < rows; r++) {
        if (valid !== null && valid[r] === 0) continue;
        for (let j = 0; j < C; j++) {
          if (pred.data[r * C + j]! > 0.5 === y.data[r * C + j]! > 0.5) right++;
          n++;
        }
      }
      return { value: n > 0 ? right / n : 0, count: n };
    },
  };
}

/** Accuracy as Keras picks it: binary for one output unit, else argmax against the label or one-hot. */
function accuracy(): Metric {
  const binary = binaryAccuracy("accuracy");
  return {
    name: "accuracy",
    compute(pred, y, sparse) {
      const { rows, C, valid } = layout(pred);
      if (C === 1 && !sparse) return binary.compute(pred, y, sparse);
      let right = 0;
      let n = 0;
      for (let r = 0; r < rows; r++) {
        if (valid !== null && valid[r] === 0) continue;
        const p = argmax(pred.data, r * C, C);
        const t = sparse ? y.data[r]! : argmax(y.data, r * C, C);
        if (p === t) right++;
        n++;
      }
      return { value: n > 0 ? right / n : 0, count: n };
    },
  };
}

function meanAbsoluteError(): Metric {
  return {
    name: "meanAbsoluteError",
    compute(pred, y) {
      const { rows, C, valid } = layout(pred);
      let s = 0;
      let n = 0;
      for (let r = 0; r < rows; r++) {
        if (valid !== null && valid[r] === 0) continue;
        for (let j = 0; j < C; j++) s += Math.abs(pred.data[r * C + j]! - y.data[r * C + j]!);
        n += C;
      }
      return { value: n > 0 ? s / n : 0, count: n };
    },
  };
}

function argmax(a: Float32Array, o: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[o + j]! > a[o + best]!) best = j;
  return best;
}

const METRICS: Record<MetricName, () => Metric> = {
  accuracy,
  binaryAccuracy: () => binaryAccuracy(),
  meanAbsoluteError,
  mae: meanAbsoluteError,
};

export function getMetric(m: MetricName | Metric): Metric {
  if (typeof m === "object" && m !== null) return m;
  const make = METRICS[m as MetricName];
  if (!make) throw new Error(`unknown metric '${String(m)}' (expected one of ${Object.keys(METRICS).join(", ")})`);
  return make();
}
