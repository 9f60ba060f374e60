// Merging tensors over their last axis: concatenation, sum, product and mean, as Keras'
// Concatenate / Add / Multiply / Average layers (functional models) and as the ways a
// Bidirectional layer joins its two directions. The rows (all axes but the last) of every input
// must agree; the per-row work is written once here for both users.

import type { Rng } from "../rng.ts";
import { batchShapeString, type Tensor } from "../tensor.ts";
import { ensure, Layer, shapesCompatible, type ForwardContext, type Shape } from "./layer.ts";

export type MergeMode = "concat" | "sum" | "mul" | "ave";
export const MERGE_MODES: readonly MergeMode[] = ["concat", "sum", "mul", "ave"];

/** Output width of a merge of inputs `widths` wide. */
export function mergedWidth(mode: MergeMode, widths: readonly number[]): number {
  return mode === "concat" ? widths.reduce((a, b) => a + b, 0) : widths[0]!;
}

/** out[r] = merge of xs[i][r] over `rows` rows; xs[i] has widths[i] values per row. */
export function mergeForward(mode: MergeMode, xs: readonly Float32Array[], widths: readonly number[], rows: number, out: Float32Array): void {
  const W = mergedWidth(mode, widths);
  if (mode === "concat") {
    let off = 0;
    xs.forEach((x, i) => {
      const w = widths[i]!;
      for (let r = 0; r < rows; r++) out.set(x.subarray(r * w, (r + 1) * w), r * W + off);
      off += w;
    });
    return;
  }
  const n = rows * W;
  out.set(xs[0]!.subarray(0, n));
  for (let i = 1; i < xs.length; i++) {
    const x = xs[i]!;
    if (mode === "mul") for (let j = 0; j < n; j++) out[j]! *= x[j]!;
    else for (let j = 0; j < n; j++) out[j]! += x[j]!;
  }
  if (mode === "ave") {
    const k = 1 / xs.length;
    for (let j = 0; j < n; j++) out[j]! *= k;
  }
}

/** d loss / d each input, written into dxs, from dy = d loss / d merged output. */
export function mergeBackward(mode: MergeMode, xs: readonly Float32Array[], widths: readonly number[], rows: number, dy: Float32Array, dxs: Float32Array[]): void {
  const W = mergedWidth(mode, widths);
  const n = rows * W;
  if (mode === "concat") {
    let off = 0;
    dxs.forEach((dx, i) => {
      const w = widths[i]!;
      for (let r = 0; r < rows; r++) dx.set(dy.subarray(r * W + off, r * W + off + w), r * w);
      off += w;
    });
    return;
  }
  dxs.forEach((dx, i) => {
    if (mode === "sum") dx.set(dy.subarray(0, n));
    else if (mode === "ave") {
      const k = 1 / xs.length;
      for (let j = 0; j < n; j++) dx[j] = dy[j]! * k;
    } else {
      // Product rule: the other factors, multiplied (no division, so zeros are fine).
      dx.set(dy.subarray(0, n));
      xs.forEach((x, m) => {
        if (m !== i) for (let j = 0; j < n; j++) dx[j]! *= x[j]!;
      });
    }
  });
}

/** Checks that merge inputs agree (all axes but the last for concat, every axis otherwise);
 *  returns the merged per-sample shape. `label` names the merging layer. */
export function mergeShapes(mode: MergeMode, shapes: readonly Shape[], label: string): Shape {
  const first = shapes[0]!;
  for (const s of shapes) {
    const last = s[s.length - 1];
    if (s.length === 0 || last === null || last === undefined) throw new Error(`${label} needs inputs with a known last axis, got ${batchShapeString(s)}`);
    const same = mode === "concat" ? shapesCompatible(first.slice(0, -1), s.slice(0, -1)) : shapesCompatible(first, s);
    if (!same) {
      const what = mode === "concat" ? "all axes but the last" : "every axis";
      throw new Error(`${label} cannot merge ${shapes.map(batchShapeString).join(" and ")}: their ${what} must agree`);
    }
  }
  return [...first.slice(0, -1), mergedWidth(mode, shapes.map((s) => s[s.length - 1]!))];
}

