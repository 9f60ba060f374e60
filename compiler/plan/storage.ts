// Storage: gives every value of the scheduled step graphs a place — a view of a buffer (with
// its row space), or a register inside one fused map — and creates the buffers. Slices are views
// of their source; a concatenation's parts are written into it in place when they are made in the
// same phase and used nowhere else; a value made and used inside one fused map lives in a
// register; a state's new value is written straight into the next block of its carry buffer.

import type { BackwardGraph } from "../autodiff.ts";
import { isValue, operandValues, produces, width, type Eqn, type Graph, type ValueId } from "../ir.ts";
import type { Names } from "./names.ts";
import type { Item, KernelSchedule, Phase } from "./schedule.ts";
import type { BufferKind, PlanBuffer, RowSpace, View } from "./types.ts";

export interface FunctionStorage {
  /** Where each stored value lives. */
  views: Map<ValueId, View>;
  /** Values that live in a register inside one map. */
  scalars: Set<ValueId>;
  /** The phase (index) that produces each local value. */
  phaseOf: Map<ValueId, number>;
  /** Slices and concat parts stored inside another value: inner -> outer. */
  nested: [ValueId, ValueId][];
}

export class Buffers {
  readonly list: PlanBuffer[] = [];
  constructor(readonly names: Names) {}

  add(name: string, kind: BufferKind, rows: RowSpace, width: number, entry: PlanBuffer["entry"], size?: number): number {
    const id = this.list.length;
    const b: PlanBuffer = { id, name: this.names.get(name), kind, rows, width, entry };
    if (size !== undefined) b.size = size;
    this.list.push(b);
    return id;
  }

  view(buf: number, value: ValueId, col = 0, width?: number, shift: 0 | 1 = 0): View {
    return { buf, col, width: width ?? this.list[buf]!.width, shift, value };
  }
}

interface Uses {
  /** Equations reading each value, and the phase index of each equation. */
  readers: Map<ValueId, Eqn[]>;
  phaseOfEqn: Map<Eqn, number>;
  itemOfEqn: Map<Eqn, Item>;
}

function uses(phases: readonly Phase[]): Uses {
  const readers = new Map<ValueId, Eqn[]>();
  const phaseOfEqn = new Map<Eqn, number>();
  const itemOfEqn = new Map<Eqn, Item>();
  phases.forEach((p, k) => {
    for (const it of p.items) {
      for (const e of it.kind === "group" ? it.eqns : [it.eqn]) {
        phaseOfEqn.set(e, k);
        itemOfEqn.set(e, it);
        for (const v of operandValues(e)) {
          const list = readers.get(v);
          if (list) list.push(e);
          else readers.set(v, [e]);
        }
      }
    }
  });
  return { readers, phaseOfEqn, itemOfEqn };
}

interface AssignInput {
  g: Graph;
  phases: Phase[];
  /** Storage decided by the caller: weights, inputs, states, seeds, forward values, outputs. */
  fixed: Map<ValueId, View>;
  /** Values that must be stored for all rows (read in another function or another phase). */
  rows: Set<ValueId>;
  /** Values that must be stored (handed out, carried). */
  keep: Set<ValueId>;
  fuse: boolean;
  /** Buffer kinds for values kept for all rows and for per-step scratch. */
  kinds: { rows: BufferKind; step: BufferKind };
  entry: "forward" | "backward";
  /** A value stored somewhere may not also be a concat part or slice written in place. */
}

