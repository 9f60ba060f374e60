// Builds the equations of a backward graph for the rule table: small constructors that infer
// shapes, fold constants and drop identities (x * 1, x + 0), so the rules can read like the math.
// Temporaries are named after the adjoint being differentiated (d_i_t1, ...); each summed adjoint
// is named after its primal (d_i, d_c_new), so the generated code reads like the derivation.

import { GraphBuilder, isConst, produces, type Eqn, type Operand, type ValueId } from "./ir.ts";
import { elementwise } from "./primitives/elementwise.ts";
import { rowPrimitive, type RowOpName } from "./primitives/rows.ts";
import type { RowGradBuilder } from "./primitives/row-types.ts";
import { structuralPrimitive } from "./primitives/structural.ts";
import type { StructAttrs, StructGradBuilder } from "./primitives/structural-types.ts";
import type { GradIn as In } from "./primitives/types.ts";

const op = (x: In): Operand => (typeof x === "number" ? { c: x } : x);

export class AdBuilder extends GraphBuilder implements RowGradBuilder, StructGradBuilder {
  /** Base name for temporaries of the rule being applied. */
  private base = "d";
  private temps = 0;
  /** Values already given their final adjoint name (never renamed again). */
  private readonly named = new Set<ValueId>();

  /** Starts the rule for the adjoint named `dname`. */
  context(dname: string): void {
    this.base = dname;
    this.temps = 0;
  }

  private temp(): string {
    return `${this.base}_t${++this.temps}`;
  }

  private fn(fn: string, args: Operand[], attrs?: Record<string, number>): Operand {
    return this.ew(fn, args, attrs, undefined, this.temp());
  }

  private unary(kind: string, x: In): Operand {
    const a = op(x);
    if (isConst(a)) throw new Error(`autodiff: ${kind} of a constant`);
    return this.fn(kind, [a]);
  }

  private binary(kind: string, x: In, y: In): Operand {
    const a = op(x);
    const b = op(y);
    if (isConst(a) && isConst(b)) return { c: elementwise(kind)!.eval([a.c, b.c], {}) };
    if (kind === "mul" && isConst(b) && b.c === 1) return a;
    if (kind === "mul" && isConst(a) && a.c === 1) return b;
    if ((kind === "add" || kind === "sub") && isConst(b) && b.c === 0) return a;
    if (kind === "add" && isConst(a) && a.c === 0) return b;
    if (kind === "div" && isConst(b) && b.c === 1) return a;
    return this.fn(kind, [a, b]);
  }

  add = (a: In, b: In) => this.binary("add", a, b);
  sub = (a: In, b: In) => this.binary("sub", a, b);
  mul = (a: In, b: In) => this.binary("mul", a, b);
  div = (a: In, b: In) => this.binary("div", a, b);
  neg = (a: In) => this.unary("neg", a);
  abs = (a: In) => this.unary("abs", a);
  sign = (a: In) => this.unary("sign", a);
  heaviside = (a: In) => this.unary("heaviside", a);
  sigmoid = (a: In) => this.unary("sigmoid", a);

  /** Any registry primitive of value operands and numbers (folded when all are numbers). */
  call(fn: string, ...args: In[]): Operand {
    const ops = args.map(op);
    if (ops.every(isConst)) return { c: elementwise(fn)!.eval(ops.map((o) => (o as { c: number }).c), {}) };
    return this.fn(fn, ops);
  }

  /** c ≠ 0 ? a : b, with c a per-sample flag. */
  select(c: Operand, a: In, b: In): Operand {
    return this.fn("select", [c, op(a), op(b)]);
  }

  between(x: Operand, lo: number, hi: number): Operand {
    return this.fn("between", [x], { lo, hi });
  }

  matvecT(A: Operand, u: Operand): Operand {
    return this.emit((out) => ({ op: "matvecT", out, args: [A, u] }), [this.shape(A)[1]!], this.temp());
  }

  matvec(A: Operand, v: Operand): Operand {
    return this.emit((out) => ({ op: "matvec", out, args: [A, v] }), [this.shape(A)[0]!], this.temp());
  }

