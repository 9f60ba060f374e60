// Derivatives of the structural ops (products, concatenation, slices, reductions, scans). Elementwise
// primitives carry their own rules in the registry (compiler/primitives/elementwise.ts); together
// they are the one table autodiff reads. Each entry reads like the math: given the adjoint dy of
// an equation's result y, it returns one contribution per argument (the engine sums them and
// skips constants). A matrix parameter's contribution is an outer product, which the engine
// accumulates into the parameter's gradient over the batch.

import type { Eqn, Operand, RowEqn } from "./ir.ts";
import { rowPrimitive } from "./primitives/rows.ts";
import { structuralOfIr } from "./primitives/structural.ts";
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
  // Structural primitives carry their rules in their registry entries (compiler/primitives/structural.ts).
  bmm: (r, b) => structRule(r, b),
  transpose: (r, b) => structRule(r, b),
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

/** The adjoints of a structural primitive's operands, from its registry entry. */
function structRule({ dy, x, eqn }: RuleArgs, b: AdBuilder): Contribution[] {
  const prim = structuralOfIr(eqn.op)!;
  const attrs = prim.attrs(eqn as unknown as Record<string, unknown>, x.map((a) => b.shape(a)));
  return prim.grad!({ dy, x, attrs }, b);
}
