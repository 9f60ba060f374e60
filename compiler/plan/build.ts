// Builds the kernel plan from the scheduled step graphs and their storage: every phase becomes a
// stage of ops over views (GEMMs, fused maps, reductions, copies), the backward loop gets its
// carries, and the weight layout puts each pack's parts next to each other in the module's own
// memory. This is the last place where decisions are made; printers only print the result.

import type { KernelMeta } from "../../abi/kernel.ts";
import type { Span } from "../../grammar/source.ts";
import type { BackwardGraph } from "../autodiff.ts";
import { isConst, produces, width, type Eqn, type Graph, type ValueId } from "../ir.ts";
import { structuralOfIr, type StructOpName } from "../primitives/structural.ts";
import { Names } from "./names.ts";
import { scheduleKernel, type Phase } from "./schedule.ts";
import { Buffers, kernelStorage, type FunctionStorage, type KernelStorage } from "./storage.ts";
import type { Arg, Plan, PlanOp, Stage, Term, View, WeightLayout } from "./types.ts";

export interface PlanOptions {
  optimize: boolean;
  fastMath: boolean;
  /** A spec line for a comment: "lstm.cell:12  i = sigmoid(...)" (as it is: each backend escapes it for its comments). */
  describe: (span: Span | undefined) => string | undefined;
  /** Identifiers no spec name may become (PlanTarget.reserved). */
  reserved: ReadonlySet<string>;
}

const sameView = (a: View, b: View) => a.buf === b.buf && a.col === b.col && a.width === b.width && a.shift === b.shift;

class StageBuilder {
  readonly ops: PlanOp[] = [];
  constructor(
    private readonly g: Graph,
    private readonly st: FunctionStorage,
    private readonly k: KernelStorage,
    private readonly names: Names,
    private readonly o: PlanOptions,
    private readonly loop: boolean,
    private readonly slots: Map<string, number>,
  ) {}

  view(v: ValueId): View {
    const view = this.st.views.get(v);
    if (!view) throw new Error(`plan: ${this.g.values[v]!.name} has no storage`);
    return view;
  }

  lines(es: readonly Eqn[]): string[] {
    const out: string[] = [];
    for (const e of es) {
      for (const span of [e.span, ...(e.also ?? [])]) {
        const d = this.o.describe(span);
        if (d !== undefined && !out.includes(d)) out.push(d);
      }
    }
    return out;
  }

  private slot(buf: number, form: string): number | null {
    if (!this.loop || !this.o.optimize) return null;
    const key = `${buf}:${form}`;
    let s = this.slots.get(key);
    if (s === undefined) this.slots.set(key, (s = this.slots.size));
    return s;
  }

  /** Elementwise equations of one width as one map; values read only inside it stay in registers. */
  group(eqns: readonly Eqn[], n: number): void {
    const names = this.names.scope();
    const terms: Term[] = [];
    const termOf = new Map<ValueId, number>();
    const stores: { term: number; view: View }[] = [];
    const arg = (o: Eqn["args"][number]): Arg => {
      if (isConst(o)) return { c: o.c };
      const have = termOf.get(o.v);
      if (have !== undefined) return { t: have };
      const view = this.view(o.v);
      terms.push({ kind: "load", view, broadcast: view.width === 1 && n > 1, name: names.get(`_${this.g.values[o.v]!.name}`) });
      termOf.set(o.v, terms.length - 1);
      return { t: terms.length - 1 };
    };
    for (const e of eqns) {
      if (!produces(e)) throw new Error("plan: a sink in a map");
      const fn = e.op === "ew" ? e.fn : "copy";
      const args = e.args.map(arg);
      const term: Term = { kind: "fn", fn, args, value: e.out, name: names.get(`_${this.g.values[e.out]!.name}`) };
      if (e.op === "ew" && e.attrs) term.attrs = e.attrs;
      terms.push(term);
      termOf.set(e.out, terms.length - 1);
      if (!this.st.scalars.has(e.out)) stores.push({ term: terms.length - 1, view: this.view(e.out) });
    }
    this.ops.push({ op: "map", width: n, terms, stores, lines: this.lines(eqns) });
  }

  /** Copies `from` into the storage of v when v is not already there. */
  place(v: ValueId, from: View, lines: string[]): void {
    const to = this.view(v);
    if (!sameView(from, to)) this.ops.push({ op: "copy", src: from, dst: to, lines });
  }

  /** A structural primitive's op (compiler/primitives/structural.ts), attributes from its entry. */
  private struct(e: Eqn, dst: View | { buf: number }, lines: string[]): void {
    const prim = structuralOfIr(e.op)!;
    const args = e.args.map((a) => (a as { v: ValueId }).v);
    const attrs = prim.attrs(e as unknown as Record<string, unknown>, args.map((v) => this.g.values[v]!.shape));
    this.ops.push({ op: prim.op as StructOpName, src: args.map((v) => this.view(v)), dst, attrs, lines });
  }

