// Scheduling and storage: decides, for the forward and the backward step graphs, which equations
// run once over all T·B rows outside the time loop (forward: what depends only on inputs and
// parameters; backward: what the state adjoints do not need, such as weight gradients and input
// gradients) and which run per step; orders each phase so elementwise equations of one size sit
// together and become one loop; and gives each value its storage: a row of a [T·B, n] buffer, a row
// of a per-step [B, n] buffer, a view into another value (slices, concat parts), or a scalar that
// lives only inside one fused loop.

import type { BackwardGraph } from "./autodiff.ts";
import { ELEMENTWISE_BINARY, ELEMENTWISE_UNARY, isValue, operandValues, width, type Eqn, type Graph, type ValueId } from "./ir.ts";

export type RowKind = "rows" | "step" | "none";

/** Where a value lives: row r of `buffer` starts at r * stride + offset ("none": no rows, params). */
export interface Storage {
  buffer: ValueId;
  row: RowKind;
  stride: number;
  offset: number;
}

export type Item = { kind: "eqn"; eqn: Eqn } | { kind: "group"; eqns: Eqn[]; size: number };

export interface Phase {
  kind: "hoisted" | "loop" | "deferred" | "inputs";
  items: Item[];
}

export interface FunctionSchedule {
  phases: Phase[];
  /** Storage of every value that has one (group-local scalars have none). */
  storage: Map<ValueId, Storage>;
  /** Values computed and used inside one fused loop only. */
  scalars: Set<ValueId>;
  /** Buffers to allocate: the value whose buffer it is, rows kind and row width. */
  buffers: { value: ValueId; row: "rows" | "step"; width: number }[];
}

const ELEMENTWISE = new Set<string>([...ELEMENTWISE_UNARY, ...ELEMENTWISE_BINARY, "clip", "between"]);
export const isElementwise = (e: Eqn) => ELEMENTWISE.has(e.op);


/** Orders a phase so that runs of elementwise equations of one size are adjacent (any topological
 *  order is valid), then cuts it into items. */
function order(g: Graph, eqns: Eqn[], defined: Set<ValueId>, fuse: boolean): Item[] {
  const pending = [...eqns];
  const have = new Set(defined);
  const ready = (e: Eqn) => operandValues(e).every((v) => have.has(v));
  const out: Eqn[] = [];
  let size = -1;
  while (pending.length) {
    let idx = -1;
    if (fuse) {
      // Continue the current elementwise run if possible, else take the first ready equation that
      // is not elementwise, else the first ready one.
      idx = pending.findIndex((e) => isElementwise(e) && ready(e) && width(g, (e as { out: ValueId }).out) === size);
      if (idx < 0) idx = pending.findIndex((e) => !isElementwise(e) && ready(e));
    }
    if (idx < 0) idx = pending.findIndex(ready);
    if (idx < 0) throw new Error("schedule: cyclic or undefined operands");
    const e = pending.splice(idx, 1)[0]!;
    out.push(e);
    if ("out" in e) have.add(e.out);
    size = isElementwise(e) ? width(g, (e as { out: ValueId }).out) : e.op === "slice" ? size : -1;
  }
  const items: Item[] = [];
  for (const e of out) {
    const last = items[items.length - 1];
    if (fuse && isElementwise(e) && last?.kind === "group" && last.size === width(g, (e as { out: ValueId }).out)) last.eqns.push(e);
    else if (isElementwise(e)) items.push({ kind: "group", eqns: [e], size: width(g, (e as { out: ValueId }).out) });
    else items.push({ kind: "eqn", eqn: e });
  }
  return items;
}

interface StorageInput {
  g: Graph;
  phases: Phase[];
  /** Values that must live in [T·B, n] buffers (read by another function or another phase). */
  rows: Set<ValueId>;
  /** Values that must be stored (outputs, new states, adjoints handed out). */
  keep: Set<ValueId>;
  /** Storage decided outside (inputs, states, seeds, params, tape values). */
  fixed: Map<ValueId, Storage>;
  fuse: boolean;
}

