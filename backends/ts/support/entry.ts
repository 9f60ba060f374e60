// The entry runtime: what forward, backward and step do with the caller's arguments before and
// after the kernel's stages run, written once for every TypeScript and WebAssembly module
// (inlined into both; tests import it). It is driven by the kernel's descriptor (KernelInfo, a
// small data object each module prints: its buffers, where the weights lie, and which buffers hold
// the inputs, states, masks, outputs and gradients). The argument checks (in the order the
// messages depend on), lengths → active flags, initial states and masks, the gradients' targets
// and the pack gradients' add-back are here; where the buffers live (arrays of their own in a
// TypeScript module, the wasm memory in a WebAssembly one) is the caller's business: it hands in
// the buffers as arrays.

import { BACKWARD_OPTIONS, FORWARD_OPTIONS } from "../../../abi/checks.ts";
import { type Named, checkArray, checkArrays, checkBatchSize, checkCount, checkFlag, checkLengths, checkObject, checkThreads, fail, inferSteps, own, stateOption } from "./checks.ts";
import { follows, span } from "./weights.ts";

/** Provided by each generated module. */
declare const meta: {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly size: number }[];
  readonly states: readonly { readonly name: string; readonly size: number }[];
  readonly outputs: readonly { readonly name: string; readonly size: number }[];
  readonly params: readonly { readonly name: string; readonly size: number; readonly shape: readonly number[] }[];
};

// ---- inline from here

/** meta's params (the module's `meta` is `as const`: an empty list there is of type never[]). */
type ParamList = readonly { readonly name: string; readonly size: number; readonly shape: readonly number[] }[];

/** Arrays by name (as abi/kernel.ts's Tensors; Float64Array in float64 builds). */
export type Tensors = Record<string, Float32Array>;

/** Sets `o[name]` as an own property, even for a spec name such as `__proto__` (an assignment
 *  would set the object's prototype instead). */
