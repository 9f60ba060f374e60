// Fuses matrix products that share their vector: W_i @ x, W_f @ x, W_g @ x, W_o @ x become one
// product with the matrices stacked by rows ([4H, I]), and the four results become slices of it.
// One large GEMM runs far faster than four small ones, and for products of the inputs it is what
// the hoisting schedule turns into a single GEMM over every time step.

import { type Eqn, type Graph, type ValueId } from "../ir.ts";

export function fuseMatvec(g: Graph): Graph {
  const groups = new Map<ValueId, Extract<Eqn, { op: "matvec" }>[]>();
  for (const e of g.eqns) {
    if (e.op !== "matvec" || !("v" in e.args[0]) || !("v" in e.args[1])) continue;
    if (g.values[e.args[0].v]!.role !== "param") continue;
    const list = groups.get(e.args[1].v) ?? [];
    list.push(e);
    groups.set(e.args[1].v, list);
  }
  const values = [...g.values];
  const packs = [...g.packs];
  const replace = new Map<Eqn, Eqn[]>();
  for (const [v, list] of groups) {
    if (list.length < 2) continue;
    const mats = list.map((e) => (e.args[0] as { v: ValueId }).v);
    const cols = values[mats[0]!]!.shape[1]!;
    const rows = mats.reduce((n, m) => n + values[m]!.shape[0]!, 0);
    // Named after the vector as the spec calls it (h, not h_read: the state as read).
    const vname = values[v]!.name.replace(/_read$/, "");
    const pack = values.length;
    values.push({ id: pack, name: `pack_${vname}`, shape: [rows, cols], role: "packed" });
    packs.push({ value: pack, parts: mats });
    const fused = values.length;
    values.push({ id: fused, name: `proj_${vname}`, shape: [rows], role: "local" });
    let lo = 0;
    list.forEach((e, k) => {
      const slice: Eqn = { op: "slice", out: e.out, args: [{ v: fused }], lo, span: e.span };
      lo += values[mats[k]!]!.shape[0]!;
      const also = list.slice(1).flatMap((x) => (x.span ? [x.span] : []));
      replace.set(e, k === 0 ? [{ op: "matvec", out: fused, args: [{ v: pack }, { v }], span: e.span, also }, slice] : [slice]);
    });
  }
  if (replace.size === 0) return g;
  return { ...g, values, packs, eqns: g.eqns.flatMap((e) => replace.get(e) ?? [e]) };
}
