// Emits the bodies of the kernel functions from the scheduled step graphs: forward over a
// sequence (a hoisted phase over all T·B rows, then the time loop), backward through time (the
// time loop for what the state adjoints need, then a deferred phase over all rows for weight and
// input gradients), and a streaming step.

import type { Span } from "../grammar/source.ts";
import type { BackwardGraph } from "./autodiff.ts";
import { literalKey, optionalRead, presentRead } from "./emit-keys.ts";
import { OpEmitter, rowBase } from "./emit-ops.ts";
import { width, type Graph, type ValueId } from "./ir.ts";
import { scheduleKernel, type FunctionSchedule, type KernelSchedule, type Phase, type Storage } from "./schedule.ts";

/** Identifiers that generated code uses for itself; value names must avoid them. */
const RESERVED = new Set(
  (
    "B T R t tb b j acc src dst0 src0 active lengths masks params inputs state options tape grads dOutputs meta where first per " +
    "batchSize timeSteps " +
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await arguments eval undefined NaN Infinity " +
    "Math Float32Array Float64Array Int32Array Number Object Array Error RangeError TypeError WeakSet ArrayBuffer String " +
    "fail describe checkObject checkArray checkCount checkBatchSize checkLengths checkParams allocTape allocAdjoints " +
    "stepScratch stepCache tapes createParams createState step forward backward tapeIn adj sc outputs gemm pack colSum " +
    "__proto__ KC MC panelA panelB slotPanels slotValid invalidatePanels packs packGrads tile POW2 E1 E2 E3 E4 E5 E6 E7 fexp fsigmoid ftanh"
  ).split(" "),
);

/** Allocates unique, valid, stable identifiers. */
export class Names {
  private used = new Set<string>();