function assignStorage(s: StorageInput): FunctionSchedule {
  const { g, phases } = s;
  const storage = new Map<ValueId, Storage>(s.fixed);
  const scalars = new Set<ValueId>();
  const buffers: FunctionSchedule["buffers"] = [];
  const phaseOf = new Map<ValueId, Phase>();
  const itemOf = new Map<ValueId, Item>();
  const uses = new Map<ValueId, Eqn[]>();
  for (const p of phases) {
    for (const it of p.items) {
      const eqns = it.kind === "group" ? it.eqns : [it.eqn];
      for (const e of eqns) {
        if ("out" in e) {
          phaseOf.set(e.out, p);
          itemOf.set(e.out, it);
        }
        for (const v of operandValues(e)) {
          const list = uses.get(v);
          if (list) list.push(e);
          else uses.set(v, [e]);
        }
      }
    }
  }
  // Sinks have no out: a value a sink reads in another phase must persist; find the sinks' phases.
  const sinkPhase = new Map<Eqn, Phase>();
  for (const p of phases) for (const it of p.items) if (it.kind === "eqn" && !("out" in it.eqn)) sinkPhase.set(it.eqn, p);
  const crossPhase = (v: ValueId) =>
    (uses.get(v) ?? []).some((e) => ("out" in e ? phaseOf.get(e.out) : sinkPhase.get(e)) !== phaseOf.get(v));

  // Views: a slice reads its source in place; a concat's parts are written into its buffer.
  const sliceOf = new Map<ValueId, { src: ValueId; lo: number }>();
  const partOf = new Map<ValueId, { whole: ValueId; off: number }>();
  for (const p of phases) {
    for (const it of p.items) {
      if (it.kind !== "eqn") continue;
      const e = it.eqn;
      if (e.op === "slice" && isValue(e.args[0])) sliceOf.set(e.out, { src: e.args[0].v, lo: e.lo });
      if (e.op === "concat" && s.fuse) {
        let off = 0;
        for (const a of e.args) {
          const n = isValue(a) ? width(g, a.v) : 1;
          // A part is written in place only when it is computed in the concat's own phase: a part
          // hoisted over all T·B rows cannot live in a concat that holds one step's rows.
          const own = isValue(a) && phaseOf.get(a.v) === p && !storage.has(a.v) && !s.keep.has(a.v) && !s.rows.has(a.v);
          if (own && (uses.get(a.v) ?? []).length === 1 && !partOf.has(a.v) && !sliceOf.has(a.v)) {
            partOf.set(a.v, { whole: e.out, off });
          }
          off += n;
        }
      }
    }
  }

  // Scalars: produced in a fused group and used only inside it.
  for (const [v, it] of itemOf) {
    if (it.kind !== "group" || it.eqns.length < 2 || storage.has(v) || s.keep.has(v) || s.rows.has(v) || partOf.has(v)) continue;
    const us = uses.get(v) ?? [];
    if (us.length > 0 && us.every((e) => "out" in e && itemOf.get(e.out) === it)) scalars.add(v);
  }

  const resolve = (v: ValueId): Storage => {
    const have = storage.get(v);
    if (have) return have;
    let st: Storage;
    const sl = sliceOf.get(v);
    const part = partOf.get(v);
    if (sl) {
      const src = resolve(sl.src);
      st = { ...src, offset: src.offset + sl.lo };
    } else if (part) {
      const whole = resolve(part.whole);
      st = { ...whole, offset: whole.offset + part.off };
    } else {
      const p = phaseOf.get(v);
      const row: "rows" | "step" = s.rows.has(v) || p?.kind !== "loop" || crossPhase(v) ? "rows" : "step";
      st = { buffer: v, row, stride: width(g, v), offset: 0 };
      buffers.push({ value: v, row, width: width(g, v) });
    }
    storage.set(v, st);
    return st;
  };
  // A view of a per-step value must not outlive the step: promote the source when the view is
  // needed across phases. A source whose storage is fixed per step (a state nobody else tapes, a
  // state adjoint's seed) cannot be promoted: the slice becomes a copy with rows of its own.
  for (const [v, sl] of sliceOf) {
    if (!s.rows.has(v) && !crossPhase(v)) continue;
    const root = rootOf(sl.src, sliceOf);
    if (s.fixed.get(root)?.row === "step") sliceOf.delete(v);
    else s.rows.add(root);
  }
  for (const [v] of phaseOf) if (!scalars.has(v)) resolve(v);
  return { phases, storage, scalars, buffers };
}

function rootOf(v: ValueId, sliceOf: Map<ValueId, { src: ValueId }>): ValueId {
  let r = v;
  for (let s = sliceOf.get(r); s; s = sliceOf.get(r)) r = s.src;
  return r;
}

const paramStorage = (v: ValueId): Storage => ({ buffer: v, row: "none", stride: 0, offset: 0 });
const rowsStorage = (g: Graph, v: ValueId): Storage => ({ buffer: v, row: "rows", stride: width(g, v), offset: 0 });
const stepStorage = (g: Graph, v: ValueId): Storage => ({ buffer: v, row: "step", stride: width(g, v), offset: 0 });

export interface KernelSchedule {
  forward: FunctionSchedule;
  backward: FunctionSchedule;
  /** Forward values the backward pass reads (stored on the tape for every step). */
  taped: Set<ValueId>;
}

/** `optimize` enables hoisting, deferral and loop fusion; without it every equation runs per step
 *  in its own loop. */
