// Derivatives of the structural ops (products, concatenation, slices, reductions, scans). Elementwise
// primitives carry their own rules in the registry (compiler/primitives/elementwise.ts); together
// they are the one table autodiff reads. Each entry reads like the math: given the adjoint dy of
// an equation's result y, it returns one contribution per argument (the engine sums them and
// skips constants). A matrix parameter's contribution is an outer product, which the engine
// accumulates into the parameter's gradient over the batch.

import type { BmmEqn, Eqn, Operand } from "./ir.ts";
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
  // y = Aᵀu: dA[i, j] += u[i] dy[j], du = A dy.
  matvecT: ({ dy, x: [A, u] }, b) => [{ outer: [u!, dy] }, b.matvec(A!, dy)],
  // C = op(A) op(B): d op(A) = dC op(B)ᵀ, d op(B) = op(A)ᵀ dC; each stored as its operand is.
  bmm: ({ dy, x: [A, B], eqn }, b) => {
    const { m, k, n, ta, tb } = eqn as BmmEqn;
    const shapeA = b.shape(A!);
    const shapeB = b.shape(B!);
    const dA = ta ? b.bmm(B!, dy, k, n, m, tb, true, shapeA) : b.bmm(dy, B!, m, n, k, false, !tb, shapeA);
    const dB = tb ? b.bmm(dy, A!, n, m, k, true, ta, shapeB) : b.bmm(A!, dy, k, m, n, !ta, false, shapeB);
    return [dA, dB];
  },
  transpose: ({ dy }, b) => [b.transpose(dy)],
  // The subgradient of max goes to the first element equal to the maximum: eq marks the maxima,
  // and the first is where their running count is 1 (counts of 0/1 flags are exact).
  max: ({ dy, y, x: [v], eqn }, b) => {
    if ((eqn as Extract<Eqn, { op: "max" }>).stop) return [null];
    const eq = b.sub(1, b.heaviside(b.sub(y, v!)));
    const first = b.mul(eq, b.sub(1, b.heaviside(b.sub(b.cumsum(eq, false), 1))));
    return [b.mul(dy, first)];
  },
  cumsum: ({ dy, eqn }, b) => [b.cumsum(dy, !(eqn as Extract<Eqn, { op: "cumsum" }>).reverse)],
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
  sum: ({ dy, x: [a] }, b) => [b.bcast(dy, b.shape(a!))],
  bcast: ({ dy }, b) => [b.sum(dy)],
};
