// The lowering's equation builder: emits IR equations with shapes inferred from operands, folds
// constants, evaluates sizes under a binding, and collects build-time diagnostics.

import type { SizeExpr } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import { GraphBuilder, IRError, isConst, type Operand } from "./ir.ts";
import { elementwise } from "./primitives/elementwise.ts";
import { rowPrimitive, type RowOpName } from "./primitives/rows.ts";
import type { Attrs } from "./primitives/types.ts";
import type { Size } from "./sizes.ts";

/** The value of an elementwise function of constants, from the registry's float64 definition, or
 *  undefined when `name` is not one primitive (a composite or structural function). */
export function foldCall(name: string, args: readonly number[], attrs?: Attrs): number | undefined {
  const p = elementwise(name);
  if (!p || p.arity !== args.length) return undefined;
  return p.eval(args, attrs ?? {});
}

export class Lowerer {
  /** The statement being lowered, for comments and build-time diagnostics. */
  span: Span | undefined;
  failed = false;
  /** Temporaries of the statement being lowered are named after its target: i_1, i_2, ... */
  private stmt = "t";
  private temps = 0;

  constructor(
    readonly builder: GraphBuilder,
    private readonly out: Diagnostic[],
  ) {}

  /** Starts a statement whose temporaries are named `${base}_1`, `${base}_2`, ... */
  statement(base: string, span: Span | undefined): void {
    this.stmt = base;
    this.temps = 0;
    this.span = span;
  }

  /** A fresh temporary name for the statement being lowered. */
  temp(): string {
    return `${this.stmt}_${++this.temps}`;
  }

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

  /** An elementwise primitive; folded when every operand is a number. */
  ew(fn: string, args: Operand[], attrs?: Attrs): Operand {
    if (args.every(isConst)) {
      const v = foldCall(fn, args.map((a) => (a as { c: number }).c), attrs);
      if (v !== undefined) return { c: v };
    }
    return this.builder.ew(fn, args, attrs, this.span, this.temp());
  }

  matvec(a: Operand, v: Operand): { v: number } {
    const span = this.span;
    const rows = this.builder.shape(a)[0] ?? this.bug("matvec of a non-matrix");
    return this.builder.emit((out) => ({ op: "matvec", out, args: [a, v], span }), [rows], this.temp());
  }

  /** transpose(W) @ u for a weight W. */
  matvecT(a: Operand, u: Operand): { v: number } {
    const span = this.span;
    const cols = this.builder.shape(a)[1] ?? this.bug("matvecT of a non-matrix");
    return this.builder.emit((out) => ({ op: "matvecT", out, args: [a, u], span }), [cols], this.temp());
  }

  /** A per-sample product (ir.ts BmmEqn) stored with `shape`. */
  bmm(a: Operand, b: Operand, m: number, k: number, n: number, ta: boolean, tb: boolean, shape: number[]): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "bmm", out, args: [a, b], m, k, n, ta, tb, span }), shape, this.temp());
  }

  transpose(x: Operand): { v: number } {
    const span = this.span;
    const [m, n] = this.builder.shape(x) as [number, number];
    return this.builder.emit((out) => ({ op: "transpose", out, args: [x], span }), [n, m], this.temp());
  }

  /** A row primitive of x (compiler/primitives/rows.ts); `stop`: no gradient flows through it. */
  row(fn: RowOpName, x: Operand, stop = false): { v: number } {
    const span = this.span;
    const shape = rowPrimitive(fn)!.kind === "reduce" ? [1] : [...this.builder.shape(x)];
    return this.builder.emit((out) => (stop ? { op: "row", fn, out, args: [x], stop, span } : { op: "row", fn, out, args: [x], span }), shape, this.temp());
  }

  max(x: Operand, stop = false): { v: number } {
    return this.row("rowmax", x, stop);
  }

  slice(x: Operand, lo: number, n: number): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "slice", out, args: [x], lo, span }), [n], this.temp());
  }

  concat(args: Operand[]): { v: number } {
    const span = this.span;
    const n = args.reduce((s, a) => s + (this.builder.shape(a)[0] ?? this.bug("concat of a constant")), 0);
    return this.builder.emit((out) => ({ op: "concat", out, args, span }), [n], this.temp());
  }

  sum(x: Operand): { v: number } {
    return this.row("rowsum", x);
  }

  bcast(x: Operand, n: number): { v: number } {
    const span = this.span;
    return this.builder.emit((out) => ({ op: "bcast", out, args: [x], span }), [n], this.temp());
  }
}