  eqn(e: Eqn, also: readonly Eqn[]): void {
    const g = this.g;
    const lines = this.lines([e, ...also]);
    // A structural primitive's result: one plan op named after its registry entry.
    if (produces(e) && structuralOfIr(e.op)) return this.struct(e, this.view(e.out), lines);
    switch (e.op) {
      case "matvec":
      case "matvecT": {
        const [W, x] = e.args as [{ v: ValueId }, { v: ValueId }];
        const [m, n] = g.values[W.v]!.shape as [number, number];
        const buf = this.k.weights.get(W.v)!;
        const form = e.op === "matvec" ? "xwT" : "xw";
        const [N, K] = e.op === "matvec" ? [m, n] : [n, m];
        const name = this.names.get(`${g.values[e.out]!.name}_gemm`);
        this.ops.push({ op: "gemm", name, form, n: N, k: K, a: this.view(x.v), w: { buf }, c: this.view(e.out), accumulate: false, slot: this.slot(buf, form), lines });
        return;
      }
      case "acc_outer": {
        const [u, x] = e.args as [{ v: ValueId }, { v: ValueId }];
        const [N, K] = g.values[e.param]!.shape as [number, number];
        const name = this.names.get(`d_${g.values[e.param]!.name}_gemm`);
        this.ops.push({ op: "gemm", name, form: "dw", n: N, k: K, a: this.view(u.v), w: this.view(x.v), c: { buf: this.k.grads.get(e.param)! }, accumulate: true, slot: null, lines });
        return;
      }
      case "acc":
        return this.struct(e, { buf: this.k.grads.get(e.param)! }, lines);
      case "concat": {
        let off = 0;
        const whole = this.view(e.out);
        for (const a of e.args) {
          const n = isConst(a) ? 1 : width(g, a.v);
          const dst: View = { ...whole, col: whole.col + off, width: n };
          if (isConst(a)) this.ops.push({ op: "fill", dst, value: a.c, lines });
          else if (!sameView(this.view(a.v), dst)) this.ops.push({ op: "copy", src: this.view(a.v), dst, lines });
          off += n;
        }
        return;
      }
      case "slice": {
        const src = this.view((e.args[0] as { v: ValueId }).v);
        this.place(e.out, { ...src, col: src.col + e.lo, width: width(g, e.out) }, lines);
        return;
      }
      case "pad": {
        const x = (e.args[0] as { v: ValueId }).v;
        const out = this.view(e.out);
        this.ops.push({ op: "fill", dst: out, value: 0, lines });
        this.ops.push({ op: "copy", src: this.view(x), dst: { ...out, col: out.col + e.lo, width: width(g, x) }, lines });
        return;
      }
      case "row":
        this.ops.push({ op: e.fn, src: this.view((e.args[0] as { v: ValueId }).v), dst: this.view(e.out), reverse: e.reverse ?? false, lines });
        return;
      case "zeros":
        this.ops.push({ op: "fill", dst: this.view(e.out), value: 0, lines });
        return;
      default:
        throw new Error(`plan: ${e.op} outside a map`);
    }
  }
}

function stage(g: Graph, phase: Phase, st: FunctionStorage, k: KernelStorage, names: Names, o: PlanOptions, slots: Map<string, number>): StageBuilder {
  const loop = phase.role === "loop";
  const b = new StageBuilder(g, st, k, names, o, loop, slots);
  // The slices of a fused product name the gates it computes, for its comment.
  const slicesOf = new Map<ValueId, Eqn[]>();
  for (const it of phase.items) {
    for (const e of it.kind === "group" ? it.eqns : [it.eqn]) {
      if (e.op === "slice" && !isConst(e.args[0])) slicesOf.set(e.args[0].v, [...(slicesOf.get(e.args[0].v) ?? []), e]);
    }
  }
  for (const it of phase.items) {
    if (it.kind === "group") b.group(it.eqns, it.width);
    else b.eqn(it.eqn, produces(it.eqn) ? (slicesOf.get(it.eqn.out) ?? []) : []);
  }
  return b;
}

/** Params in one buffer with each pack's parts contiguous (a param in two packs sits with the
 *  first; the second is stacked by copying). */
function weightLayout(fwd: Graph, k: KernelStorage): WeightLayout {
  const size = (v: ValueId) => fwd.values[v]!.shape.reduce((a, b) => a * b, 1);
  const offsetOf = new Map<ValueId, number>();
  let at = 0;
  const packs: WeightLayout["packs"] = [];
  for (const p of fwd.packs) {
    const free = p.parts.every((q) => !offsetOf.has(q)) && new Set(p.parts).size === p.parts.length;
    const start = at;
    let off = 0;
    const parts = p.parts.map((q) => {
      const part = { param: k.weights.get(q)!, offset: off };
      if (free) {
        offsetOf.set(q, at);
        at += size(q);
      }
      off += size(q);
      return part;
    });
    packs.push({ buf: k.weights.get(p.value)!, offset: free ? start : null, size: size(p.value), parts });
  }
  for (const p of fwd.params) {
    if (offsetOf.has(p.value)) continue;
    offsetOf.set(p.value, at);
    at += size(p.value);
  }
  const params = fwd.params.map((p) => ({ name: p.name, buf: k.weights.get(p.value)!, offset: offsetOf.get(p.value)!, size: size(p.value) }));
  return { size: at, params, packs };
}

