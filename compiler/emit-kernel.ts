// Emits the bodies of the kernel functions (forward over a sequence with a tape, backward through
// time, a streaming step) from the forward and backward step graphs.

import type { BackwardGraph } from "./autodiff.ts";
import { EqnEmitter, type Layout, type Slot } from "./emit-ops.ts";
import type { Eqn, Graph, ValueId } from "./ir.ts";
import type { Span } from "../grammar/source.ts";

/** Identifiers that generated code uses for itself; value names must avoid them. */
const RESERVED = new Set(
  (
    "B T t tb b j k row base acc val active lengths masks params inputs state options tape grads dOutputs dFinal meta where " +
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await arguments eval undefined NaN Infinity " +
    "Math Float32Array Int32Array Number Object Array Error RangeError TypeError WeakSet ArrayBuffer String " +
    "fail describe checkObject checkArray checkCount checkBatchSize checkLengths checkParams allocTape allocAdjoints " +
    "stepScratch stepCache tapes first createParams createState step forward backward tapeIn adj sc per outputs"
  ).split(" "),
);

/** Allocates unique, valid, stable identifiers. */
export class Names {
  private used = new Set<string>();

  get(want: string): string {
    let base = want.replace(/[^A-Za-z0-9_$]/g, "_");
    if (!/^[A-Za-z_$]/.test(base)) base = `_${base}`;
    if (/^(o|carry|mask|out|dout|dcarry|st)\d+$/.test(base)) base = `${base}_`;
    let name = base;
    for (let i = 2; RESERVED.has(name) || this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

export interface KernelPlan {
  fwd: Graph;
  bwd: BackwardGraph;
  /** Forward values the backward step reads: kept for every step on the tape. */
  taped: Set<ValueId>;
  names: Names;
  /** Identifier per value, shared by all functions of the module. */
  id: Map<ValueId, string>;
  /** Identifier of each parameter's gradient array. */
  grad: Map<ValueId, string>;
  /** Comment text for an equation's spec line. */
  describe: (span: Span | undefined) => string | undefined;
}

export function planKernel(fwd: Graph, bwd: BackwardGraph, describe: KernelPlan["describe"]): KernelPlan {
  const names = new Names();
  const id = new Map<ValueId, string>();
  for (const v of bwd.values) id.set(v.id, names.get(v.name));
  const grad = new Map<ValueId, string>();
  for (const p of fwd.params) grad.set(p.value, names.get(`grad_${p.name}`));
  const taped = new Set<ValueId>();
  for (const e of bwd.eqns) {
    for (const a of e.args) {
      if ("v" in a) {
        const role = bwd.values[a.v]!.role;
        if (role === "fwd" || role === "input" || role === "state") taped.add(a.v);
      }
    }
  }
  for (const v of fwd.inputs) taped.add(v.value);
  return { fwd, bwd, taped, names, id, grad, describe };
}

const size = (g: Graph, v: ValueId) => {
  const s = g.values[v]!.shape;
  return s[s.length - 1]!;
};

/** Emits equations, with a comment at each change of spec line. */
function emitEqns(plan: KernelPlan, g: Graph, eqns: Eqn[], layout: Layout, prefix: string): string {
  const em = new EqnEmitter(g, layout, (p) => plan.grad.get(p)!);
  const out: string[] = [];
  let last: string | undefined;
  for (const e of eqns) {
    const d = plan.describe(e.span);
    if (d && d !== last) out.push(`// ${prefix}${d}`);
    last = d;
    out.push(em.emit(e));
  }
  return out.join("\n");
}

/** Copies value v (laid out by `layout`) into arr at base `dst`, per sample. */
function copyLoop(g: Graph, layout: Layout, v: ValueId, arr: string, dst: string, guard?: string): string {
  const src: Slot = layout(v);
  const n = size(g, v);
  const read = `${src.arr}[${src.base === "0" ? "" : `${src.base} + `}j]`;
  const body = guard ? `${arr}[${dst} + j] = ${guard} ? ${read} : 0;` : `${arr}[${dst} + j] = ${read};`;
  return `for (let j = 0; j < ${n}; j++) ${body}`;
}

export function forwardBody(plan: KernelPlan): string {
  const { fwd, id, taped } = plan;
  const tapeBase = (v: ValueId) => `(tb + b) * ${size(fwd, v)}`;
  const layout: Layout = (v) => {
    const info = fwd.values[v]!;
    if (info.role === "param") return { arr: id.get(v)!, base: "0" };
    if (info.role === "input" || taped.has(v)) return { arr: id.get(v)!, base: tapeBase(v) };
    return { arr: id.get(v)!, base: `b * ${size(fwd, v)}` };
  };
  const L: string[] = [];
  for (const p of fwd.params) L.push(`const ${id.get(p.value)} = params.${p.name};`);
  for (const v of fwd.values) {
    if (v.role === "param") continue;
    L.push(`const ${id.get(v.id)} = tape.${taped.has(v.id) || v.role === "input" ? "buf" : "scratch"}.${id.get(v.id)};`);
  }
  for (const i of fwd.inputs) L.push(`${id.get(i.value)}.set(inputs.${i.name});`);
  fwd.states.forEach((s, k) => {
    L.push(`const carry${k} = tape.carry.${s.name};`);
    L.push(`if (options.initialState?.${s.name}) carry${k}.set(options.initialState.${s.name}); else carry${k}.fill(0);`);
    L.push(`const mask${k} = tape.masks.${s.name};`);
  });
  fwd.outputs.forEach((o, k) => L.push(`const out${k} = tape.outputs.${o.name};`));
  L.push(`const lengths = tape.lengths;`);
  L.push(`for (let t = 0; t < T; t++) {`, `const tb = t * B;`);
  if (fwd.states.length) {
    L.push(`// states as this step reads them`, `for (let b = 0; b < B; b++) {`);
    fwd.states.forEach((s, k) => {
      const n = size(fwd, s.prev);
      const dst = layout(s.prev);
      L.push(
        `for (let j = 0; j < ${n}; j++) ${dst.arr}[${dst.base} + j] = mask${k} === null ? carry${k}[b * ${n} + j] : carry${k}[b * ${n} + j] * mask${k}[b * ${n} + j];`,
      );
    });
    L.push(`}`);
  }
  L.push(emitEqns(plan, fwd, fwd.eqns, layout, ""));
  L.push(`// carry the states and write the outputs; a sample past its length keeps its state`);
  L.push(`for (let b = 0; b < B; b++) {`, `const active = lengths === null || t < lengths[b]!;`);
  fwd.states.forEach((s, k) => {
    L.push(`if (active) ${copyLoop(fwd, layout, s.next, `carry${k}`, `b * ${size(fwd, s.next)}`)}`);
  });
  fwd.outputs.forEach((o, k) => L.push(copyLoop(fwd, layout, o.value, `out${k}`, `(tb + b) * ${size(fwd, o.value)}`, "active")));
  L.push(`}`, `}`);
  fwd.states.forEach((s, k) => L.push(`tape.finalState.${s.name}.set(carry${k});`));
  L.push(`return { outputs: tape.outputs, finalState: tape.finalState, tape };`);
  return L.join("\n");
}

export function backwardBody(plan: KernelPlan): string {
  const { fwd, bwd, id, taped, grad } = plan;
  const layout: Layout = (v) => {
    const info = bwd.values[v]!;
    if (info.role === "param") return { arr: id.get(v)!, base: "0" };
    if (info.role === "input" || taped.has(v)) return { arr: id.get(v)!, base: `(tb + b) * ${size(bwd, v)}` };
    return { arr: id.get(v)!, base: `b * ${size(bwd, v)}` };
  };
  const L: string[] = [];
  for (const p of fwd.params) {
    L.push(`const ${id.get(p.value)} = params.${p.name};`);
    L.push(`const ${grad.get(p.value)} = grads.params.${p.name};`, `${grad.get(p.value)}.fill(0);`);
  }
  for (const v of taped) L.push(`const ${id.get(v)} = tape.buf.${id.get(v)};`);
  L.push(`const adj = tape.adjoints ?? (tape.adjoints = allocAdjoints(B));`);
  for (const v of bwd.values) {
    if (v.id < fwd.values.length) continue;
    L.push(`const ${id.get(v.id)} = adj.${id.get(v.id)};`);
  }
  fwd.states.forEach((s, k) => {
    L.push(`const dcarry${k} = adj.carry_${s.name};`);
    L.push(`if (options.dFinalState?.${s.name}) dcarry${k}.set(options.dFinalState.${s.name}); else dcarry${k}.fill(0);`);
    L.push(`const mask${k} = tape.masks.${s.name};`);
  });
  fwd.outputs.forEach((o, k) => L.push(`const dout${k} = dOutputs.${o.name} ?? null;`));
  L.push(`const lengths = tape.lengths;`);
  L.push(`for (let t = T - 1; t >= 0; t--) {`, `const tb = t * B;`);
  L.push(`// seeds: the loss's gradient with respect to this step's outputs and new states`);
  L.push(`for (let b = 0; b < B; b++) {`, `const active = lengths === null || t < lengths[b]!;`);
  bwd.seedOutputs.forEach((s, k) => {
    const n = size(bwd, s.value);
    L.push(`for (let j = 0; j < ${n}; j++) ${id.get(s.value)}[b * ${n} + j] = active && dout${k} !== null ? dout${k}[(tb + b) * ${n} + j]! : 0;`);
  });
  bwd.seedStates.forEach((s, k) => {
    const n = size(bwd, s.value);
    L.push(`for (let j = 0; j < ${n}; j++) ${id.get(s.value)}[b * ${n} + j] = active ? dcarry${k}[b * ${n} + j]! : 0;`);
  });
  L.push(`}`);
  L.push(emitEqns(plan, bwd, bwd.eqns, layout, "adjoint of "));
  L.push(`// gradients of the inputs; the states' carry back to the previous step`);
  L.push(`for (let b = 0; b < B; b++) {`, `const active = lengths === null || t < lengths[b]!;`);
  bwd.dInputs.forEach((d) => {
    L.push(copyLoop(bwd, layout, d.value, `grads.inputs.${d.name}`, `(tb + b) * ${size(bwd, d.value)}`));
  });
  bwd.dStates.forEach((d, k) => {
    const n = size(bwd, d.value);
    const src = layout(d.value);
    L.push(
      `if (active) for (let j = 0; j < ${n}; j++) dcarry${k}[b * ${n} + j] = mask${k} === null ? ${src.arr}[${src.base} + j]! : ${src.arr}[${src.base} + j]! * mask${k}[b * ${n} + j]!;`,
    );
  });
  L.push(`}`, `}`);
  fwd.states.forEach((s, k) => L.push(`grads.initialState.${s.name}.set(dcarry${k});`));
  L.push(`return grads;`);
  return L.join("\n");
}

export function stepBody(plan: KernelPlan): string {
  const { fwd, id } = plan;
  const stateArr = new Map<ValueId, string>();
  fwd.states.forEach((s, k) => stateArr.set(s.prev, `st${k}`));
  const layout: Layout = (v) => {
    const info = fwd.values[v]!;
    if (info.role === "param") return { arr: id.get(v)!, base: "0" };
    if (info.role === "state") return { arr: stateArr.get(v)!, base: `b * ${size(fwd, v)}` };
    return { arr: id.get(v)!, base: `b * ${size(fwd, v)}` };
  };
  const L: string[] = [];
  for (const p of fwd.params) L.push(`const ${id.get(p.value)} = params.${p.name};`);
  for (const i of fwd.inputs) L.push(`const ${id.get(i.value)} = inputs.${i.name};`);
  fwd.states.forEach((s, k) => L.push(`const st${k} = state.${s.name};`));
  L.push(`const sc = stepScratch(B);`);
  for (const v of fwd.values) if (v.role === "local") L.push(`const ${id.get(v.id)} = sc.${id.get(v.id)};`);
  L.push(emitEqns(plan, fwd, fwd.eqns, layout, ""));
  L.push(`const outputs: Outputs = {`, ...fwd.outputs.map((o) => `${o.name}: new Float32Array(B * ${size(fwd, o.value)}),`), `};`);
  L.push(`for (let b = 0; b < B; b++) {`);
  fwd.outputs.forEach((o) => L.push(copyLoop(fwd, layout, o.value, `outputs.${o.name}`, `b * ${size(fwd, o.value)}`)));
  L.push(`}`);
  // New states are written only after every equation has read the old ones.
  L.push(`for (let b = 0; b < B; b++) {`);
  fwd.states.forEach((s, k) => L.push(copyLoop(fwd, layout, s.next, `st${k}`, `b * ${size(fwd, s.next)}`)));
  L.push(`}`);
  L.push(`return outputs;`);
  return L.join("\n");
}
