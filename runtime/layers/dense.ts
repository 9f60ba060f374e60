// A fully connected layer y = act(W x + b) applied over the last axis (so a [B, T, F] sequence
// is transformed step by step, as Keras' Dense does). W is [units, in], the kernel contract's
// [out, in] layout, Glorot-uniform initialised; b starts at zero.

import { initialize } from "../init.ts";
import type { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { checkInput, ensure, Layer, makeParam, type Param, type Shape } from "./layer.ts";

export type Activation = "linear" | "relu" | "sigmoid" | "tanh" | "softmax";
const ACTIVATIONS: readonly Activation[] = ["linear", "relu", "sigmoid", "tanh", "softmax"];

export interface DenseOptions {
  activation?: Activation;
  name?: string;
  /** Default true. */
  useBias?: boolean;
}

export class Dense extends Layer {
  readonly type = "Dense";
  readonly units: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  private W: Param | undefined;
  private b: Param | undefined;
  private inSize = 0;
  private x: Float32Array | undefined;
  private y: Float32Array | undefined;
  private dx: Float32Array | undefined;
  private dz: Float32Array | undefined;
  private rows = 0;

  constructor(units: number, opts: DenseOptions = {}) {
    super(opts.name);
    if (!Number.isInteger(units) || units < 1) throw new Error(`Dense: units must be a positive integer, got ${units}`);
    const act = opts.activation ?? "linear";
    if (!ACTIVATIONS.includes(act)) throw new Error(`Dense: unknown activation '${act}' (expected one of ${ACTIVATIONS.join(", ")})`);
    this.units = units;
    this.activation = act;
    this.useBias = opts.useBias ?? true;
  }

  defaultName(): string {
    return "dense";
  }

  build(inputShape: Shape, rng: Rng): Shape {
    const last = inputShape[inputShape.length - 1];
    if (inputShape.length === 0 || last === null || last === undefined) {
      throw new Error(`Dense '${this.name}' needs a known last input size, got input shape [${inputShape.join(", ")}]`);
    }
    this.inSize = last;
    this.W = makeParam("W", [this.units, last]);
    initialize(this.W.value, this.W.shape, { kind: "glorot" }, rng);
    if (this.useBias) this.b = makeParam("b", [this.units]);
    this.inputShape = [...inputShape];
    this.outputShape = [...inputShape.slice(0, -1), this.units];
    return this.outputShape;
  }

  override params(): Param[] {
    return this.b ? [this.W!, this.b] : [this.W!];
  }

  forward(x: Tensor, _ctx: { training: boolean }): Tensor {
    checkInput(this, x);
    const I = this.inSize;
    const U = this.units;
    const rows = x.data.length / I;
    const W = this.W!.value;
    const b = this.b?.value;
    const y = (this.y = ensure(this.y, rows * U));
    const xd = x.data;
    for (let r = 0; r < rows; r++) {
      const xo = r * I;
      const yo = r * U;
      for (let u = 0; u < U; u++) {
        let s = b ? b[u]! : 0;
        const wo = u * I;
        for (let j = 0; j < I; j++) s += W[wo + j]! * xd[xo + j]!;
        y[yo + u] = s;
      }
    }
    activate(this.activation, y, rows, U);
    this.x = xd;
    this.rows = rows;
    const out: Tensor = { data: y, shape: [...x.shape.slice(0, -1), U] };
    if (x.lengths) out.lengths = x.lengths;
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    const I = this.inSize;
    const U = this.units;
    const rows = this.rows;
    const x = this.x!;
    const y = this.y!;
    const W = this.W!.value;
    const dW = this.W!.grad;
    const db = this.b?.grad;
    const dz = (this.dz = ensure(this.dz, rows * U));
    activationGrad(this.activation, y, dy, dz, rows, U);
    const dx = (this.dx = ensure(this.dx, rows * I));
    dx.fill(0);
    for (let r = 0; r < rows; r++) {
      const xo = r * I;
      for (let u = 0; u < U; u++) {
        const g = dz[r * U + u]!;
        if (g === 0) continue;
        if (db) db[u]! += g;
        const wo = u * I;
        for (let j = 0; j < I; j++) {
          dx[xo + j]! += g * W[wo + j]!;
          dW[wo + j]! += g * x[xo + j]!;
        }
      }
    }
    return dx;
  }
}

/** Applies an activation in place over `rows` rows of `n` values. */
export function activate(act: Activation, y: Float32Array, rows: number, n: number): void {
  const len = rows * n;
  switch (act) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < len; i++) if (y[i]! < 0) y[i] = 0;
      return;
    case "sigmoid":
      for (let i = 0; i < len; i++) y[i] = 1 / (1 + Math.exp(-y[i]!));
      return;
    case "tanh":
      for (let i = 0; i < len; i++) y[i] = Math.tanh(y[i]!);
      return;
    case "softmax":
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let m = -Infinity;
        for (let j = 0; j < n; j++) m = Math.max(m, y[o + j]!);
        let s = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.exp(y[o + j]! - m);
          y[o + j] = e;
          s += e;
        }
        for (let j = 0; j < n; j++) y[o + j]! /= s;
      }
      return;
  }
}

/** dz = d loss / d pre-activation, from the activation's output y and dy = d loss / d y. */
export function activationGrad(act: Activation, y: Float32Array, dy: Float32Array, dz: Float32Array, rows: number, n: number): void {
  const len = rows * n;
  switch (act) {
    case "linear":
      dz.set(dy.subarray(0, len));
      return;
    case "relu":
      for (let i = 0; i < len; i++) dz[i] = y[i]! > 0 ? dy[i]! : 0;
      return;
    case "sigmoid":
      for (let i = 0; i < len; i++) dz[i] = dy[i]! * y[i]! * (1 - y[i]!);
      return;
    case "tanh":
      for (let i = 0; i < len; i++) dz[i] = dy[i]! * (1 - y[i]! * y[i]!);
      return;
    case "softmax":
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let dot = 0;
        for (let j = 0; j < n; j++) dot += dy[o + j]! * y[o + j]!;
        for (let j = 0; j < n; j++) dz[o + j] = y[o + j]! * (dy[o + j]! - dot);
      }
      return;
  }
}
