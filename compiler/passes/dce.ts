// Dead-code elimination: drops equations whose results nothing reads. Autodiff's rules compute a
// contribution for every argument, and a spec may compute a local it never uses; both leave dead
// equations behind.

import type { BackwardGraph } from "../autodiff.ts";
import { operandValues, type Graph, type ValueId } from "../ir.ts";

export function dce<G extends Graph>(g: G): G {
  const live = new Set<ValueId>();
  for (const o of g.outputs) live.add(o.value);
  for (const s of g.states) live.add(s.next);
  const bw = g as Partial<BackwardGraph>;
  for (const d of bw.dInputs ?? []) live.add(d.value);
  for (const d of bw.dStates ?? []) live.add(d.value);
  const kept: Graph["eqns"] = [];
  for (let i = g.eqns.length - 1; i >= 0; i--) {
    const e = g.eqns[i]!;
    const sink = !("out" in e);
    if (sink || live.has(e.out)) {
      kept.push(e);
      for (const v of operandValues(e)) live.add(v);
    }
  }
  return { ...g, eqns: kept.reverse() };
}
