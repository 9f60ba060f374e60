// What a structural primitive is: an op that reads whole rows of its operands and rearranges or
// combines them — a per-row matrix product, a per-row transpose, a sum over rows into a gradient.
// Each is defined once, in an entry of ./structural.ts: its attributes, its shape rule (how many
// numbers a row of each operand and of the result holds), its float64 reference value, its
// derivative, and its lowering on each backend as a template. The plan (one plan op named after
// the entry, StructPlanOp), the plan's verifier, autodiff and every printer dispatch through the
// entry; none of them knows what a transpose is.
//
// Products with a weight (GEMMs: matvec, matvecT and the weight gradients) are not here: they
// carry packing, panel slots and per-target kernels (backends/wasm/gemm.ts) that are scheduling,
// not meaning, and are planned as the plan's "gemm" op.

import type { Operand } from "./types.ts";

/** Attributes of a structural op, fixed at build time (sizes and flags). */
export type StructAttrs = Readonly<Record<string, number | boolean>>;

/** What a derivative rule of a structural primitive builds with (compiler/autodiff-builder.ts). */
export interface StructGradBuilder {
  shape(x: Operand): number[];
  /** Another structural primitive of `args`, with the result stored with `shape`. */
  struct(op: string, args: Operand[], attrs: StructAttrs, shape: number[]): Operand;
}

export interface StructGradArgs<A extends StructAttrs> {
  /** Adjoint of the result. */
  dy: Operand;
  /** The operands. */
  x: readonly Operand[];
  attrs: A;
}

/** The widths (numbers per row) of each operand and of the result. */
export interface StructWidths {
  src: number[];
  dst: number;
}

/** The TypeScript lowering: a support function, inlined into a module that uses it, called as
 *  `fn(R, ...args, ...operands, result)` over R rows — each operand (and a view result) passed as
 *  `array, offset of the first row, row stride` (a stride of 0 reads the same numbers every row),
 *  a gradient result as its array. */
export interface StructTs<A extends StructAttrs> {
  fn: string;
  /** The call's size and flag arguments after R. */
  args(a: A): (number | boolean)[];
  /** The function's source (strict TypeScript; Float32Array becomes Float64Array in float64 builds). */
  source: string;
}

/** What a WebAssembly lowering prints one row with (backends/wasm/structural.ts runs it once per
 *  row, with the row's addresses in `src[i]` and `dst`; a gradient result's `dst` is the same
 *  address every row). */
export interface WasmStructContext {
  /** Scalar type "f32" | "f64", its vector shape "f32x4" | "f64x2", lanes, bytes per element. */
  s: "f32" | "f64";
  v: string;
  lanes: number;
  bytes: number;
  /** A fresh or reused local of the function. */
  local(name: string, type: "i32" | "f32" | "f64" | "v128"): string;
  emit(...lines: string[]): void;
  /** for (x = 0; x < n; x++) body(x) with n ≥ 1 (x a local holding the index). */
  count(name: string, n: number, body: (x: string) => void): void;
  /** The address of element `index` (an i32 expression) of the row at pointer local `base`. */
  at(base: string, index: string): string;
  /** The locals holding this row's operand and result addresses. */
  src: string[];
  dst: string;
  /** element type → f64 and back (no-ops in float64 builds). */
  wide(x: string): string;
  narrow(x: string): string;
}

/** The ONNX lowering's builder. */
export interface OnnxStructBuilder {
  op(op: string, inputs: readonly string[]): string;
  /** Operand k's per-row numbers as an [.., rows, r, c] matrix, transposed to [.., c, r] when asked. */
  matrix(k: number, rows: number, cols: number, transposed: boolean): string;
  /** A [.., r, c] result back to [.., width] (the result's leading axes). */
  flat(x: string, width: number): string;
}

/** The PyTorch lowering's context. */
export interface TorchStructContext {
  /** Operand k's expression (an atom), its numbers on the last axis. */
  arg(k: number): string;
  /** Operand k's per-row numbers as a [.., r, c] matrix expression. */
  matrix(k: number, rows: number, cols: number): string;
  /** The result's leading axes as Python ("T, B, ", "B, " or ""). */
  lead: string;
}

/** The WGSL lowering: one invocation per element of every row ("elements": i < R·width, the row
 *  b = i / width) or per column of the result, summing over the rows ("columns": i < width). */
export interface WgslStruct {
  over: "elements" | "columns";
  width: number;
  /** Statements; `src(k, row, j)` is element j of operand k's row `row` (u32 expressions), and
   *  `dst(row, j)` the result's element (an lvalue; a gradient's row is "0u"). */
  body: string[];
}

export interface StructuralPrimitive<A extends StructAttrs = StructAttrs> {
  /** The plan op's name. */
  readonly op: string;
  /** The IR equation it plans ("acc": a gradient sum over rows into a vector parameter's gradient). */
  readonly ir: "bmm" | "transpose" | "acc";
  /** One line for the docs table and hover text. */
  readonly doc: string;
  /** "view": one result row per row; "grad": every row's result added, in row order, into a
   *  gradient buffer (rows "none"). */
  readonly into: "view" | "grad";
  /** The attributes of an IR equation (shapes: its operands', by position). */
  attrs(eqn: Record<string, unknown>, shapes: readonly number[][]): A;
  /** The IR equation's own fields for these attributes (what a derivative rule's result carries). */
  fields(a: A): Record<string, number | boolean>;
  /** The shape rule: numbers per row of each operand and of the result. */
  widths(a: A): StructWidths;
  /** One line for plan dumps: the attributes. */
  show(a: A): string;
  /** The value in float64 of one row (kernels round once per stored number, unless `exact` says
   *  otherwise); summation order is part of the definition. */
  eval(src: readonly (readonly number[])[], a: A): number[];
  /** What a float32 kernel equals: "once" — eval rounded once; "each" — for a gradient sum,
   *  every add into the gradient rounded (in row order). */
  readonly rounding: "once" | "each";
  /** Adjoints of the operands (absent: the op is a sink, with no result to differentiate). */
  grad?(r: StructGradArgs<A>, b: StructGradBuilder): Operand[];
  readonly ts: StructTs<A>;
  wasm(c: WasmStructContext, a: A): void;
  /** The result's tensor (absent: not part of an exported forward graph). */
  onnx?(g: OnnxStructBuilder, a: A): string;
  /** The PyTorch expression of the result (flat on the last axis). */
  torch(c: TorchStructContext, a: A): string;
  wgsl(a: A, src: (k: number, row: string, j: string) => string, dst: (row: string, j: string) => string): WgslStruct;
}
