// Scheduling: decides, for the forward and the backward step graphs, which equations run once
// over all T·B rows outside the time loop (forward: what depends only on inputs, the active flags
// and parameters; backward: what the state gradients do not need, such as weight gradients and
// input gradients) and which run at every step; and orders each phase so that elementwise
// equations of one width sit together and become one fused map.

import type { BackwardGraph } from "../autodiff.ts";
import { operandValues, produces, width, type Eqn, type Graph, type ValueId } from "../ir.ts";

/** Elementwise equations fuse into maps; a broadcast is an elementwise copy. */
export const isElementwise = (e: Eqn): boolean => e.op === "ew" || e.op === "bcast";

export type Item = { kind: "eqn"; eqn: Eqn } | { kind: "group"; eqns: Eqn[]; width: number };

export interface Phase {
  /** hoisted/deferred/inputs run over all rows at once; loop runs at every step. */
  role: "hoisted" | "loop" | "deferred" | "inputs";
  items: Item[];
}

export interface KernelSchedule {
  forward: Phase[];
  backward: Phase[];
  /** Forward values the backward pass reads (kept on the tape for every step). */
  taped: Set<ValueId>;
}

const outWidth = (g: Graph, e: Eqn) => (produces(e) ? width(g, e.out) : -1);

/** Orders a phase so that runs of elementwise equations of one width are adjacent (any
 *  topological order is valid), then cuts it into items. Without `fuse` every equation is an
 *  item of its own, in the graph's order. */
function order(g: Graph, eqns: Eqn[], defined: ReadonlySet<ValueId>, fuse: boolean): Item[] {
  if (!fuse) return eqns.map((e) => (isElementwise(e) ? { kind: "group", eqns: [e], width: outWidth(g, e) } : { kind: "eqn", eqn: e }));
  const pending = [...eqns];
  const have = new Set(defined);
  const ready = (e: Eqn) => operandValues(e).every((v) => have.has(v));
  const out: Eqn[] = [];
  let size = -1;
  while (pending.length) {
    // Continue the current elementwise run if possible, else take the first ready equation that
    // is not elementwise, else the first ready one.
    let idx = pending.findIndex((e) => isElementwise(e) && ready(e) && outWidth(g, e) === size);
    if (idx < 0) idx = pending.findIndex((e) => !isElementwise(e) && ready(e));
    if (idx < 0) idx = pending.findIndex(ready);
    if (idx < 0) throw new Error("schedule: cyclic or undefined operands");
    const e = pending.splice(idx, 1)[0]!;
    out.push(e);
    if (produces(e)) have.add(e.out);
    size = isElementwise(e) ? outWidth(g, e) : e.op === "slice" ? size : -1;
  }
  const items: Item[] = [];
  for (const e of out) {
    const last = items[items.length - 1];
    if (isElementwise(e) && last?.kind === "group" && last.width === outWidth(g, e)) last.eqns.push(e);
    else if (isElementwise(e)) items.push({ kind: "group", eqns: [e], width: outWidth(g, e) });
    else items.push({ kind: "eqn", eqn: e });
  }
  return sink(items);
}

/** Moves an elementwise equation into the later map that reads it, when nothing before that map
 *  does: it then runs where its result is used (in a register) instead of being stored by an
 *  earlier map and loaded again (c_read = c * mask, read only by the gates' map). */
function sink(items: Item[]): Item[] {
  const itemOf = new Map<Eqn, number>();
  items.forEach((it, k) => (it.kind === "group" ? it.eqns : [it.eqn]).forEach((e) => itemOf.set(e, k)));
  const readersOf = (v: ValueId) => [...itemOf.keys()].filter((e) => operandValues(e).includes(v));
  for (let k = items.length - 1; k >= 0; k--) {
    const it = items[k]!;
    if (it.kind !== "group") continue;
    for (const e of [...it.eqns].reverse()) {
      if (!produces(e)) continue;
      const rs = readersOf(e.out);
      if (rs.length === 0) continue;
      const first = Math.min(...rs.map((r) => itemOf.get(r)!));
      const target = items[first]!;
      if (first <= k || target.kind !== "group" || target.width !== it.width) continue;
      it.eqns.splice(it.eqns.indexOf(e), 1);
      target.eqns.unshift(e);
      itemOf.set(e, first);
    }
  }
  return items.filter((it) => it.kind !== "group" || it.eqns.length > 0);
}