/** Decides where each local value of one function lives. */
export function assignStorage(bufs: Buffers, s: AssignInput): FunctionStorage {
  const { g, phases } = s;
  const u = uses(phases);
  const views = new Map<ValueId, View>(s.fixed);
  const scalars = new Set<ValueId>();
  const phaseOf = new Map<ValueId, number>();
  const producer = new Map<ValueId, Eqn>();
  for (const [e, k] of u.phaseOfEqn) {
    if (!produces(e)) continue;
    phaseOf.set(e.out, k);
    producer.set(e.out, e);
  }
  const isLoop = (k: number | undefined) => k !== undefined && phases[k]!.role === "loop";
  // A value read in another phase than its own must be kept for all rows.
  const crossPhase = (v: ValueId) => (u.readers.get(v) ?? []).some((e) => u.phaseOfEqn.get(e) !== phaseOf.get(v));
  const rows = new Set(s.rows);
  for (const v of phaseOf.keys()) if (crossPhase(v)) rows.add(v);

  // Views: a slice reads its source in place; a concat's parts are written into it.
  const sliceOf = new Map<ValueId, { src: ValueId; lo: number }>();
  const partOf = new Map<ValueId, { whole: ValueId; off: number }>();
  for (const [v, e] of producer) {
    if (e.op === "slice" && isValue(e.args[0])) sliceOf.set(v, { src: e.args[0].v, lo: e.lo });
  }
  // A slice needed for all rows needs its source for all rows.
  for (const [v, sl] of sliceOf) {
    if (!rows.has(v)) continue;
    let r = sl.src;
    for (let x = sliceOf.get(r); x; x = sliceOf.get(r)) r = x.src;
    rows.add(r);
  }
  if (s.fuse) {
    for (const [whole, e] of producer) {
      if (e.op !== "concat") continue;
      let off = 0;
      for (const a of e.args) {
        const n = isValue(a) ? width(g, a.v) : 1;
        if (isValue(a)) {
          const v = a.v;
          const own =
            phaseOf.get(v) === phaseOf.get(whole) &&
            !views.has(v) &&
            !s.keep.has(v) &&
            rows.has(v) === rows.has(whole) &&
            !partOf.has(v) &&
            !sliceOf.has(v) &&
            !partOf.has(whole);
          if (own) partOf.set(v, { whole, off });
        }
        off += n;
      }
    }
    // Registers: made in a fused map and read only inside it.
    for (const [v, e] of producer) {
      const it = u.itemOfEqn.get(e)!;
      if (it.kind !== "group" || it.eqns.length < 2 || views.has(v) || s.keep.has(v) || rows.has(v) || partOf.has(v)) continue;
      const rs = u.readers.get(v) ?? [];
      if (rs.length > 0 && rs.every((r) => u.itemOfEqn.get(r) === it)) scalars.add(v);
    }
  }

  const resolve = (v: ValueId): View => {
    const have = views.get(v);
    if (have) return have;
    let view: View;
    const sl = sliceOf.get(v);
    const part = partOf.get(v);
    if (sl) {
      const src = resolve(sl.src);
      view = { ...src, col: src.col + sl.lo, width: width(g, v), value: v };
    } else if (part) {
      const whole = resolve(part.whole);
      view = { ...whole, col: whole.col + part.off, width: width(g, v), value: v };
    } else {
      const step = isLoop(phaseOf.get(v)) && !rows.has(v);
      const kind = step ? s.kinds.step : s.kinds.rows;
      const buf = bufs.add(g.values[v]!.name, kind, step ? "batch" : "seq", width(g, v), s.entry);
      view = bufs.view(buf, v);
    }
    views.set(v, view);
    return view;
  };
  for (const v of phaseOf.keys()) if (!scalars.has(v)) resolve(v);
  const nested: [ValueId, ValueId][] = [];
  for (const [v, sl] of sliceOf) nested.push([v, sl.src]);
  for (const [v, p] of partOf) nested.push([v, p.whole]);
  return { views, scalars, phaseOf, nested };
}

export interface KernelStorage {
  forward: FunctionStorage;
  backward: FunctionStorage;
  /** Weight buffers by parameter or pack value; gradient buffers likewise. */
  weights: Map<ValueId, number>;
  grads: Map<ValueId, number>;
  /** Forward: buffers of inputs, the active flags, states (carry) and masks, outputs. */
  inputs: { name: string; buf: number }[];
  active: number;
  states: { name: string; buf: number; mask: number }[];
  outputs: { name: string; buf: number; value: ValueId }[];
  /** Backward: seeds of outputs, carried state gradients, input gradients. */
  seeds: { name: string; buf: number }[];
  carries: { name: string; carry: number; seed: ValueId; dState: ValueId }[];
  inputGrads: { name: string; buf: number; value: ValueId }[];
}

