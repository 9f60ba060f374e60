// The one table of derivatives. Each entry reads like the math: given the adjoint dy of an
// equation's result y, it returns one contribution per argument (the engine sums contributions
// and skips constant arguments). A matrix parameter's contribution is an outer product, which the
// engine accumulates into the parameter's gradient over the batch.

import type { Eqn, Operand } from "./ir.ts";
import type { AdBuilder } from "./autodiff-builder.ts";

export type Contribution = Operand | { outer: [Operand, Operand] };

export interface RuleArgs {
  /** Adjoint of the result. */
  dy: Operand;
  /** The result itself (read from the forward pass). */
  y: Operand;
  /** The equation's arguments. */
  x: Operand[];
  eqn: Eqn;
}

type Rule = (r: RuleArgs, b: AdBuilder) => Contribution[];

export type ForwardOp =
  | "neg" | "copy" | "sigmoid" | "tanh" | "relu" | "exp" | "log" | "softsign" | "softplus" | "sqrt" | "abs"
  | "add" | "sub" | "mul" | "div" | "clip" | "matvec" | "concat" | "slice" | "sum" | "bcast";

export const rules: Record<ForwardOp, Rule> = {
  neg: ({ dy }, b) => [b.neg(dy)],
  copy: ({ dy }) => [dy],
  sigmoid: ({ dy, y }, b) => [b.mul(dy, b.mul(y, b.sub(1, y)))],
  tanh: ({ dy, y }, b) => [b.mul(dy, b.sub(1, b.mul(y, y)))],
  relu: ({ dy, y }, b) => [b.mul(dy, b.heaviside(y))],
  exp: ({ dy, y }, b) => [b.mul(dy, y)],
  log: ({ dy, x: [a] }, b) => [b.div(dy, a!)],
  softsign: ({ dy, x: [a] }, b) => {
    const d = b.add(1, b.abs(a!));
    return [b.div(dy, b.mul(d, d))];
  },
  softplus: ({ dy, x: [a] }, b) => [b.mul(dy, b.sigmoid(a!))],
  sqrt: ({ dy, y }, b) => [b.div(b.mul(dy, 0.5), y)],
  abs: ({ dy, x: [a] }, b) => [b.mul(dy, b.sign(a!))],
  add: ({ dy }) => [dy, dy],
  sub: ({ dy }, b) => [dy, b.neg(dy)],
  mul: ({ dy, x: [p, q] }, b) => [b.mul(dy, q!), b.mul(dy, p!)],
  div: ({ dy, y, x: [, q] }, b) => [b.div(dy, q!), b.neg(b.div(b.mul(dy, y), q!))],
  clip: ({ dy, x: [a], eqn }, b) => {
    const { lo, hi } = eqn as Extract<Eqn, { op: "clip" }>;
    return [b.mul(dy, b.between(a!, lo, hi))];
  },
  matvec: ({ dy, x: [A, v] }, b) => [{ outer: [dy, v!] }, b.matvecT(A!, dy)],
  concat: ({ dy, x }, b) => {
    let lo = 0;
    return x.map((a) => {
      const n = b.shape(a)[0]!;
      const part = b.slice(dy, lo, n);
      lo += n;
      return part;
    });
  },
  slice: ({ dy, x: [a], eqn }, b) => [b.pad(dy, (eqn as Extract<Eqn, { op: "slice" }>).lo, b.shape(a!)[0]!)],
  sum: ({ dy, x: [a] }, b) => [b.bcast(dy, b.shape(a!)[0]!)],
  bcast: ({ dy }, b) => [b.sum(dy)],
};

export function hasRule(op: string): op is ForwardOp {
  return op in rules;
}
