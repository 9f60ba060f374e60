// Common-subexpression elimination: an equation identical to an earlier one (same op, same
// operands, same attributes; operands sorted for + and *) reuses the earlier result. Autodiff
// repeats products such as y * y or 1 - z, and specs repeat sub-expressions.

import type { BackwardGraph } from "../autodiff.ts";
import { eqnFields, isConst, opName, produces, type Eqn, type Graph, type Operand, type ValueId } from "../ir.ts";

/** Names made up for temporaries (i_1, d_i_t2) rather than taken from the spec. */
const isTemp = (n: string) => /_t?\d+$/.test(n);

export function cse<G extends Graph>(g: G): G {
  const seen = new Map<string, ValueId>();
  const rename = new Map<ValueId, ValueId>();
  const sub = (o: Operand): Operand => (isConst(o) ? o : { v: rename.get(o.v) ?? o.v });
  const key = (o: Operand) => (isConst(o) ? `c${o.c}` : `v${o.v}`);
  const eqns: Eqn[] = [];
  for (const e0 of g.eqns) {
    const e = { ...e0, args: e0.args.map(sub) } as Eqn;
    if (!produces(e) || e.op === "zeros") {
      eqns.push(e);
      continue;
    }
    let ks = e.args.map(key);
    // The function (an elementwise or row primitive's name), not just the op: sum(v) and max(v)
    // are both op "row".
    const fn = opName(e);
    if (fn === "add" || fn === "mul") ks = [...ks].sort();
    const attrs = e.op === "ew" ? (e.attrs ? `:${JSON.stringify(e.attrs)}` : "") : `:${JSON.stringify(eqnFields(e))}`;
    const k = `${fn}(${ks.join(",")})${attrs}[${g.values[e.out]!.shape}]`;
    const prev = seen.get(k);
    if (prev !== undefined) {
      rename.set(e.out, prev);
      // Keep the more meaningful of the two names (a spec name over a temporary).
      const a = g.values[prev]!;
      const b = g.values[e.out]!;
      if (isTemp(a.name) && !isTemp(b.name)) a.name = b.name;
      continue;
    }
    seen.set(k, e.out);
    eqns.push(e);
  }
  const r = (v: ValueId) => rename.get(v) ?? v;
  const out = {
    ...g,
    eqns,
    outputs: g.outputs.map((o) => ({ ...o, value: r(o.value) })),
    states: g.states.map((s) => ({ ...s, next: r(s.next) })),
  } as G;
  const bw = out as unknown as Partial<BackwardGraph>;
  if (bw.dInputs) bw.dInputs = bw.dInputs.map((d) => ({ ...d, value: r(d.value) }));
  if (bw.dStates) bw.dStates = bw.dStates.map((d) => ({ ...d, value: r(d.value) }));
  return out;
}