  get(want: string): string {
    let base = want.replace(/[^A-Za-z0-9_$]/g, "_");
    if (!/^[A-Za-z_$]/.test(base)) base = `_${base}`;
    if (/^(o|carry|masked|mask|out|dout|dcarry)\d+$/.test(base)) base = `${base}_`;
    let name = base;
    for (let i = 2; RESERVED.has(name) || this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

export interface KernelPlan {
  optimize: boolean;
  /** Fast sigmoid/tanh (float32 builds with optimisation; float64 builds keep Math's). */
  fastMath: boolean;
  /** Panel slots of the module's GEMM, one per (weight, orientation) used inside a time loop. */
  slots: Map<string, number>;
  fwd: Graph;
  bwd: BackwardGraph;
  sched: KernelSchedule;
  names: Names;
  /** Identifier per value (arrays) and per value as a scalar inside fused loops. */
  id: Map<ValueId, string>;
  scalar: Map<ValueId, string>;
  /** Identifier of each parameter's and each pack's gradient array. */
  grad: Map<ValueId, string>;
  /** Forward buffers kept on the tape ([T·B, n]) and per-step scratch ([B, n]). */
  tapeRows: { id: string; width: number }[];
  tapeStep: { id: string; width: number }[];
  /** Backward buffers, allocated once per tape. */
  adjRows: { id: string; width: number }[];
  adjStep: { id: string; width: number }[];
  /** Locals of the streaming step ([B, n] each). */
  stepBufs: { id: string; width: number }[];
  describe: (span: Span | undefined) => string | undefined;
}


/** The slices that stay views in the streaming step: all but those of a state. The step writes the
 *  new states into the state arrays it read, so a new state that is a view of another state (as in
 *  `h' = c[0:H]`) would read an array already overwritten; such a slice is copied. */
function stepViews(fwd: Graph): Map<ValueId, { src: ValueId; lo: number }> {
  const views = new Map<ValueId, { src: ValueId; lo: number }>();
  const rootRole = (v: ValueId): string => {
    const up = views.get(v);
    return up ? rootRole(up.src) : fwd.values[v]!.role;
  };
  for (const e of fwd.eqns) {
    if (e.op !== "slice" || !("v" in e.args[0])) continue;
    const src = e.args[0].v;
    if (rootRole(src) !== "state") views.set(e.out, { src, lo: e.lo });
  }
  return views;
}

export function planKernel(fwd: Graph, bwd: BackwardGraph, optimize: boolean, describe: KernelPlan["describe"], fastMath = optimize): KernelPlan {
  const names = new Names();
  const id = new Map<ValueId, string>();
  for (const v of bwd.values) id.set(v.id, names.get(v.name));
  const scalar = new Map<ValueId, string>();
  const grad = new Map<ValueId, string>();
  for (const p of fwd.params) grad.set(p.value, names.get(`grad_${p.name}`));
  for (const p of fwd.packs) grad.set(p.value, names.get(`grad_${fwd.values[p.value]!.name}`));
  const sched = scheduleKernel(fwd, bwd, optimize);
  const bufs = (f: FunctionSchedule, row: "rows" | "step", g: Graph) =>
    f.buffers.filter((b) => b.row === row).map((b) => ({ id: id.get(b.value)!, width: width(g, b.value) }));
  // Inputs and states have storage fixed by the schedule; their buffers live on the tape too.
  const fixedBufs = (row: "rows" | "step") =>
    [...fwd.inputs.map((i) => i.value), ...fwd.states.map((s) => s.prev)]
      .filter((v) => sched.forward.storage.get(v)!.row === row)
      .map((v) => ({ id: id.get(v)!, width: width(fwd, v) }));
  const seeds = [...bwd.seedOutputs, ...bwd.seedStates].map((s) => ({ s, st: sched.backward.storage.get(s.value)! }));
  const views = new Set(stepViews(fwd).keys());
  const stepLocals = fwd.values.filter((v) => v.role === "local" && !views.has(v.id)).map((v) => ({ id: id.get(v.id)!, width: width(fwd, v.id) }));
  return {
    optimize,
    fastMath,
    slots: new Map(),
    fwd,
    bwd,
    sched,
    names,
    id,
    scalar,
    grad,
    tapeRows: [...fixedBufs("rows"), ...bufs(sched.forward, "rows", fwd)],
    tapeStep: [...fixedBufs("step"), ...bufs(sched.forward, "step", fwd)],
    adjRows: [...bufs(sched.backward, "rows", bwd), ...seeds.filter((x) => x.st.row === "rows").map((x) => ({ id: id.get(x.s.value)!, width: width(bwd, x.s.value) }))],
    adjStep: [...bufs(sched.backward, "step", bwd), ...seeds.filter((x) => x.st.row === "step").map((x) => ({ id: id.get(x.s.value)!, width: width(bwd, x.s.value) }))],
    stepBufs: stepLocals,
    describe,
  };
}

function scalarName(plan: KernelPlan, v: ValueId): string {
  let s = plan.scalar.get(v);
  if (!s) {
    s = plan.names.get(`_${plan.id.get(v)}`);
    plan.scalar.set(v, s);
  }
  return s;
}

/** Emits the items of a phase, with a comment at each change of spec line. */
function emitPhase(plan: KernelPlan, g: Graph, f: FunctionSchedule, phase: Phase, prefix: string): string {
  const em = new OpEmitter({
    g,
    storage: f.storage,
    scalars: f.scalars,
    arr: (v) => plan.id.get(v)!,
    scalar: (v) => scalarName(plan, v),
    grad: (p) => plan.grad.get(p)!,
    fastMath: plan.fastMath,
    slot: (w, transposed) => {
      if (phase.kind !== "loop") return -1;
      const key = `${w}:${transposed}`;
      let k = plan.slots.get(key);
      if (k === undefined) plan.slots.set(key, (k = plan.slots.size));
      return k;
    },
  });
  const out: string[] = [];
  let last: string | undefined;
  for (const it of phase.items) {
    const code = em.emit(it);
    if (!code) continue;
    const spans = (it.kind === "group" ? it.eqns : [it.eqn]).map((e) => plan.describe(e.span)).filter((d) => d !== undefined);
    const lines = [...new Set(spans)];
    const d = lines.join("\n");
    if (d && d !== last) out.push(...lines.map((l, k) => `// ${k === 0 ? prefix : ""}${l}`));
    last = d || last;
    out.push(code);
  }
  return out.join("\n");
}

/** Code for row b of a stored value: `arr[base + j]`. */
function at(plan: KernelPlan, st: Storage): { arr: string; base: string } {
  return { arr: plan.id.get(st.buffer)!, base: rowBase(st) };
}

/** Statements that build each pack (parameter matrices stacked by rows) from the params. */
function packStatements(plan: KernelPlan): string[] {
  const L: string[] = [];
  for (const p of plan.fwd.packs) {
    const name = plan.id.get(p.value)!;
    L.push(`const ${name} = packs.${name};`);
    let off = 0;
    for (const part of p.parts) {
      L.push(`${name}.set(${plan.id.get(part)}, ${off});`);
      off += plan.fwd.values[part]!.shape.reduce((a, b) => a * b, 1);
    }
  }
  return L;
}

export function forwardBody(plan: KernelPlan): string {
  const { fwd, id } = plan;
  const f = plan.sched.forward;
  const L: string[] = [`invalidatePanels();`];
  for (const p of fwd.params) L.push(`const ${id.get(p.value)} = params.${p.name};`);
  L.push(...packStatements(plan));
  for (const b of plan.tapeRows) L.push(`const ${b.id} = tape.buf.${b.id};`);
  for (const b of plan.tapeStep) L.push(`const ${b.id} = tape.scratch.${b.id};`);
  for (const i of fwd.inputs) L.push(`${id.get(i.value)}.set(inputs.${i.name});`);
  fwd.states.forEach((s, k) => {
    L.push(`const carry${k} = tape.carry.${s.name};`);
    const init = optionalRead("options.initialState", s.name, true);
    const mask = optionalRead("options.stateMasks", s.name, true);
    L.push(`if (${init}) carry${k}.set(${presentRead("options.initialState", s.name)}); else carry${k}.fill(0);`);
    L.push(`const mask${k} = tape.masks.${s.name};`);
    L.push(`if (${mask}) ${`mask${k}`}.set(${presentRead("options.stateMasks", s.name)});`);
    L.push(`const masked${k} = ${mask} !== undefined;`);
  });
  fwd.outputs.forEach((o, k) => L.push(`const out${k} = tape.outputs.${o.name};`));
  L.push(`const lengths = tape.lengths;`);
  const [hoisted, loop] = f.phases as [Phase, Phase];
  if (hoisted.items.length) {
    L.push(`// what depends only on the inputs and parameters, for every step at once`);
    L.push(`{`, `const tb = 0;`, `const R = T * B;`, emitPhase(plan, fwd, f, hoisted, ""), `}`);
  }
  L.push(`for (let t = 0; t < T; t++) {`, `const tb = t * B;`, `const R = B;`);
  if (fwd.states.length) {
    L.push(`// the states as this step reads them`, `for (let b = 0; b < B; b++) {`);
    fwd.states.forEach((s, k) => {
      const n = width(fwd, s.prev);
      const dst = at(plan, f.storage.get(s.prev)!);
      L.push(`for (let j = 0; j < ${n}; j++) ${dst.arr}[${dst.base} + j] = masked${k} ? carry${k}[b * ${n} + j] * mask${k}[b * ${n} + j] : carry${k}[b * ${n} + j];`);
    });
    L.push(`}`);
  }
  L.push(emitPhase(plan, fwd, f, loop, ""));
  L.push(`// carry the states and write the outputs; a sample past its length keeps its state`);
  L.push(`for (let b = 0; b < B; b++) {`, `const active = lengths === null || t < lengths[b];`);
  fwd.states.forEach((s, k) => {
    const src = at(plan, f.storage.get(s.next)!);
    const n = width(fwd, s.next);
    L.push(`if (active) for (let j = 0; j < ${n}; j++) carry${k}[b * ${n} + j] = ${src.arr}[${src.base} + j];`);
  });
  fwd.outputs.forEach((o, k) => {
    const src = at(plan, f.storage.get(o.value)!);
    const n = width(fwd, o.value);
    L.push(`for (let j = 0; j < ${n}; j++) out${k}[(tb + b) * ${n} + j] = active ? ${src.arr}[${src.base} + j] : 0;`);
  });
  L.push(`}`, `}`);
  fwd.states.forEach((s, k) => L.push(`tape.finalState.${s.name}.set(carry${k});`));
  L.push(`return { outputs: tape.outputs, finalState: tape.finalState, tape };`);
  return L.join("\n");
}

export function backwardBody(plan: KernelPlan): string {
  const { fwd, bwd, id, grad } = plan;
  const f = plan.sched.backward;
  const L: string[] = [`invalidatePanels();`];
  for (const p of fwd.params) {
    L.push(`const ${id.get(p.value)} = params.${p.name};`);
    L.push(`const ${grad.get(p.value)} = grads.params.${p.name};`, `${grad.get(p.value)}.fill(0);`);
  }
  L.push(...packStatements(plan));
  for (const p of fwd.packs) L.push(`const ${grad.get(p.value)} = packGrads.${id.get(p.value)};`, `${grad.get(p.value)}.fill(0);`);
  for (const b of plan.tapeRows) L.push(`const ${b.id} = tape.buf.${b.id};`);
  L.push(`const adj = tape.adjoints ?? (tape.adjoints = allocAdjoints(T, B));`);
  for (const b of [...plan.adjRows, ...plan.adjStep]) L.push(`const ${b.id} = adj.${b.id};`);
  fwd.states.forEach((s, k) => {
    L.push(`const dcarry${k} = adj.carry_${s.name};`);
    L.push(`if (${optionalRead("options.dFinalState", s.name, true)}) dcarry${k}.set(${presentRead("options.dFinalState", s.name)}); else dcarry${k}.fill(0);`);
    L.push(`const mask${k} = tape.masks.${s.name};`);
    L.push(`const masked${k} = tape.masked.${s.name};`);
  });
  L.push(`const lengths = tape.lengths;`);
  if (bwd.seedOutputs.length) {
    L.push(`// the loss's gradient with respect to every step's outputs (zero past a sample's length)`);
    bwd.seedOutputs.forEach((s) => {
      const n = width(bwd, s.value);
      const dst = at(plan, f.storage.get(s.value)!);
      L.push(`{`, `const src = ${optionalRead("dOutputs", s.name, false)};`, `for (let t = 0; t < T; t++) {`, `const tb = t * B;`, `for (let b = 0; b < B; b++) {`);
      L.push(`const active = src !== undefined && (lengths === null || t < lengths[b]);`);
      L.push(`for (let j = 0; j < ${n}; j++) ${dst.arr}[${dst.base} + j] = active ? src[(tb + b) * ${n} + j] : 0;`);
      L.push(`}`, `}`, `}`);
    });
  }
  const [loop, deferred, inputsPhase] = f.phases as [Phase, Phase, Phase];
  L.push(`for (let t = T - 1; t >= 0; t--) {`, `const tb = t * B;`, `const R = B;`);
  if (bwd.seedStates.length) {
    L.push(`// the gradient with respect to this step's new states, from the step after it`, `for (let b = 0; b < B; b++) {`);
    L.push(`const active = lengths === null || t < lengths[b];`);
    bwd.seedStates.forEach((s, k) => {
      const n = width(bwd, s.value);
      const dst = at(plan, f.storage.get(s.value)!);
      L.push(`for (let j = 0; j < ${n}; j++) ${dst.arr}[${dst.base} + j] = active ? dcarry${k}[b * ${n} + j] : 0;`);
    });
    L.push(`}`);
  }
  L.push(emitPhase(plan, bwd, f, loop, "adjoint of "));
  if (bwd.dStates.length) {
    L.push(`// carry the states' gradients to the step before; a sample past its length passes them through`);
    L.push(`for (let b = 0; b < B; b++) {`, `if (lengths !== null && t >= lengths[b]) continue;`);
    bwd.dStates.forEach((d, k) => {
      const n = width(bwd, d.value);
      const src = at(plan, f.storage.get(d.value)!);
      L.push(`for (let j = 0; j < ${n}; j++) dcarry${k}[b * ${n} + j] = masked${k} ? ${src.arr}[${src.base} + j] * mask${k}[b * ${n} + j] : ${src.arr}[${src.base} + j];`);
    });
    L.push(`}`);
  }
  L.push(`}`);
  if (deferred.items.length) {
    L.push(`// what the recurrence does not need, for every step at once: weight and input gradients`);
    L.push(`{`, `const tb = 0;`, `const R = T * B;`, emitPhase(plan, bwd, f, deferred, "adjoint of "), `}`);
  }
  if (bwd.dInputs.length) {
    L.push(`if (options.inputGradients === false) {`);
    for (const d of bwd.dInputs) L.push(`grads.inputs.${d.name}.fill(0);`);
    L.push(`} else {`, `const tb = 0;`, `const R = T * B;`);
    if (inputsPhase.items.length) {
      L.push(`// the gradients of the inputs, for every step at once`, emitPhase(plan, bwd, f, inputsPhase, "adjoint of "));
    }
    for (const d of bwd.dInputs) {
      const n = width(bwd, d.value);
      const src = at(plan, f.storage.get(d.value)!);
      L.push(`for (let b = 0; b < T * B; b++) for (let j = 0; j < ${n}; j++) grads.inputs.${d.name}[b * ${n} + j] = ${src.arr}[${src.base} + j];`);
    }
    L.push(`}`);
  }
  for (const p of fwd.packs) {
    let off = 0;
    for (const part of p.parts) {
      const n = fwd.values[part]!.shape.reduce((a, b) => a * b, 1);
      L.push(`for (let j = 0; j < ${n}; j++) ${grad.get(part)}[j] += ${grad.get(p.value)}[${off} + j];`);
      off += n;
    }
  }
  fwd.states.forEach((s, k) => L.push(`grads.initialState.${s.name}.set(dcarry${k});`));
  L.push(`return grads;`);
  return L.join("\n");
}

export function stepBody(plan: KernelPlan): string {
  const { fwd, id } = plan;
  // The streaming step runs every equation per step, in forward order, over [B, n] buffers.
  const storage = new Map<ValueId, Storage>();
  for (const v of fwd.values) {
    const row = v.role === "param" || v.role === "packed" ? "none" : "step";
    storage.set(v.id, { buffer: v.id, row, stride: width(fwd, v.id), offset: 0 });
  }
  const f: FunctionSchedule = {
    phases: [{ kind: "loop", items: plan.sched.forward.phases.flatMap((p) => p.items) }],
    storage,
    scalars: new Set(),
    buffers: [],
  };
  // Slices stay views in the step too, except slices of states (stepViews).
  const views = stepViews(fwd);
  for (const it of f.phases[0]!.items) {
    if (it.kind !== "eqn" || !("out" in it.eqn)) continue;
    const view = views.get(it.eqn.out);
    if (view) {
      const src = storage.get(view.src)!;
      storage.set(it.eqn.out, { ...src, offset: src.offset + view.lo });
    }
  }
  const L: string[] = [`invalidatePanels();`];
  for (const p of fwd.params) L.push(`const ${id.get(p.value)} = params.${p.name};`);
  L.push(...packStatements(plan));
  for (const i of fwd.inputs) L.push(`const ${id.get(i.value)} = inputs.${i.name};`);
  for (const s of fwd.states) L.push(`const ${id.get(s.prev)} = state.${s.name};`);
  L.push(`const sc = stepScratch(B);`);
  for (const b of plan.stepBufs) L.push(`const ${b.id} = sc.${b.id};`);
  L.push(`const tb = 0;`, `const R = B;`);
  L.push(emitPhase(plan, fwd, f, f.phases[0]!, ""));
  const copy = (v: ValueId, arr: string, n: number) => {
    const src = at(plan, storage.get(v)!);
    return `for (let b = 0; b < B; b++) for (let j = 0; j < ${n}; j++) ${arr}[b * ${n} + j] = ${src.arr}[${src.base} + j];`;
  };
  L.push(`const outputs: Outputs = {`, ...fwd.outputs.map((o) => `${literalKey(o.name)}: new Float32Array(B * ${width(fwd, o.value)}),`), `};`);
  fwd.outputs.forEach((o) => L.push(copy(o.value, `outputs.${o.name}`, width(fwd, o.value))));
  // New states are written only after every equation has read the old ones.
  fwd.states.forEach((s) => L.push(copy(s.next, `state.${s.name}`, width(fwd, s.next))));
  L.push(`return outputs;`);
  return L.filter((l) => l !== "").join("\n");
}
