// Derivatives of the structural ops (products, concatenation, slices, sums). Elementwise
// primitives carry their own rules in the registry (compiler/primitives/elementwise.ts); together
// they are the one table autodiff reads. Each entry reads like the math: given the adjoint dy of
// an equation's result y, it returns one contribution per argument (the engine sums them and
// skips constants). A matrix parameter's contribution is an outer product, which the engine
// accumulates into the parameter's gradient over the batch.

import type { Eqn, Operand } from "./ir.ts";
import type { AdBuilder } from "./autodiff-builder.ts";

export type Contribution = Operand | { outer: [Operand, Operand] } | null;

export interface RuleArgs {
  dy: Operand;
  y: Operand;
  x: Operand[];
  eqn: Eqn;
}

type Rule = (r: RuleArgs, b: AdBuilder) => Contribution[];

export const structuralRules: Partial<Record<Eqn["op"], Rule>> = {
  matvec: ({ dy, x: [A, v] }, b) => [{ outer: [dy, v!] }, b.matvecT(A!, dy)],
  concat: ({ dy, x }, b) => {
    let lo = 0;
    return x.map((a) => {
      const n = b.shape(a)[0] ?? 1;
      const part = b.slice(dy, lo, n);
      lo += n;
      return part;
    });
  },
  slice: ({ dy, x: [a], eqn }, b) => [b.pad(dy, (eqn as Extract<Eqn, { op: "slice" }>).lo, b.shape(a!)[0]!)],
  sum: ({ dy, x: [a] }, b) => [b.bcast(dy, b.shape(a!)[0]!)],
  bcast: ({ dy }, b) => [b.sum(dy)],
};