const TYPES: Record<MergeMode, string> = { concat: "Concatenate", sum: "Add", mul: "Multiply", ave: "Average" };

export interface MergeOptions {
  name?: string;
}

/** Merges two or more tensors of a functional model over the last axis. */
export class Merge extends Layer {
  readonly type: string;
  readonly mode: MergeMode;
  private widths: number[] = [];
  private xs: Float32Array[] = [];
  private rows = 0;
  private y: Float32Array | undefined;
  private dxs: Float32Array[] = [];

  constructor(mode: MergeMode, opts: MergeOptions = {}) {
    super(opts.name);
    if (!MERGE_MODES.includes(mode)) throw new Error(`merge: unknown mode '${String(mode)}' (expected one of ${MERGE_MODES.join(", ")})`);
    this.mode = mode;
    this.type = TYPES[mode];
  }

  defaultName(): string {
    return this.type.toLowerCase();
  }

  override callOutputs(inputCount: number): number {
    if (inputCount < 2) throw new Error(`layer '${this.label}' (${this.type}) merges two or more tensors, got ${inputCount}`);
    return 1;
  }

  build(_inputShape: Shape, _rng: Rng): Shape {
    throw new Error(`layer '${this.label}' (${this.type}) merges several tensors; use it in a functional model`);
  }

  override async buildCall(inputShapes: Shape[], _rng: Rng): Promise<Shape[]> {
    const out = mergeShapes(this.mode, inputShapes, `layer '${this.label}' (${this.type})`);
    this.widths = inputShapes.map((s) => s[s.length - 1]!);
    this.inputShape = [...inputShapes[0]!];
    this.outputShape = out;
    return [out];
  }

  override checkCall(inputShapes: Shape[]): Shape[] {
    const out = mergeShapes(this.mode, inputShapes, `layer '${this.label}' (${this.type})`);
    if (inputShapes.length !== this.widths.length || inputShapes.some((s, i) => s[s.length - 1] !== this.widths[i])) {
      throw new Error(`layer '${this.label}' was built to merge widths ${this.widths.join(", ")} but is applied again to ${inputShapes.map(batchShapeString).join(", ")}`);
    }
    return [out];
  }

  forward(_x: Tensor, _ctx: ForwardContext): Tensor {
    throw new Error(`layer '${this.label}' (${this.type}) merges several tensors; use it in a functional model`);
  }

  backward(_dy: Float32Array): Float32Array {
    throw new Error(`layer '${this.label}' (${this.type}) merges several tensors; use it in a functional model`);
  }

  override forwardCall(xs: Tensor[], _ctx: ForwardContext): Tensor[] {
    const first = xs[0]!;
    const rows = first.data.length / this.widths[0]!;
    xs.forEach((x, i) => {
      const same = x.shape.length === first.shape.length && x.shape.slice(0, -1).every((d, j) => d === first.shape[j]);
      if (!same || x.data.length !== rows * this.widths[i]!) {
        throw new Error(`layer '${this.name}' got inputs [${first.shape.join(", ")}] and [${x.shape.join(", ")}] that do not merge`);
      }
    });
    this.rows = rows;
    this.xs = xs.map((x) => x.data);
    const W = mergedWidth(this.mode, this.widths);
    const y = (this.y = ensure(this.y, rows * W));
    mergeForward(this.mode, this.xs, this.widths, rows, y);
    const out: Tensor = { data: y, shape: [...first.shape.slice(0, -1), W] };
    const withLengths = xs.find((x) => x.lengths);
    if (withLengths) out.lengths = withLengths.lengths!;
    return [out];
  }

  override backwardCall(dys: Float32Array[]): (Float32Array | null)[] {
    this.dxs = this.widths.map((w, i) => ensure(this.dxs[i], this.rows * w));
    mergeBackward(this.mode, this.xs, this.widths, this.rows, dys[0]!, this.dxs);
    return this.dxs;
  }

  override twin(): Merge {
    const t = new Merge(this.mode, this.name ? { name: this.name } : {});
    t.widths = [...this.widths];
    t.inputShape = this.inputShape && [...this.inputShape];
    t.outputShape = this.outputShape && [...this.outputShape];
    return t;
  }
}