export function scheduleKernel(fwd: Graph, bwd: BackwardGraph, optimize: boolean): KernelSchedule {
  const taped = new Set<ValueId>();
  for (const e of bwd.eqns) {
    for (const v of operandValues(e)) {
      const role = bwd.values[v]!.role;
      if (role === "fwd" || role === "input" || role === "state") taped.add(v);
    }
  }
  for (const i of fwd.inputs) taped.add(i.value);

  // ---- forward: hoist what depends only on inputs and parameters
  const staticVals = new Set<ValueId>();
  for (const v of fwd.values) if (v.role === "input" || v.role === "param" || v.role === "packed") staticVals.add(v.id);
  const hoisted: Eqn[] = [];
  const loop: Eqn[] = [];
  for (const e of fwd.eqns) {
    if (optimize && "out" in e && operandValues(e).every((v) => staticVals.has(v))) {
      hoisted.push(e);
      staticVals.add(e.out);
    } else loop.push(e);
  }
  const fFixed = new Map<ValueId, Storage>();
  const base = new Set<ValueId>();
  for (const v of fwd.values) {
    if (v.role === "param" || v.role === "packed") fFixed.set(v.id, paramStorage(v.id));
    if (v.role === "input") fFixed.set(v.id, rowsStorage(fwd, v.id));
    if (v.role === "state") fFixed.set(v.id, taped.has(v.id) ? rowsStorage(fwd, v.id) : stepStorage(fwd, v.id));
    if (v.role !== "local") base.add(v.id);
  }
  const fKeep = new Set<ValueId>([...fwd.outputs.map((o) => o.value), ...fwd.states.map((s) => s.next)]);
  const fPhases: Phase[] = [
    { kind: "hoisted", items: order(fwd, hoisted, base, optimize) },
    { kind: "loop", items: order(fwd, loop, new Set([...base, ...hoisted.map((e) => (e as { out: ValueId }).out)]), optimize) },
  ];
  const forward = assignStorage({ g: fwd, phases: fPhases, rows: new Set(taped), keep: fKeep, fixed: fFixed, fuse: optimize });

  // ---- backward: the loop computes only what the state adjoints need; the rest is deferred
  const needed = new Set<ValueId>(bwd.dStates.map((d) => d.value));
  const inLoop = new Set<Eqn>();
  for (let i = bwd.eqns.length - 1; i >= 0; i--) {
    const e = bwd.eqns[i]!;
    if (!optimize || ("out" in e && needed.has(e.out))) {
      inLoop.add(e);
      for (const v of operandValues(e)) needed.add(v);
    }
  }
  const bFixed = new Map<ValueId, Storage>();
  const bBase = new Set<ValueId>();
  for (const v of bwd.values) {
    if (v.role === "local") continue;
    bBase.add(v.id);
    if (v.role === "param" || v.role === "packed") bFixed.set(v.id, paramStorage(v.id));
    else if (v.role === "seed") {
      const isState = bwd.seedStates.some((s) => s.value === v.id);
      bFixed.set(v.id, isState && optimize ? stepStorage(bwd, v.id) : rowsStorage(bwd, v.id));
    } else bFixed.set(v.id, forward.storage.get(v.id) ?? rowsStorage(bwd, v.id));
  }
  // A state seed read after the loop (by a deferred equation, or handed out as an input's
  // gradient, as in `c' = h + x`) needs its rows kept.
  for (const d of bwd.dInputs) if (bwd.values[d.value]!.role === "seed") bFixed.set(d.value, rowsStorage(bwd, d.value));
  for (const e of bwd.eqns) {
    if (inLoop.has(e)) continue;
    for (const v of operandValues(e)) {
      if (bwd.values[v]!.role === "seed") bFixed.set(v, rowsStorage(bwd, v));
    }
  }
  // Of the rest, what only the input gradients need runs last, and only when they are asked for.
  const forSinks = new Set<ValueId>();
  const inDeferred = new Set<Eqn>();
  for (let i = bwd.eqns.length - 1; i >= 0; i--) {
    const e = bwd.eqns[i]!;
    if (inLoop.has(e) || ("out" in e && !forSinks.has(e.out))) continue;
    inDeferred.add(e);
    for (const v of operandValues(e)) forSinks.add(v);
  }
  const bLoop = bwd.eqns.filter((e) => inLoop.has(e));
  const bDeferred = bwd.eqns.filter((e) => inDeferred.has(e));
  const bInputs = bwd.eqns.filter((e) => !inLoop.has(e) && !inDeferred.has(e));
  const outs = (es: Eqn[]) => es.filter((e) => "out" in e).map((e) => (e as { out: ValueId }).out);
  const bPhases: Phase[] = [
    { kind: "loop", items: order(bwd, bLoop, bBase, optimize) },
    { kind: "deferred", items: order(bwd, bDeferred, new Set([...bBase, ...outs(bLoop)]), optimize) },
    { kind: "inputs", items: order(bwd, bInputs, new Set([...bBase, ...outs(bLoop), ...outs(bDeferred)]), optimize) },
  ];
  const bKeep = new Set<ValueId>([...bwd.dInputs.map((d) => d.value), ...bwd.dStates.map((d) => d.value)]);
  const bRows = new Set<ValueId>(bwd.dInputs.map((d) => d.value));
  const backward = assignStorage({ g: bwd, phases: bPhases, rows: bRows, keep: bKeep, fixed: bFixed, fuse: optimize });
  return { forward, backward, taped };
}
