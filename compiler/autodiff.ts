// Reverse-mode autodiff of one step. Walks the forward equations backwards, asks the rule table
// (the registry's rules for elementwise primitives, autodiff-rules.ts for structural ops) for each
// argument's contribution, and sums contributions per value. The result is a backward step graph:
// it reads forward values from the tape, takes the adjoints of the step's outputs and new states
// as seeds, yields the adjoints of the inputs and of the states carried in, and accumulates
// parameter gradients over the batch. Running it for t = T-1 .. 0 is backward through time.
// Sequence data (the active flag, state masks) gets no adjoint.

import { AdBuilder } from "./autodiff-builder.ts";
import { structuralRules, type Contribution } from "./autodiff-rules.ts";
import { count, IRError, isConst, opName, produces, type Graph, type Operand, type ValueId } from "./ir.ts";
import { elementwise } from "./primitives/elementwise.ts";

export interface BackwardGraph extends Graph {
  /** Seed values: d loss / d output k at this step, and d loss / d new state s. */
  seedOutputs: { name: string; value: ValueId }[];
  seedStates: { name: string; value: ValueId }[];
  /** Adjoints produced: of each input, and of each state as carried into the step. */
  dInputs: { name: string; value: ValueId }[];
  dStates: { name: string; value: ValueId }[];
}

export function differentiate(fwd: Graph): BackwardGraph {
  const g: BackwardGraph = {
    name: `${fwd.name}.backward`,
    kind: fwd.kind,
    dims: fwd.dims,
    values: fwd.values.map((v) => ({ ...v, shape: [...v.shape], role: v.role === "local" ? "fwd" : v.role })),
    inputs: [],
    states: fwd.states,
    params: fwd.params,
    packs: fwd.packs,
    active: fwd.active,
    eqns: [],
    outputs: [],
    seedOutputs: [],
    seedStates: [],
    dInputs: [],
    dStates: [],
  };
  const b = new AdBuilder(g);
  const parts = new Map<ValueId, Operand[]>();
  const contribute = (v: ValueId, c: Operand) => {
    if (fwd.values[v]!.role === "seq") return;
    const list = parts.get(v);
    if (list) list.push(c);
    else parts.set(v, [c]);
  };
  const nameOf = (v: ValueId) => `d_${fwd.values[v]!.name}`;

  for (const o of fwd.outputs) {
    const s = b.value(`d_${o.name}_out`, [...fwd.values[o.value]!.shape], "seed");
    g.seedOutputs.push({ name: o.name, value: s });
    contribute(o.value, { v: s });
  }
  for (const st of fwd.states) {
    const s = b.value(`d_${st.name}_next`, [...fwd.values[st.next]!.shape], "seed");
    g.seedStates.push({ name: st.name, value: s });
    contribute(st.next, { v: s });
  }

  for (let i = fwd.eqns.length - 1; i >= 0; i--) {
    const e = fwd.eqns[i]!;
    if (!produces(e)) continue;
    const ps = parts.get(e.out);
    if (!ps) continue;
    const dname = nameOf(e.out);
    const dy: Operand = { v: b.total(ps, dname) };
    b.context(dname);
    const first = g.eqns.length;
    let cs: Contribution[];
    if (e.op === "ew") {
      const prim = elementwise(e.fn);
      if (!prim?.grad) throw new IRError(`autodiff: no rule for ${e.fn}`);
      cs = prim.grad({ dy, y: { v: e.out }, x: e.args, attrs: e.attrs ?? {} }, b);
    } else {
      const rule = structuralRules[e.op];
      if (!rule) throw new IRError(`autodiff: no rule for ${opName(e)}`);
      cs = rule({ dy, y: { v: e.out }, x: e.args, eqn: e }, b);
    }
    e.args.forEach((arg, k) => {
      const c = cs[k];
      if (isConst(arg) || c === undefined || c === null) return;
      if ("outer" in c) {
        const role = fwd.values[arg.v]!.role;
        if (role !== "param" && role !== "packed") throw new IRError(`autodiff: outer product into non-parameter ${fwd.values[arg.v]!.name}`);
        g.eqns.push({ op: "acc_outer", param: arg.v, args: c.outer });
        return;
      }
      // A [1] operand broadcast over a vector or matrix receives the sum of its adjoint (also when
      // that is a [1, 1] matrix: the sum gives the operand's own shape).
      const want = fwd.values[arg.v]!.shape;
      const got = b.shape(c);
      if (count(want) === 1 && (count(got) !== 1 || got.length > Math.max(want.length, 1))) contribute(arg.v, b.sum(c));
      else contribute(arg.v, c);
    });
    // Tie the adjoint equations to the spec line of the equation they differentiate.
    for (let k = first; k < g.eqns.length; k++) {
      const d = g.eqns[k]!;
      d.span ??= e.span;
      if (e.also && !d.also) d.also = e.also;
    }
  }

  for (const p of fwd.params) {
    const ps = parts.get(p.value);
    if (ps) g.eqns.push({ op: "acc", param: p.value, args: [{ v: b.total(ps, nameOf(p.value)) }] });
  }
  const adjoint = (v: ValueId): ValueId => {
    const ps = parts.get(v);
    return ps ? b.total(ps, nameOf(v)) : b.zeros([...fwd.values[v]!.shape], nameOf(v));
  };
  for (const inp of fwd.inputs) g.dInputs.push({ name: inp.name, value: adjoint(inp.value) });
  for (const st of fwd.states) g.dStates.push({ name: st.name, value: adjoint(st.prev) });
  return g;
}
