// What a row primitive is: an op that reads one row of a value (a vector, or every element of a
// matrix value) as a whole — a reduction to one number or a scan to a row of the same width.
// Each is defined once, in an entry of ./rows.ts: its shape rule, its float64 reference value
// (NaN and tie rules spelled out), its derivative, and its lowering on each backend. The IR
// (op "row"), autodiff, the plan (one plan op named after the entry) and every printer dispatch
// through the entry; none of them knows what a row maximum is.

import type { GradBuilder, Operand } from "./types.ts";

/** What a derivative rule of a row primitive builds with (compiler/autodiff-builder.ts). */
export interface RowGradBuilder extends GradBuilder {
  /** Another row primitive of x (reverse: the scan's direction). */
  row(fn: string, x: Operand, reverse?: boolean): Operand;
  /** x ([1]) repeated over `shape`. */
  bcast(x: Operand, shape: readonly number[]): Operand;
  shape(x: Operand): number[];
}

export interface RowGradArgs {
  /** Adjoint of the result. */
  dy: Operand;
  /** The result (read from the forward pass). */
  y: Operand;
  /** The operand. */
  x: Operand;
  reverse: boolean;
}

/** The TypeScript lowering: a support function, inlined into a module that uses it, called as
 *  `fn(R, N, src, so, ss, dst, dof, ds[, reverse])` over R rows of N numbers — row r of src at so
 *  + r·ss, of dst at dof + r·ds (a stride of 0 reads the same row every time). */
export interface RowTs {
  fn: string;
  /** Whether the call passes the scan direction. */
  directed?: true;
  /** The function's source (strict TypeScript; Float32Array becomes Float64Array in float64 builds). */
  source: string;
}

/** What a WebAssembly lowering prints one row with (backends/wasm/rows.ts runs it once per row,
 *  with the row's addresses in `src` and `dst`). */
export interface WasmRowContext {
  /** Scalar type "f32" | "f64", its vector shape "f32x4" | "f64x2", lanes, bytes per element. */
  s: "f32" | "f64";
  v: string;
  lanes: number;
  bytes: number;
  /** Numbers in the row. */
  n: number;
  reverse: boolean;
  /** A fresh or reused local of the function. */
  local(name: string, type: "i32" | "f32" | "f64" | "v128"): string;
  emit(...lines: string[]): void;
  /** A block: `head` (e.g. "(loop $l"), the body's lines, then ")". */
  nest(head: string, body: () => void): void;
  /** for (x = 0; x < n; x++) body(x) with n ≥ 1 (x a local holding the index). */
  count(name: string, n: number, body: (x: string) => void): void;
  /** The address of element `index` (an i32 expression) of the row at pointer local `base`. */
  at(base: string, index: string): string;
  /** The locals holding this row's source and result addresses. */
  src: string;
  dst: string;
  /** f64 ↔ element type (no-ops in float64 builds). */
  wide(x: string): string;
  narrow(x: string): string;
  /** A host function of float64 numbers (Math.exp, Math.log, ...), imported by the module. */
  host(fn: "exp" | "log" | "log1p", x: string): string;
}

/** The ONNX lowering's builder: nodes of the standard domain over tensor names (the row is the last axis). */
export interface OnnxRowBuilder {
  op(op: string, inputs: readonly string[]): string;
  node(op: string, inputs: readonly string[], attrs: Record<string, number | { ints: number[] }>): string;
  /** A float32 scalar. */
  const(value: number): string;
  /** An int64 1-D tensor. */
  ints(values: readonly number[]): string;
}

export interface RowPrimitive {
  /** The IR function and the plan op's name. */
  readonly op: string;
  /** "reduce": a row to one number ([1]); "scan": a row to a row of its width. */
  readonly kind: "reduce" | "scan";
  /** The name a spec calls it by with one vector argument (and documented), if any. */
  readonly surface?: string;
  /** One line for the docs table and hover text. */
  readonly doc: string;
  /** The value in float64 of one row (kernels compute it on float32 inputs, rounding once where
   *  the entry says so); NaN and tie rules are part of the definition. */
  eval(row: readonly number[], reverse: boolean): number[];
  /** Whether a float32 kernel equals eval rounded once (else: within a few ulp of the row's scale,
   *  for sums a backend may add in another order). */
  readonly exact: boolean;
  /** The adjoint of the operand. */
  grad(r: RowGradArgs, b: RowGradBuilder): Operand | null;
  readonly ts: RowTs;
  wasm(c: WasmRowContext): void;
  /** The row of x's last axis; returns the result's name (last axis 1 for a reduction). */
  onnx(x: string, reverse: boolean, g: OnnxRowBuilder): string;
  /** PyTorch expression over a tensor expression x (rows on the last axis, keepdim for reductions). */
  torch(x: string, reverse: boolean): string;
  /** WGSL statements computing one row (f32): `src(j)` reads element j (a u32 expression) of the
   *  row, `dst(j)` is element j of the result (an lvalue). */
  wgsl(n: number, reverse: boolean, src: (j: string) => string, dst: (j: string) => string): string[];
}