/** Storage of both functions of a kernel. */
export function kernelStorage(bufs: Buffers, fwd: Graph, bwd: BackwardGraph, sched: KernelSchedule, optimize: boolean): KernelStorage {
  const weights = new Map<ValueId, number>();
  const grads = new Map<ValueId, number>();
  const size = (v: ValueId) => fwd.values[v]!.shape.reduce((a, b) => a * b, 1);
  for (const p of fwd.params) {
    weights.set(p.value, bufs.add(p.name, "param", "none", size(p.value), "weights", size(p.value)));
  }
  for (const p of fwd.packs) weights.set(p.value, bufs.add(fwd.values[p.value]!.name, "pack", "none", size(p.value), "weights", size(p.value)));
  for (const p of fwd.params) grads.set(p.value, bufs.add(`grad_${p.name}`, "grad", "none", size(p.value), "backward", size(p.value)));
  for (const p of fwd.packs) grads.set(p.value, bufs.add(`grad_${fwd.values[p.value]!.name}`, "grad", "none", size(p.value), "backward", size(p.value)));

  // ---- forward
  const fixed = new Map<ValueId, View>();
  for (const [v, buf] of weights) fixed.set(v, bufs.view(buf, v));
  const inputs = fwd.inputs.map((i) => {
    const buf = bufs.add(i.name, "input", "seq", width(fwd, i.value), "forward");
    fixed.set(i.value, bufs.view(buf, i.value));
    return { name: i.name, buf };
  });
  const active = bufs.add("active", "active", "seq", 1, "forward");
  fixed.set(fwd.active, bufs.view(active, fwd.active));
  const states = fwd.states.map((s) => {
    const buf = bufs.add(s.name, "state", "carry", width(fwd, s.prev), "forward");
    const mask = bufs.add(`mask_${s.name}`, "mask", "batch", width(fwd, s.prev), "forward");
    fixed.set(s.prev, bufs.view(buf, s.prev));
    fixed.set(s.next, bufs.view(buf, s.next, 0, undefined, 1));
    fixed.set(s.mask, bufs.view(mask, s.mask));
    return { name: s.name, buf, mask };
  });
  const outputs = fwd.outputs.map((o) => {
    const buf = bufs.add(`${o.name}_out`, "output", "seq", width(fwd, o.value), "forward");
    // A value that is two outputs is stored once and copied into the second.
    if (!fixed.has(o.value)) fixed.set(o.value, bufs.view(buf, o.value));
    return { name: o.name, buf, value: o.value };
  });
  const fKeep = new Set<ValueId>([...fwd.outputs.map((o) => o.value), ...fwd.states.map((s) => s.next)]);
  const forward = assignStorage(bufs, {
    g: fwd,
    phases: sched.forward,
    fixed,
    rows: new Set(sched.taped),
    keep: fKeep,
    fuse: optimize,
    kinds: { rows: "tape", step: "scratch" },
    entry: "forward",
  });

  // ---- backward
  const bFixed = new Map<ValueId, View>();
  for (const v of bwd.values) {
    if (v.role === "fwd" || v.role === "input" || v.role === "state" || v.role === "seq" || v.role === "param" || v.role === "packed") {
      const view = forward.views.get(v.id);
      if (view) bFixed.set(v.id, view);
    }
  }
  const seeds = bwd.seedOutputs.map((s) => {
    const buf = bufs.add(bwd.values[s.value]!.name, "seed", "seq", width(bwd, s.value), "backward");
    bFixed.set(s.value, bufs.view(buf, s.value));
    return { name: s.name, buf };
  });
  // A state's incoming gradient is its carry buffer, unless something outside the loop reads it:
  // then it is kept for every step, copied from the carry at the start of each step.
  const bu = uses(sched.backward);
  const loopIdx = sched.backward.findIndex((p) => p.role === "loop");
  const dInputValues = new Set(bwd.dInputs.map((d) => d.value));
  const carries = bwd.seedStates.map((s, k) => {
    const name = bwd.values[s.value]!.name;
    const outside = dInputValues.has(s.value) || (bu.readers.get(s.value) ?? []).some((e) => bu.phaseOfEqn.get(e) !== loopIdx);
    const carry = bufs.add(outside ? `${name}_carry` : name, "carryAdj", "batch", width(bwd, s.value), "backward");
    if (outside) bFixed.set(s.value, bufs.view(bufs.add(name, "adjoint", "seq", width(bwd, s.value), "backward"), s.value));
    else bFixed.set(s.value, bufs.view(carry, s.value));
    return { name: s.name, carry, seed: s.value, dState: bwd.dStates[k]!.value };
  });
  // Input gradients are written straight into the caller's arrays when made over all rows.
  const inputGrads = bwd.dInputs.map((d) => {
    const buf = bufs.add(bwd.values[d.value]!.name, "inputGrad", "seq", width(bwd, d.value), "backward");
    return { name: d.name, buf, value: d.value };
  });
  const bProducer = new Map<ValueId, number>();
  sched.backward.forEach((p, k) => {
    for (const it of p.items) for (const e of it.kind === "group" ? it.eqns : [it.eqn]) if (produces(e)) bProducer.set(e.out, k);
  });
  for (const d of inputGrads) {
    const k = bProducer.get(d.value);
    if (k !== undefined && sched.backward[k]!.role !== "loop" && !bFixed.has(d.value)) bFixed.set(d.value, bufs.view(d.buf, d.value));
  }
  const bKeep = new Set<ValueId>([...bwd.dInputs.map((d) => d.value), ...bwd.dStates.map((d) => d.value)]);
  const backward = assignStorage(bufs, {
    g: bwd,
    phases: sched.backward,
    fixed: bFixed,
    rows: new Set(),
    keep: bKeep,
    fuse: optimize,
    kinds: { rows: "adjoint", step: "scratch" },
    entry: "backward",
  });
  return { forward, backward, weights, grads, inputs, active, states, outputs, seeds, carries, inputGrads };
}