export function buildPlan(meta: KernelMeta, fwd: Graph, bwd: BackwardGraph, o: PlanOptions): Plan {
  const names = new Names(o.reserved);
  const sched = scheduleKernel(fwd, bwd, o.optimize);
  const bufs = new Buffers(names);
  const k = kernelStorage(bufs, fwd, bwd, sched, o.optimize);
  const slots = new Map<string, number>();

  // ---- forward
  const fStages: Stage[] = [];
  sched.forward.forEach((phase, i) => {
    const b = stage(fwd, phase, k.forward, k, names, o, slots);
    // An output that is also an earlier output is copied into its own buffer where it is made.
    for (const out of k.outputs) {
      if (k.forward.phaseOf.get(out.value) !== i) continue;
      const own = bufs.view(out.buf, out.value);
      if (!sameView(b.view(out.value), own)) b.ops.push({ op: "copy", src: b.view(out.value), dst: own, lines: [] });
    }
    if (phase.role === "hoisted") {
      if (b.ops.length) fStages.push({ kind: "all", title: "what depends only on the inputs and parameters, for every step at once", ops: b.ops });
    } else fStages.push({ kind: "loop", title: "one step at a time", ops: b.ops });
  });

  // ---- backward
  const bStages: Stage[] = [];
  const loopIdx = sched.backward.findIndex((p) => p.role === "loop");
  sched.backward.forEach((phase, i) => {
    const b = stage(bwd, phase, k.backward, k, names, o, slots);
    // Input gradients made here but stored elsewhere are copied into the caller's arrays; those
    // that are an incoming gradient as they are (c' = h + x) are copied with the other inputs'.
    for (const d of k.inputGrads) {
      const made = k.backward.phaseOf.get(d.value);
      const seed = bwd.values[d.value]!.role === "seed";
      if (made !== i && !(seed && phase.role === "inputs")) continue;
      const own = bufs.view(d.buf, d.value);
      if (!sameView(b.view(d.value), own)) b.ops.push({ op: "copy", src: b.view(d.value), dst: own, lines: [] });
    }
    if (phase.role === "loop") {
      // A state's incoming gradient kept for later stages is copied from its carry first.
      const pre: PlanOp[] = [];
      for (const c of k.carries) {
        const seed = b.view(c.seed);
        if (seed.buf !== c.carry) pre.push({ op: "copy", src: bufs.view(c.carry, c.seed), dst: seed, lines: [] });
      }
      const carry: PlanOp[] = [];
      for (const c of k.carries) {
        const to = bufs.view(c.carry, c.dState);
        if (!sameView(b.view(c.dState), to)) carry.push({ op: "copy", src: b.view(c.dState), dst: to, lines: [] });
      }
      bStages.push({ kind: "loop", reverse: true, title: "backward through time", ops: [...pre, ...b.ops], carry });
    } else if (phase.role === "deferred") {
      if (b.ops.length) bStages.push({ kind: "all", title: "what the recurrence does not need, for every step at once: weight gradients", ops: b.ops });
    } else if (b.ops.length) {
      bStages.push({ kind: "all", when: "inputGradients", title: "the gradients of the inputs, for every step at once", ops: b.ops });
    }
  });
  if (k.inputGrads.length) {
    const ops: PlanOp[] = k.inputGrads.map((d) => ({ op: "fill", dst: bufs.view(d.buf, d.value), value: 0, lines: [] }));
    bStages.push({ kind: "all", when: "noInputGradients", title: "input gradients not asked for are zero", ops });
  }

  const weights = weightLayout(fwd, k);
  const lines = new Map<Eqn, string[]>();
  const lb = new StageBuilder(fwd, k.forward, k, names, o, false, slots);
  for (const e of [...fwd.eqns, ...bwd.eqns]) lines.set(e, lb.lines([e]));
  return {
    meta,
    optimize: o.optimize,
    fastMath: o.fastMath,
    buffers: bufs.list,
    weights,
    slots: slots.size,
    forward: { inputs: k.inputs, active: k.active, states: k.states, outputs: k.outputs.map(({ name, buf }) => ({ name, buf })), stages: fStages },
    backward: {
      seeds: k.seeds,
      states: k.carries.map((c) => ({ name: c.name, carry: c.carry })),
      inputs: k.inputGrads.map(({ name, buf }) => ({ name, buf })),
      params: fwd.params.map((p) => ({ name: p.name, buf: k.grads.get(p.value)!, param: k.weights.get(p.value)! })),
      packs: fwd.packs.map((p) => {
        let off = 0;
        const parts = p.parts.map((q) => {
          const part = { param: k.weights.get(q)!, offset: off };
          off += fwd.values[q]!.shape.reduce((a, b) => a * b, 1);
          return part;
        });
        return { buf: k.grads.get(p.value)!, pack: k.weights.get(p.value)!, parts };
      }),
      stages: bStages,
    },
    nested: [...k.forward.nested, ...k.backward.nested],
    steps: { fwd, bwd, schedule: sched, lines },
  };
}
