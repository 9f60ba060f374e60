// Rematerialisation: a forward value that backward reads only in elementwise equations, and that
// forward computes elementwise from what the tape holds anyway (states, masks, inputs, flags,
// parameters), is recomputed in backward instead of being kept for every step. The masked read of
// a state (`c_read = c * mask_c`) is the common case: forward then keeps it in a register, and
// backward recomputes it inside the map that uses it.

import type { BackwardGraph } from "../autodiff.ts";
import { isConst, operandValues, produces, type Eqn, type Graph, type Operand, type ValueId } from "../ir.ts";

const FREE = new Set(["state", "seq", "input", "param", "packed"]);

export function remat(fwd: Graph, bwd: BackwardGraph): BackwardGraph {
  const producer = new Map<ValueId, Eqn>();
  for (const e of fwd.eqns) if (produces(e)) producer.set(e.out, e);
  const readers = new Map<ValueId, Eqn[]>();
  for (const e of bwd.eqns) for (const v of operandValues(e)) readers.set(v, [...(readers.get(v) ?? []), e]);
  const values = [...bwd.values];
  const redo = new Map<ValueId, ValueId>();
  const prologue: Eqn[] = [];
  for (const [v, rs] of readers) {
    if (bwd.values[v]!.role !== "fwd") continue;
    const p = producer.get(v);
    if (p?.op !== "ew" || !operandValues(p).every((a) => FREE.has(fwd.values[a]!.role))) continue;
    if (!rs.every((r) => r.op === "ew")) continue;
    const id = values.length;
    values.push({ id, name: bwd.values[v]!.name, shape: [...bwd.values[v]!.shape], role: "local" });
    redo.set(v, id);
    prologue.push({ ...p, out: id, args: [...p.args] });
  }
  if (redo.size === 0) return bwd;
  const sub = (o: Operand): Operand => (isConst(o) ? o : { v: redo.get(o.v) ?? o.v });
  const eqns = [...prologue, ...bwd.eqns.map((e) => ({ ...e, args: (e.args as Operand[]).map(sub) }) as Eqn)];
  return { ...bwd, values, eqns };
}
