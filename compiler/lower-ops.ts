// The lowering's equation builder: emits IR equations with shapes inferred from operands, folds
// constants, evaluates sizes under a binding, and collects build-time diagnostics.

import type { SizeExpr } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import { GraphBuilder, IRError, isConst, type BinaryOp, type Operand, type UnaryOp } from "./ir.ts";
import type { Size } from "./sizes.ts";

export function fold(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return a / b;
  }
}

// The float64 value of each function a spec may call on constants. Each is written exactly as
// emit-ops.ts `formula` computes the primitive at run time (its exact, non-fast form; float64
// kernels use only that form), so a folded constant equals what the kernel would compute:
// softplus(800) is 800 both ways. test/trust-frontend.test.ts compares the two on a grid of
// extremes for every function.
const clipValue = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

const scalarFunctions = new Map<string, (a: readonly number[]) => number>([
  ["sigmoid", ([x]) => 1 / (1 + Math.exp(-x!))],
  ["tanh", ([x]) => Math.tanh(x!)],
  ["relu", ([x]) => (x! > 0 ? x! : 0)],
  ["exp", ([x]) => Math.exp(x!)],
  ["log", ([x]) => Math.log(x!)],
  ["softsign", ([x]) => x! / (1 + Math.abs(x!))],
  ["softplus", ([x]) => (x! > 20 ? x! : Math.log1p(Math.exp(x!)))],
  ["sqrt", ([x]) => Math.sqrt(x!)],
  ["abs", ([x]) => Math.abs(x!)],
  // Lowered as clip(x * 0.2 + 0.5, 0, 1) (lower-calls.ts), so folded the same way.
  ["hard_sigmoid", ([x]) => clipValue(x! * 0.2 + 0.5, 0, 1)],
  ["clip", ([x, lo, hi]) => clipValue(x!, lo!, hi!)],
]);

/** Value of a function applied to constants, or undefined if it is not a scalar function. */
export function fromUnary(name: string, a: number[]): number | undefined {
  return scalarFunctions.get(name)?.(a);
}

export class Lowerer {
  /** The statement being lowered, for comments and build-time diagnostics. */
  span: Span | undefined;
  failed = false;

  constructor(
    readonly builder: GraphBuilder,
    private readonly out: Diagnostic[],
  ) {}

  report(d: Diagnostic): void {
    this.out.push(d);
    this.failed = true;
  }

  /** A lowering bug: the checker should have rejected this. */
  bug(msg: string): never {
    throw new IRError(`lowering: ${msg}`);
  }

  size(s: Size, binding: Readonly<Record<string, number>>, span: Span, what: string): number | undefined {
    const v = s.evaluate(binding);
    if (v === undefined) this.bug(`size ${s} of ${what} unbound`);
    if (v <= 0) {
      this.report(diag("CE404", span, what, v));
      return undefined;
    }
    return v;
  }

  sizeExpr(e: SizeExpr, binding: Readonly<Record<string, number>>): number | undefined {
    switch (e.kind) {
      case "sizeNum":
        return e.value;
      case "sizeName":
        return binding[e.name];
      case "sizeBinary": {
        const l = this.sizeExpr(e.left, binding);
        const r = this.sizeExpr(e.right, binding);
        if (l === undefined || r === undefined) return undefined;
        return e.op === "+" ? l + r : e.op === "-" ? l - r : l * r;
      }
    }
  }

  /** Shape of an elementwise result: that of its vector operand(s). */
  private ewShape(args: Operand[]): number[] {
    const v = args.find((a) => !isConst(a));
    if (!v) this.bug("elementwise op on constants only");
    return this.builder.shape(v);
  }

  emit(op: UnaryOp | BinaryOp, args: Operand[]): { v: number } {
    const shape = this.ewShape(args);
    const span = this.span;
    return this.builder.emit((out) => ({ op, out, args, span }) as never, shape);
  }

  clip(x: Operand, lo: number, hi: number): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "clip", out, args: [x], lo, hi, span }), this.ewShape([x]));
  }

  matvec(a: Operand, v: Operand): { v: number } {
    const span = this.span;
    const rows = this.builder.shape(a)[0] ?? this.bug("matvec of a non-matrix");
    return this.builder.emit((out) => ({ op: "matvec", out, args: [a, v], span }), [rows]);
  }

  concat(args: Operand[]): { v: number } {
    const span = this.span;
    const n = args.reduce((s, a) => s + (this.builder.shape(a)[0] ?? this.bug("concat of a constant")), 0);
    return this.builder.emit((out) => ({ op: "concat", out, args, span }), [n]);
  }

  sum(x: Operand): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "sum", out, args: [x], span }), [1]);
  }

  bcast(x: Operand, n: number): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "bcast", out, args: [x], span }), [n]);
  }
}