const outs = (es: readonly Eqn[]) => es.filter(produces).map((e) => e.out);

/** `optimize` enables hoisting, deferral and fusion; without it every equation runs per step as
 *  an op of its own. */
export function scheduleKernel(fwd: Graph, bwd: BackwardGraph, optimize: boolean): KernelSchedule {
  const taped = new Set<ValueId>();
  for (const e of bwd.eqns) {
    for (const v of operandValues(e)) {
      const role = bwd.values[v]!.role;
      if (role === "fwd" || role === "input" || role === "state" || role === "seq") taped.add(v);
    }
  }

  // ---- forward: hoist what depends only on inputs, the active flags and parameters
  const fixed = new Set<ValueId>(fwd.values.filter((v) => v.role !== "local").map((v) => v.id));
  const staticVals = new Set<ValueId>([fwd.active]);
  for (const v of fwd.values) if (v.role === "input" || v.role === "param" || v.role === "packed") staticVals.add(v.id);
  const hoisted: Eqn[] = [];
  const loop: Eqn[] = [];
  for (const e of fwd.eqns) {
    if (optimize && produces(e) && operandValues(e).every((v) => staticVals.has(v))) {
      hoisted.push(e);
      staticVals.add(e.out);
    } else loop.push(e);
  }
  const forward: Phase[] = [
    { role: "hoisted", items: order(fwd, hoisted, fixed, optimize) },
    { role: "loop", items: order(fwd, loop, new Set([...fixed, ...outs(hoisted)]), optimize) },
  ];

  // ---- backward: the loop computes only what the state gradients need (and what reads a mask,
  // which exists per step only); the rest is deferred
  const needed = new Set<ValueId>(bwd.dStates.map((d) => d.value));
  const masks = new Set<ValueId>(bwd.states.map((s) => s.mask));
  const inLoop = new Set<Eqn>();
  for (let i = bwd.eqns.length - 1; i >= 0; i--) {
    const e = bwd.eqns[i]!;
    if (!optimize || (produces(e) && needed.has(e.out)) || operandValues(e).some((v) => masks.has(v))) {
      inLoop.add(e);
      for (const v of operandValues(e)) needed.add(v);
    }
  }
  // Of the rest, what only the input gradients need runs last, and only when they are asked for.
  const forSinks = new Set<ValueId>();
  const inDeferred = new Set<Eqn>();
  for (let i = bwd.eqns.length - 1; i >= 0; i--) {
    const e = bwd.eqns[i]!;
    if (inLoop.has(e) || (produces(e) && !forSinks.has(e.out))) continue;
    inDeferred.add(e);
    for (const v of operandValues(e)) forSinks.add(v);
  }
  const bLoop = bwd.eqns.filter((e) => inLoop.has(e));
  const bDeferred = bwd.eqns.filter((e) => inDeferred.has(e));
  const bInputs = bwd.eqns.filter((e) => !inLoop.has(e) && !inDeferred.has(e));
  const bFixed = new Set<ValueId>(bwd.values.filter((v) => v.role !== "local").map((v) => v.id));
  const backward: Phase[] = [
    { role: "loop", items: order(bwd, bLoop, bFixed, optimize) },
    { role: "deferred", items: order(bwd, bDeferred, new Set([...bFixed, ...outs(bLoop)]), optimize) },
    { role: "inputs", items: order(bwd, bInputs, new Set([...bFixed, ...outs(bLoop), ...outs(bDeferred)]), optimize) },
  ];
  return { forward, backward, taped };
}