export function put(o: Tensors, name: string, v: Float32Array): void {
  Object.defineProperty(o, name, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The plan as the entry runtime needs it (buffers by id; rows 0 seq, 1 carry, 2 batch, 3 none). */
export interface KernelInfo {
  bufs: { name: string; kind: string; rows: number; width: number; size: number; entry: string }[];
  weights: {
    size: number;
    params: { name: string; buf: number; offset: number; size: number }[];
    packs: { buf: number; offset: number | null; size: number; parts: { param: number; offset: number }[] }[];
  };
  fwd: { inputs: { name: string; buf: number }[]; active: number; states: { name: string; buf: number; mask: number }[]; outputs: { name: string; buf: number }[] };
  bwd: { seeds: { name: string; buf: number }[]; states: { name: string; carry: number }[]; inputs: { name: string; buf: number }[]; params: { name: string; buf: number; param: number }[]; packs: { buf: number; pack: number; parts: { param: number; offset: number }[] }[] };
}

/** What a module's entry points are, whichever backend runs them. */
export interface KernelImpl {
  createParams(options?: unknown): Tensors;
  createState(batchSize?: number): Tensors;
  step(params: Tensors, inputs: Tensors, state: Tensors, batchSize?: number): Tensors;
  forward(params: Tensors, inputs: Tensors, options: object): { outputs: Tensors; finalState: Tensors; tape: object };
  backward(params: Tensors, tape: object, dOutputs: object, options?: object): { params: Tensors; inputs: Tensors; initialState: Tensors };
  /** Threads the last forward, backward or step ran on (absent: a TypeScript kernel, one). */
  threadsUsed?(): number;
}

const nameLists = new WeakMap<object, string[]>();

/** The names of one of meta's lists (inputs, states, outputs, params), made once per list. */
function namesOf(list: readonly { readonly name: string }[]): string[] {
  let n = nameLists.get(list);
  if (n === undefined) nameLists.set(list, (n = list.map((x) => x.name)));
  return n;
}

const paramIndexes = new WeakMap<KernelInfo, Map<number, number>>();

/** The weights.params index of the param in buffer `buf`. */
export function paramIndex(info: KernelInfo, buf: number): number {
  let m = paramIndexes.get(info);
  if (m === undefined) paramIndexes.set(info, (m = new Map(info.weights.params.map((p, i) => [p.buf, i]))));
  return m.get(buf)!;
}

/** Elements of buffer `b` for T steps of B samples. */
export function bufLength(b: { rows: number; width: number }, T: number, B: number): number {
  return (b.rows === 0 ? T * B : b.rows === 1 ? (T + 1) * B : b.rows === 2 ? B : 1) * b.width;
}

/** The caller's params, checked: one array per weights.params entry, in its order. */
export function checkParams(where: string, info: KernelInfo, params: unknown): Float32Array[] {
  const metaParams: ParamList = meta.params;
  checkObject(where, "params", params, namesOf(metaParams));
  return info.weights.params.map((p) => {
    const v = own(params as object, p.name);
    if (v instanceof Float32Array && v.length === p.size) return v;
    const shape = metaParams.find((m) => m.name === p.name)!.shape;
    return checkArray(where, `params.${p.name}`, v, p.size, `[${shape.join(", ")}]`);
  });
}

/** Params laid out as the kernel reads them: views of one zero-filled buffer. */
export function layoutParams(info: KernelInfo): Tensors {
  const all = new Float32Array(info.weights.size);
  const out: Tensors = {};
  for (const p of info.weights.params) put(out, p.name, all.subarray(p.offset, p.offset + p.size));
  return out;
}

/** Each stacked matrix, given its parts (one array per weights.params entry): read in place when
 *  the layout stacks its parts side by side and the arrays are so (params from createParams),
 *  else copied into `scratch(k)`. */
export function packWeights(info: KernelInfo, arrays: Float32Array[], scratch: (k: number) => Float32Array): Float32Array[] {
  return info.weights.packs.map((pk, k) => {
    const parts = pk.parts.map((q) => ({ a: arrays[paramIndex(info, q.param)]!, offset: q.offset }));
    if (pk.offset !== null && parts.every((q, i) => i === 0 || follows(q.a, parts[i - 1]!.a))) return span(parts[0]!.a, pk.size);
    const s = scratch(k);
    for (const q of parts) s.set(q.a, q.offset);
    return s;
  });
}

/** The targets of backward's weight gradients, zeroed: `grads` (one array per weights.params
 *  entry) and each pack's gradient (by bwd.packs), its parts' gradients in place when the layout
 *  stacks them and they lie side by side, else zeroed `scratch(k)` (k: its weights.packs index) that
 *  addPackGradients adds into them. One rule, for every backend. */
export function gradientTargets(info: KernelInfo, grads: Float32Array[], scratch: (k: number) => Float32Array): { packs: Float32Array[]; apart: boolean[] } {
  for (const g of grads) g.fill(0);
  const apart: boolean[] = [];
  const packs = info.bwd.packs.map((pk) => {
    const k = info.weights.packs.findIndex((w) => w.buf === pk.pack);
    const layout = info.weights.packs[k]!;
    const parts = pk.parts.map((q) => grads[paramIndex(info, q.param)]!);
    const inPlace = layout.offset !== null && parts.every((a, i) => i === 0 || follows(a, parts[i - 1]!));
    apart.push(!inPlace);
    // A fresh view, not span's kept one: the gradients are often new views each call (the wasm
    // kernel's, of its memory), and keeping one per dead array cost more than the view.
    return inPlace ? new Float32Array(parts[0]!.buffer, parts[0]!.byteOffset, layout.size) : scratch(k).fill(0);
  });
  return { packs, apart };
}

/** After backward's stages: the pack gradients computed apart from their parts, added into them. */
export function addPackGradients(info: KernelInfo, grads: Float32Array[], t: { packs: Float32Array[]; apart: boolean[] }): void {
  info.bwd.packs.forEach((pk, k) => {
    if (!t.apart[k]) return;
    const from = t.packs[k]!;
    for (const q of pk.parts) {
      const g = grads[paramIndex(info, q.param)]!;
      for (let j = 0; j < g.length; j++) g[j] = g[j]! + from[q.offset + j]!;
    }
  });
}

/** forward's arguments, checked in the order the messages promise. */
export interface ForwardArgs {
  B: number;
  T: number;
  /** The `threads` option (undefined: the kernel's default). */
  threads: number | undefined;
  params: Float32Array[];
  ins: (Float32Array | undefined)[];
  initial: (Float32Array | undefined)[];
  masks: (Float32Array | undefined)[];
  lengths: unknown;
  tape: unknown;
}

export function forwardArgs(where: string, info: KernelInfo, params: unknown, inputs: unknown, options: unknown): ForwardArgs {
  const metaInputs: Named = meta.inputs;
  const o = checkObject(where, "options", options, FORWARD_OPTIONS);
  const threads = checkThreads(where, own(o, "threads"));
  const B = checkBatchSize(where, own(o, "batchSize"));
  const arrays = checkParams(where, info, params);
  const i = checkObject(where, "inputs", inputs, namesOf(metaInputs));
  const first = metaInputs[0];
  const T =
    own(o, "timeSteps") !== undefined || !first
      ? checkCount(where, "options.timeSteps", own(o, "timeSteps"))
      : inferSteps(where, own(i, first.name), B, first.size, `inputs.${first.name}`);
  const ins = checkArrays(where, "inputs", i, metaInputs, T, B, true);
  const initial = stateOption(where, o, "initialState", B);
  const masks = stateOption(where, o, "stateMasks", B);
  return { B, T, threads, params: arrays, ins, initial, masks, lengths: own(o, "lengths"), tape: own(o, "tape") };
}

/** The caller's data into a tape's buffers (`buf(id)`: forward buffer `id` as an array). */
export function fillForward(where: string, info: KernelInfo, a: ForwardArgs, buf: (id: number) => Float32Array): void {
  info.fwd.inputs.forEach((x, k) => buf(x.buf).set(a.ins[k]!));
  checkLengths(where, a.lengths, a.B, a.T, buf(info.fwd.active));
  info.fwd.states.forEach((s, k) => {
    const st = buf(s.buf);
    const n = a.B * info.bufs[s.buf]!.width;
    const init = a.initial[k];
    if (init !== undefined) st.set(init);
    else st.fill(0, 0, n);
    const mask = a.masks[k];
    if (mask !== undefined) buf(s.mask).set(mask);
    else buf(s.mask).fill(1, 0, n);
  });
}

/** step's arguments, checked; `ins` and `states` are the caller's arrays ([B, n] each). */
export function stepArgs(where: string, info: KernelInfo, params: unknown, inputs: unknown, state: unknown, batchSize: unknown): { B: number; params: Float32Array[]; ins: Float32Array[]; states: Float32Array[] } {
  const metaInputs: Named = meta.inputs;
  const metaStates: Named = meta.states;
  const B = checkBatchSize(where, batchSize);
  const arrays = checkParams(where, info, params);
  checkObject(where, "inputs", inputs, namesOf(metaInputs));
  checkObject(where, "state", state, namesOf(metaStates));
  const ins = checkArrays(where, "inputs", inputs as object, metaInputs, 0, B, true) as Float32Array[];
  const states = checkArrays(where, "state", state as object, metaStates, 0, B, true) as Float32Array[];
  return { B, params: arrays, ins, states };
}

/** A step's data into a one-step tape: every sample active, states unmasked. */
export function fillStep(info: KernelInfo, s: { B: number; ins: Float32Array[]; states: Float32Array[] }, buf: (id: number) => Float32Array): void {
  info.fwd.inputs.forEach((x, k) => buf(x.buf).set(s.ins[k]!));
  buf(info.fwd.active).fill(1, 0, s.B);
  info.fwd.states.forEach((x, k) => {
    buf(x.buf).set(s.states[k]!);
    buf(x.mask).fill(1, 0, s.B * info.bufs[x.buf]!.width);
  });
}

/** After a step: the states updated in place, the step's outputs as arrays of their own. */
export function stepResult(info: KernelInfo, s: { B: number; states: Float32Array[] }, buf: (id: number) => Float32Array): Tensors {
  info.fwd.states.forEach((x, k) => {
    const n = s.B * info.bufs[x.buf]!.width;
    s.states[k]!.set(buf(x.buf).subarray(n, 2 * n));
  });
  const out: Tensors = {};
  for (const o of info.fwd.outputs) put(out, o.name, buf(o.buf).slice(0, s.B * info.bufs[o.buf]!.width));
  return out;
}

export interface Grads {
  params: Tensors;
  inputs: Tensors;
  initialState: Tensors;
}

/** backward's arguments after the params and the tape, checked in the order the messages promise. */
export interface BackwardArgs {
  threads: number | undefined;
  dOuts: (Float32Array | undefined)[];
  dFinal: (Float32Array | undefined)[];
  inputGradients: boolean;
  grads: Grads;
}

/** `tapeOf(tape)`: the backend's record of a tape it made, undefined for anything else. */
export function backwardArgs<D extends { timeSteps: number; batchSize: number }>(where: string, info: KernelInfo, params: unknown, tapeIn: unknown, tapeOf: (t: object) => D | undefined, dOutputs: unknown, options: unknown): BackwardArgs & { params: Float32Array[]; tape: D } {
  const metaOutputs: Named = meta.outputs;
  const arrays = checkParams(where, info, params);
  const d = typeof tapeIn === "object" && tapeIn !== null ? tapeOf(tapeIn) : undefined;
  if (d === undefined) fail(where, "the tape must come from this kernel's forward");
  const T = d.timeSteps;
  const B = d.batchSize;
  checkObject(where, "dOutputs", dOutputs, namesOf(metaOutputs));
  const o = checkObject(where, "options", options, BACKWARD_OPTIONS);
  const threads = checkThreads(where, own(o, "threads"));
  const dOuts = checkArrays(where, "dOutputs", dOutputs as object, metaOutputs, T, B, false);
  const dFinal = stateOption(where, o, "dFinalState", B);
  const inputGradients = checkFlag(where, "options.inputGradients", own(o, "inputGradients")) !== false;
  const grads = gradientsFor(where, info, own(o, "into"), T, B);
  return { params: arrays, tape: d, threads, dOuts, dFinal, inputGradients, grads };
}

/** The arrays backward writes: `into`'s (checked), or new ones. */
export function gradientsFor(where: string, info: KernelInfo, into: unknown, T: number, B: number): Grads {
  const metaInputs: Named = meta.inputs;
  const metaStates: Named = meta.states;
  const metaParams: ParamList = meta.params;
  if (into === undefined) {
    const inputs: Tensors = {};
    for (const i of metaInputs) put(inputs, i.name, new Float32Array(T * B * i.size));
    const initialState: Tensors = {};
    for (const s of metaStates) put(initialState, s.name, new Float32Array(B * s.size));
    return { params: layoutParams(info), inputs, initialState };
  }
  const g = checkObject(where, "options.into", into, ["params", "inputs", "initialState"]);
  const p = checkObject(where, "options.into.params", own(g, "params"), namesOf(metaParams));
  for (const x of metaParams) {
    const v = own(p, x.name);
    if (!(v instanceof Float32Array && v.length === x.size)) checkArray(where, `options.into.params.${x.name}`, v, x.size, `[${x.shape.join(", ")}]`);
  }
  checkArrays(where, "options.into.inputs", checkObject(where, "options.into.inputs", own(g, "inputs"), namesOf(metaInputs)), metaInputs, T, B, true);
  checkArrays(where, "options.into.initialState", checkObject(where, "options.into.initialState", own(g, "initialState"), namesOf(metaStates)), metaStates, 0, B, true);
  return into as Grads;
}

/** The state gradients entering the last step (`adj(id)`: backward buffer `id` as an array). */
export function fillBackward(info: KernelInfo, B: number, dFinal: (Float32Array | undefined)[], adj: (id: number) => Float32Array): void {
  info.bwd.states.forEach((s, k) => {
    const given = dFinal[k];
    if (given !== undefined) adj(s.carry).set(given);
    else adj(s.carry).fill(0, 0, B * info.bufs[s.carry]!.width);
  });
}

/** After backward's stages: the initial state's gradients out of their carries. */
export function initialStateGradients(info: KernelInfo, B: number, grads: Grads, adj: (id: number) => Float32Array): void {
  for (const s of info.bwd.states) grads.initialState[s.name]!.set(adj(s.carry).subarray(0, B * info.bufs[s.carry]!.width));
}

/** Zero state for a batch. */
export function zeroState(batchSize: unknown): Tensors {
  const metaStates: Named = meta.states;
  const B = checkBatchSize("createState", batchSize);
  const out: Tensors = {};
  for (const s of metaStates) put(out, s.name, new Float32Array(B * s.size));
  return out;
}
