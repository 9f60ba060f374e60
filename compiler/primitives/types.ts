// What a primitive is. Each elementwise primitive is defined once, in one entry of the registry
// (./elementwise.ts): its name, operands and attributes, its float64 value (constant folding and
// the reference every backend is tested against), its derivative rule, and its formula in each
// backend. The checker, constant folding, autodiff and every printer read these entries; none of
// them knows a primitive's math.

// The registry is the bottom of the compiler: it imports nothing of the compiler's. The IR
// (../ir.ts) takes its operand type from here, and a derivative rule sees the autodiff builder
// (../autodiff-builder.ts) only through the GradBuilder interface below.

/** An equation's operand: a value of the graph (by id) or a number. */
export type Operand = { v: number } | { c: number };

/** Numeric attributes fixed at build time (clip's bounds). */
export type Attrs = Readonly<Record<string, number>>;

/** A reverse-mode contribution: an adjoint for an operand (null: the operand gets none). */
export type Contribution = Operand | null;

/** An operand, or a number written in a rule. */
export type GradIn = Operand | number;

/** What a derivative rule builds its adjoints with (implemented by compiler/autodiff-builder.ts,
 *  which folds constants and drops identities). */
export interface GradBuilder {
  add(a: GradIn, b: GradIn): Operand;
  sub(a: GradIn, b: GradIn): Operand;
  mul(a: GradIn, b: GradIn): Operand;
  div(a: GradIn, b: GradIn): Operand;
  neg(a: GradIn): Operand;
  abs(a: GradIn): Operand;
  sign(a: GradIn): Operand;
  heaviside(a: GradIn): Operand;
  sigmoid(a: GradIn): Operand;
  /** Any registry primitive of value operands and numbers (folded when all are numbers). */
  call(fn: string, ...args: GradIn[]): Operand;
  /** c ≠ 0 ? a : b, with c a per-sample flag. */
  select(c: Operand, a: GradIn, b: GradIn): Operand;
  /** 1 where lo < x < hi, else 0. */
  between(x: Operand, lo: number, hi: number): Operand;
}

export interface GradArgs {
  /** Adjoint of the result. */
  dy: Operand;
  /** The result (read from the forward pass). */
  y: Operand;
  /** The operands. */
  x: readonly Operand[];
  attrs: Attrs;
}

/** Options a TypeScript formula may depend on. */
export interface TsFormulaOptions {
  /** Use the module's fast exp/sigmoid/tanh (optimised float32 builds). */
  fast: boolean;
  /** With `fast`: the module is a WebAssembly module's fallback, whose fast math is the float32
   *  functions of ./fastmath.ts (fexp, fsigmoid, ftanh, felu, fswish, ferf, fgelu, fsin, fcos, fpow), the bits the
   *  WebAssembly kernel gives. */
  f32?: boolean;
}

/** What a WebAssembly formula may use (backends/wasm): operands are `(local.get ...)` of v128
 *  vectors of the module's element type. */
export interface WasmFormulaOptions {
  /** The vector shape: "f32x4" (kernels) or "f64x2" (float64 builds). */
  v: string;
  /** A vector with every lane equal to c. */
  k(c: number): string;
  /** A call of one of the module's vector math functions (exp, sigmoid, tanh, log, softplus, elu,
   *  gelu, swish, sin, cos, erf; pow of two vectors). */
  call(fn: "exp" | "sigmoid" | "tanh" | "log" | "softplus" | "elu" | "gelu" | "swish" | "sin" | "cos" | "erf" | "pow", ...x: string[]): string;
}

/** What an ONNX formula builds with (backends/onnx): nodes over tensor names, float32 constants. */
export interface OnnxFormulaBuilder {
  /** One node of the standard domain over tensor names; returns the name of its (first) output. */
  op(op: string, inputs: readonly string[]): string;
  /** A float32 scalar constant. */
  const(value: number): string;
  /** A bool tensor, true where x ≠ 0 (x may already be a bool flag, returned as it is). */
  flag(x: string): string;
  /** A bool tensor as float32 1 / 0. */
  float(x: string): string;
}

export interface Elementwise {
  /** IR op name. */
  readonly op: string;
  /** Number of operands; a [1] operand or a number broadcasts over the others. */
  readonly arity: number;
  /** Names of numeric attributes, in the order a spec passes them after the operands. */
  readonly attrs?: readonly string[];
  /** Callable from a spec as `name(x, ...)` (and documented); absent for internal helpers. */
  readonly surface?: boolean;
  /** One line for the README and hover text. */
  readonly doc: string;
  /** The value in float64: constant folding uses it, and every backend's formula is tested
   *  against it on a grid that includes extremes. */
  eval(x: readonly number[], a: Attrs): number;
  /** One contribution per operand. Absent: the op only appears in derivatives and is never
   *  itself differentiated. */
  grad?(r: GradArgs, b: GradBuilder): Contribution[];
  /** TypeScript expression over operand expressions (identifiers or parenthesised literals). */
  ts(x: readonly string[], a: Attrs, o: TsFormulaOptions): string;
  /** Support files of the TypeScript backend its formula calls (backends/ts/support/NAME.ts). */
  readonly tsSupport?: readonly "special"[];
  /** WebAssembly SIMD expression over operand vectors (backends/wasm); lanes compute what `ts` does. */
  wasm(x: readonly string[], a: Attrs, o: WasmFormulaOptions): string;
  /** PyTorch expression over operand expressions (identifiers, tensors or float literals): the
   *  PyTorch backend's formula; it must broadcast and be accepted by torch.jit.script. */
  torch(x: readonly string[], a: Attrs): string;
  /** ONNX lowering over operand tensor names; returns the result's name. Absent: a kernel using
   *  the primitive cannot be exported to ONNX (a clear error naming it). */
  onnx?(x: readonly string[], a: Attrs, g: OnnxFormulaBuilder): string;
  /** Where the function is smooth, for derivative tests: a predicate on the operands. */
  readonly smoothAt?: (x: readonly number[], a: Attrs) => boolean;
  /** Operands for which eval is defined and finite (tests sample inside it). */
  readonly domain?: (x: readonly number[]) => boolean;
}
