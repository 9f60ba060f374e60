// Builds the equations of a backward graph for the rule table: small constructors that infer
// shapes, fold constants and drop identities (x * 1, x + 0), so the rules can read like the math.

import { GraphBuilder, isConst, type BinaryOp, type Eqn, type Operand, type UnaryOp, type ValueId } from "./ir.ts";

type In = Operand | number;

const op = (x: In): Operand => (typeof x === "number" ? { c: x } : x);

export class AdBuilder extends GraphBuilder {
  private unary(kind: UnaryOp, x: In): Operand {
    const a = op(x);
    if (isConst(a)) throw new Error(`autodiff: ${kind} of a constant`);
    return this.emit((out) => ({ op: kind, out, args: [a] }), this.shape(a));
  }

  private binary(kind: BinaryOp, x: In, y: In): Operand {
    const a = op(x);
    const b = op(y);
    if (isConst(a) && isConst(b)) throw new Error(`autodiff: ${kind} of constants`);
    if (kind === "mul" && isConst(b) && b.c === 1) return a;
    if (kind === "mul" && isConst(a) && a.c === 1) return b;
    if ((kind === "add" || kind === "sub") && isConst(b) && b.c === 0) return a;
    if (kind === "add" && isConst(a) && a.c === 0) return b;
    if (kind === "div" && isConst(b) && b.c === 1) return a;
    const shape = this.shape(isConst(a) ? b : a);
    return this.emit((out) => ({ op: kind, out, args: [a, b] }), shape);
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

  between(x: Operand, lo: number, hi: number): Operand {
    return this.emit((out) => ({ op: "between", out, args: [x], lo, hi }), this.shape(x));
  }

  matvecT(A: Operand, u: Operand): Operand {
    return this.emit((out) => ({ op: "matvecT", out, args: [A, u] }), [this.shape(A)[1]!]);
  }

  slice(x: Operand, lo: number, n: number): Operand {
    return this.emit((out) => ({ op: "slice", out, args: [x], lo }), [n]);
  }

  pad(x: Operand, lo: number, n: number): Operand {
    return this.emit((out) => ({ op: "pad", out, args: [x], lo }), [n]);
  }

  sum(x: Operand): Operand {
    return this.emit((out) => ({ op: "sum", out, args: [x] }), [1]);
  }

  bcast(x: Operand, n: number): Operand {
    return this.emit((out) => ({ op: "bcast", out, args: [x] }), [n]);
  }

  zeros(shape: number[], name: string): ValueId {
    return this.emit((out) => ({ op: "zeros", out, args: [] }), shape, name).v;
  }

  /** The equation that produced v in this graph, if any. */
  private producer(v: ValueId): Eqn | undefined {
    for (let i = this.g.eqns.length - 1; i >= 0; i--) {
      const e = this.g.eqns[i]!;
      if ("out" in e && e.out === v) return e;
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
      return this.emit((out) => ({ op: "concat", out, args: tiles }), [n], name).v;
    }
    let acc = parts[0]!;
    for (const p of parts.slice(1)) acc = this.add(acc, p);
    if (isConst(acc)) throw new Error("autodiff: constant adjoint");
    const info = this.g.values[acc.v]!;
    // Name the adjoint after its primal when it is a fresh local of this graph.
    if (info.role === "local" && parts.length > 1) info.name = name;
    return acc.v;
  }
}
