// Reassociates a matrix product applied to a vector: (A @ B) @ v becomes A @ (B @ v) when A @ B
// is used nowhere else. Per sample that costs m·k + k·n multiply-adds instead of m·k·n, and when
// A and B are parameters (a low-rank factorisation U @ V) both products become GEMMs over the
// batch, which the schedule can hoist and fuse-matvec can stack. Chains reassociate one link at a
// time until none is left.

import { count, produces, type Eqn, type Graph, type Operand, type ValueId } from "../ir.ts";

type Bmm = Extract<Eqn, { op: "bmm" }>;

export function reassociate(g: Graph): Graph {
  let eqns = g.eqns;
  const values = [...g.values];
  const isWeight = (o: Operand) => "v" in o && (values[o.v]!.role === "param" || values[o.v]!.role === "packed");

  /** op(M) · x for a vector x: a GEMM when M is a weight matrix, else a per-sample product (also
   *  for a weight vector read as a one-column matrix, as in outer(b, c) @ v). */
  const product = (M: Operand, transposed: boolean, x: Operand, out: ValueId, rows: number, depth: number, span: Bmm["span"]): Eqn => {
    const matrix = "v" in M && values[M.v]!.shape.length === 2;
    if (isWeight(M) && matrix && !isWeight(x)) return { op: transposed ? "matvecT" : "matvec", out, args: [M, x], span };
    return { op: "bmm", out, args: [M, x], m: rows, k: depth, n: 1, ta: transposed, tb: false, span };
  };

  for (;;) {
    const uses = new Map<ValueId, number>();
    for (const e of eqns) for (const a of e.args as Operand[]) if ("v" in a) uses.set(a.v, (uses.get(a.v) ?? 0) + 1);
    for (const o of g.outputs) uses.set(o.value, (uses.get(o.value) ?? 0) + 1);
    for (const s of g.states) uses.set(s.next, (uses.get(s.next) ?? 0) + 1);
    const producer = new Map<ValueId, Eqn>();
    for (const e of eqns) if (produces(e)) producer.set(e.out, e);

    let changed = false;
    const next: Eqn[] = [];
    for (const e of eqns) {
      const X = e.op === "bmm" && e.n === 1 && !e.ta && "v" in e.args[0] ? e.args[0].v : undefined;
      const p = X === undefined ? undefined : producer.get(X);
      // Only a true vector v: a one-column matrix ([k, 1], e.g. outer(b, s) with a scalar s) also
      // has n = 1, but its product is a [m, 1] matrix, which the vector rewrite would not give.
      const vectorRight =
        e.op === "bmm" && "v" in e.args[1] && values[e.args[1].v]!.shape.length === 1 && values[e.out]!.shape.length === 1;
      if (changed || e.op !== "bmm" || X === undefined || p?.op !== "bmm" || !vectorRight || uses.get(X) !== 1 || values[X]!.shape.length !== 2) {
        next.push(e);
        continue;
      }
      // X = op(P) · op(Q), [m, n]; X · v = op(P) · (op(Q) · v).
      const [P, Q] = p.args;
      const w = values.length;
      values.push({ id: w, name: `${values[e.out]!.name}_r`, shape: [p.k], role: "local" });
      next.push(product(Q, p.tb, e.args[1], w, p.k, p.n, e.span));
      next.push(product(P, p.ta, { v: w }, e.out, p.m, p.k, e.span));
      if (count(values[e.out]!.shape) !== p.m) throw new Error("reassociate: shapes disagree");
      changed = true;
    }
    eqns = next;
    if (!changed) break;
  }
  return eqns === g.eqns ? g : { ...g, values, eqns };
}
