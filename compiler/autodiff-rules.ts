// Derivatives of the structural ops (products, concatenation, slices, reductions, scans). Elementwise
// primitives carry their own rules in the registry (compiler/primitives/elementwise.ts); together
// they are the one table autodiff reads. Each entry reads like the math: given the adjoint dy of
// an equation's result y, it returns one contribution per argument (the engine sums them and
// skips constants). A matrix parameter's contribution is an outer product, which the engine
// accumulates into the parameter's gradient over the batch.

import type { BmmEqn, Eqn, Operand, RowEqn } from "./ir.ts";
import { rowPrimitive } from "./primitives/rows.ts";
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
  // Row primitives carry their rules in their registry entries (compiler/primitives/rows.ts).
  row: ({ dy, y, x: [v], eqn }, b) => {
    const e = eqn as RowEqn;
    if (e.stop) return [null];
    return [rowPrimitive(e.fn)!.grad({ dy, y, x: v!, reverse: e.reverse ?? false }, b)];
  },
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
  bcast: ({ dy }, b) => [b.sum(dy)],
};