  /** A structural primitive (compiler/primitives/structural.ts) of `args`, its result stored with `shape`. */
  struct(op: string, args: Operand[], attrs: StructAttrs, shape: number[]): Operand {
    const prim = structuralPrimitive(op);
    if (!prim) throw new Error(`autodiff: no structural primitive ${op}`);
    return this.emit((out) => ({ op: prim.ir, out, args, ...prim.fields(attrs) }) as Eqn, [...shape], this.temp());
  }

  /** A row primitive of x (compiler/primitives/rows.ts). */
  row(fn: string, x: Operand, reverse = false): Operand {
    const prim = rowPrimitive(fn) ?? this.bugRow(fn);
    const shape = prim.kind === "reduce" ? [1] : [...this.shape(x)];
    const op = fn as RowOpName;
    return this.emit((out) => (prim.kind === "scan" ? { op: "row", fn: op, out, args: [x], reverse } : { op: "row", fn: op, out, args: [x] }), shape, this.temp());
  }

  private bugRow(fn: string): never {
    throw new Error(`autodiff: no row primitive ${fn}`);
  }

  slice(x: Operand, lo: number, n: number): Operand {
    return this.emit((out) => ({ op: "slice", out, args: [x], lo }), [n], this.temp());
  }

  pad(x: Operand, lo: number, n: number): Operand {
    return this.emit((out) => ({ op: "pad", out, args: [x], lo }), [n], this.temp());
  }

  sum(x: Operand): Operand {
    return this.row("rowsum", x);
  }

  /** x ([1]) repeated over `shape`. */
  bcast(x: Operand, shape: readonly number[]): Operand {
    return this.emit((out) => ({ op: "bcast", out, args: [x] }), [...shape], this.temp());
  }

  zeros(shape: number[], name: string): ValueId {
    const v = this.emit((out) => ({ op: "zeros", out, args: [] }), shape, name).v;
    this.named.add(v);
    return v;
  }

  /** The equation that produced v in this graph, if any. */
  private producer(v: ValueId): Eqn | undefined {
    for (let i = this.g.eqns.length - 1; i >= 0; i--) {
      const e = this.g.eqns[i]!;
      if (produces(e) && e.out === v) return e;
    }
    return undefined;
  }

  /** Contributions that are pads tiling the whole vector (the adjoints of its slices) are one concat. */
  private tiling(parts: Operand[]): Operand[] | undefined {
    if (parts.length < 2) return undefined;
    const pads: { lo: number; x: Operand; n: number }[] = [];
    for (const p of parts) {
      const e = isConst(p) ? undefined : this.producer(p.v);
      if (e?.op !== "pad") return undefined;
      pads.push({ lo: e.lo, x: e.args[0], n: this.shape(e.args[0])[0]! });
    }
    pads.sort((a, b) => a.lo - b.lo);
    let at = 0;
    for (const p of pads) {
      if (p.lo !== at) return undefined;
      at += p.n;
    }
    return at === this.shape(parts[0]!)[0] ? pads.map((p) => p.x) : undefined;
  }

  /** Sum of contributions, as one value named `name`. */
  total(parts: Operand[], name: string): ValueId {
    const tiles = this.tiling(parts);
    if (tiles) {
      const n = this.shape(parts[0]!)[0]!;
      const v = this.emit((out) => ({ op: "concat", out, args: tiles }), [n], name).v;
      this.named.add(v);
      return v;
    }
    let acc = parts[0]!;
    for (const p of parts.slice(1)) acc = this.add(acc, p);
    if (isConst(acc)) throw new Error("autodiff: constant adjoint");
    const info = this.g.values[acc.v]!;
    // Name the adjoint after its primal when it is a fresh temporary of this graph (not a seed,
    // a forward value or another value's adjoint passed through unchanged).
    if (info.role === "local" && !this.named.has(acc.v)) {
      info.name = name;
      this.named.add(acc.v);
    }
    return acc.v;
  }
}
