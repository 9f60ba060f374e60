// The model around a recurrent layer in the benchmark's training step, written once so the
// hand-written peer and the cellc peer do exactly the same work: Dense(1) on the last time
// step's output, mean-squared-error loss over the batch, and Adam over every parameter.
// Adam follows tf.train.adam's defaults (lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7) so the
// tfjs peers' optimizer does the same arithmetic.

import type { FloatArray } from "./gemm.ts";

/** Dense(1) + MSE: y_b = Σ_j h[b, j] w[j] + bias, loss = mean_b (y_b - target_b)². */
export class DenseMseHead {
  readonly w: FloatArray;
  readonly bias: FloatArray;
  readonly dw: FloatArray;
  readonly dbias: FloatArray;

  constructor(
    readonly units: number,
    make: (n: number) => FloatArray,
  ) {
    this.w = make(units);
    this.bias = make(1);
    this.dw = make(units);
    this.dbias = make(1);
    // Small deterministic weights so the loss gradient reaches every unit.
    for (let j = 0; j < units; j++) this.w[j] = Math.sin(j + 1) / Math.sqrt(units);
  }

  /**
   * Loss for the last-step outputs h ([B, units] starting at hOffset), writing dL/dh into
   * dh ([B, units] from dhOffset) and dL/dw, dL/dbias into this.dw, this.dbias.
   */
  lossAndGrad(
    h: FloatArray, hOffset: number, batch: number, target: ArrayLike<number>,
    dh: FloatArray, dhOffset: number,
  ): number {
    const n = this.units;
    const { w, dw } = this;
    dw.fill(0);
    let dbias = 0;
    let loss = 0;
    for (let b = 0; b < batch; b++) {
      const row = hOffset + b * n;
      let y = this.bias[0]!;
      for (let j = 0; j < n; j++) y += h[row + j]! * w[j]!;
      const err = y - target[b]!;
      loss += err * err;
      const dy = (2 * err) / batch;
      dbias += dy;
      const drow = dhOffset + b * n;
      for (let j = 0; j < n; j++) {
        dw[j] += dy * h[row + j]!;
        dh[drow + j] = dy * w[j]!;
      }
    }
    this.dbias[0] = dbias;
    return loss / batch;
  }
}

/** Adam over a named set of parameter arrays; moments are allocated once. */
export class Adam {
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  private t = 0;

  constructor(
    readonly learningRate = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {}

  /** One update: every params[name] moves by its grads[name]. */
  step(params: Record<string, FloatArray>, grads: Record<string, FloatArray>): void {
    this.t++;
    const { beta1, beta2, epsilon } = this;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    const lr = this.learningRate;
    for (const name of Object.keys(params)) {
      const p = params[name]!;
      const g = grads[name];
      if (!g) throw new Error(`Adam: no gradient for parameter ${name}`);
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (!m || !v) {
        m = new Float64Array(p.length);
        v = new Float64Array(p.length);
        this.m.set(name, m);
        this.v.set(name, v);
      }
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * gi;
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
      }
    }
  }
}
