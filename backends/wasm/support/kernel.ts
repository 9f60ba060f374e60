// The JavaScript side of a generated WebAssembly kernel (inlined into every such module; tests
// import it): it checks each call with the TypeScript backend's checks (same messages), puts the
// caller's arrays where the plan's buffers are — in the module's wasm memory — fills the binding
// table with their addresses and calls the entry point (on the worker threads of ./threads.ts when
// a call asks for more than one). Params from createParams() are views of that memory, laid out
// as the plan's weight layout says, so they are read in place; other arrays (and all params where
// the memory cannot be shared) are copied in. Tapes live in the memory too; outputs and final
// states are copied out into arrays the tape owns; a call the memory cannot hold is a
// KernelMemoryError saying what fits. It is driven by a description of the plan (KernelInfo), so
// the code is the same in every module.

import { BACKWARD_OPTIONS, checkArray, checkArrays, checkBatchSize, checkCount, checkFlag, checkLengths, checkObject, checkThreads, fail, FORWARD_OPTIONS, inferSteps, own, stateOption } from "../../ts/support/checks.ts";
import { initParams, paramsSeed, Rng, type InitRule } from "../../ts/support/init.ts";
import { Heap, HeapFull, memoryError, sharedMemorySupported, unsharedBinary, WA, type MemoryNeed } from "./heap.ts";
import { Team, TEAM_BYTES, type TeamEntry } from "./threads.ts";

/** Provided by each generated module. */
declare const meta: {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly size: number }[];
  readonly states: readonly { readonly name: string; readonly size: number }[];
  readonly outputs: readonly { readonly name: string; readonly size: number }[];
  readonly params: readonly { readonly name: string; readonly size: number; readonly shape: readonly number[]; readonly init: InitRule }[];
};

// ---- inline from here

/** Arrays by name (as abi/kernel.ts's Tensors; Float64Array in float64 builds). */
export type Tensors = Record<string, Float32Array>;

/** Sets `o[name]` as an own property, even for a spec name such as `__proto__` (an assignment
 *  would set the object's prototype instead). */
function put(o: Tensors, name: string, v: Float32Array): void {
  Object.defineProperty(o, name, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The plan as the JavaScript side needs it (buffers by id; rows 0 seq, 1 carry, 2 batch, 3 none). */
export interface KernelInfo {
  bufs: { name: string; kind: string; rows: number; width: number; size: number; entry: string }[];
  weights: {
    size: number;
    params: { name: string; buf: number; offset: number; size: number }[];
    packs: { buf: number; offset: number | null; size: number; parts: { param: number; offset: number }[] }[];
  };
  fwd: { inputs: { name: string; buf: number }[]; active: number; states: { name: string; buf: number; mask: number }[]; outputs: { name: string; buf: number }[] };
  bwd: { seeds: { name: string; buf: number }[]; states: { name: string; carry: number }[]; inputs: { name: string; buf: number }[]; params: { name: string; buf: number; param: number }[]; packs: { buf: number; pack: number; parts: { param: number; offset: number }[] }[] };
  /** Elements of each packed-weight panel (table slots after the buffers' and the scratch's). */
  panels: number[];
  /** Bytes of scratch each worker's weight-gradient products need (table slot bufs.length). */
  scratch: number;
}

export interface KernelImpl {
  createParams(options?: unknown): Tensors;
  createState(batchSize?: number): Tensors;
  step(params: Tensors, inputs: Tensors, state: Tensors, batchSize?: number): Tensors;
  forward(params: Tensors, inputs: Tensors, options: object): { outputs: Tensors; finalState: Tensors; tape: object };
  backward(params: Tensors, tape: object, dOutputs: object, options?: object): { params: Tensors; inputs: Tensors; initialState: Tensors };
  /** Threads the last forward, backward or step ran on (absent: the TypeScript fallback, one). */
  threadsUsed?(): number;
}

interface TapeData {
  timeSteps: number;
  batchSize: number;
  /** Threads the forward call ran on (backward's default). */
  threads: number;
  region: number;
  bytes: number;
  /** Address of each forward buffer. */
  addr: Map<number, number>;
  outputs: Tensors;
  finalState: Tensors;
  adj: { region: number; bytes: number; addr: Map<number, number> } | null;
  ballast: ArrayBuffer;
}

/** `threads`: the threads a call runs on when it does not say (its `threads` option); `flagsAt`:
 *  where the binary's memory import says "shared" (see unsharedBinary). */
export function wasmKernel(info: KernelInfo, binary: Uint8Array, host: Record<string, (...x: number[]) => number>, threads: number, flagsAt: number): KernelImpl {
  const E = Float32Array.BYTES_PER_ELEMENT;
  // Without shared memory (a page that is not cross-origin isolated) calls run on one thread, and
  // params are arrays of their own, copied in (growing the memory would detach views of it).
  const shared = sharedMemorySupported();
  const memory = new WA.Memory({ initial: 1, maximum: 65536, shared });
  const module = new WA.Module(shared ? binary : unsharedBinary(binary, flagsAt));
  const instance = new WA.Instance(module, { env: { memory }, m: host });
  const heap = new Heap(memory, 64);
  const team = new Team(memory, heap.alloc(TEAM_BYTES), module, host, instance.exports as unknown as TeamEntry);
  const nbuf = info.bufs.length;
  const tbl = heap.alloc((nbuf + 1 + info.panels.length) * 4);
  const panels = info.panels.map((n) => heap.alloc(n * E));
  const wscratch = heap.alloc(info.weights.size * E);
  const packScratch = info.weights.packs.map((p) => heap.alloc(p.size * E));
  const f32 = () => new Float32Array(heap.buffer());
  const view = (addr: number, n: number) => new Float32Array(heap.buffer(), addr, n);
  const INPUT_NAMES = meta.inputs.map((i) => i.name);
  const STATE_NAMES = meta.states.map((s) => s.name);
  const OUTPUT_NAMES = meta.outputs.map((o) => o.name);
  const tapes = new WeakMap<object, TapeData>();
  const freeOnCollect = new FinalizationRegistry<[number, number][]>((regions) => regions.forEach(([a, n]) => heap.release(a, n)));
  /** Regions of createParams() results, given back when none of their views is reachable. */
  const paramRegions = new FinalizationRegistry<{ addr: number; bytes: number; left: number }>((r) => {
    if (--r.left === 0) heap.release(r.addr, r.bytes);
  });

  const rowsOf = (b: { rows: number }, T: number, B: number) => (b.rows === 0 ? T * B : b.rows === 1 ? (T + 1) * B : b.rows === 2 ? B : 1);
  const layoutName = (p: { name: string }) => `[${meta.params.find((m) => m.name === p.name)!.shape.join(", ")}]`;

  /** Params initialized from their rules (or zero-filled), as the TypeScript kernel's createParams. */
  function createParams(options?: unknown): Tensors {
    const seed = paramsSeed("createParams", options);
    const out = shared ? memoryParams() : plainParams();
    if (seed !== undefined) initParams(out, meta.params, new Rng(seed));
    return out;
  }

  /** Without shared memory, params are ordinary arrays (views of a memory that grows go dead), copied in at each call. */
  function plainParams(): Tensors {
    const all = new Float32Array(info.weights.size);
    const out: Tensors = {};
    for (const p of info.weights.params) put(out, p.name, all.subarray(p.offset, p.offset + p.size));
    return out;
  }

  /** Params as views of the module's memory, read in place by every call. */
  function memoryParams(): Tensors {
    const bytes = info.weights.size * E;
    const addr = heap.alloc(bytes);
    const all = view(addr, info.weights.size);
    const out: Tensors = {};
    const token = { addr, bytes, left: info.weights.params.length };
    for (const p of info.weights.params) {
      const v = all.subarray(p.offset, p.offset + p.size);
      put(out, p.name, v);
      paramRegions.register(v, token);
    }
    if (info.weights.params.length === 0) heap.release(addr, bytes);
    return out;
  }

  /** Checks the caller's params and writes the weights' addresses into the table. */
  function bindWeights(where: string, params: Tensors): void {
    checkObject(where, "params", params, meta.params.map((p) => p.name));
    const t = new Int32Array(heap.buffer(), tbl, nbuf + 1 + panels.length);
    const arrays: Float32Array[] = [];
    for (const p of info.weights.params) {
      const a = checkArray(where, `params.${p.name}`, own(params, p.name), p.size, layoutName(p));
      arrays[p.buf] = a;
    }
    for (const p of info.weights.params) {
      const a = arrays[p.buf]!;
      if (heap.owns(a)) t[p.buf] = a.byteOffset;
      else {
        // Another array: copied to its place in the scratch layout.
        f32().set(a, wscratch / E + p.offset);
        t[p.buf] = wscratch + p.offset * E;
      }
    }
    info.weights.packs.forEach((pk, k) => {
      const parts = pk.parts.map((q) => ({ addr: t[q.param]!, size: info.weights.params.find((p) => p.buf === q.param)!.size, offset: q.offset }));
      const adjacent = parts.every((q, i) => i === 0 || q.addr === parts[i - 1]!.addr + parts[i - 1]!.size * E);
      if (adjacent) t[pk.buf] = parts[0]!.addr;
      else {
        const m = f32();
        for (const q of parts) m.copyWithin(packScratch[k]! / E + q.offset, q.addr / E, q.addr / E + q.size);
        t[pk.buf] = packScratch[k]!;
      }
    });
    panels.forEach((a, i) => (t[nbuf + 1 + i] = a));
  }

  /** Where each forward buffer is in a tape of T steps of B samples, and its bytes. */
  function tapeLayout(T: number, B: number): { bytes: number; offsets: [number, number][] } {
    let bytes = 0;
    const offsets: [number, number][] = [];
    info.bufs.forEach((b, id) => {
      if (b.entry !== "forward") return;
      offsets.push([id, bytes]);
      bytes += Math.ceil((rowsOf(b, T, B) * b.width * E + 16) / 64) * 64;
    });
    return { bytes, offsets };
  }

  /** Where the weight gradients (at 0), each backward buffer and each pack gradient computed
   *  apart are in the adjoints of a tape of T steps of B samples, and their bytes. */
  function adjointLayout(T: number, B: number): { bytes: number; offsets: [number, number][]; packGrads: [number, number][] } {
    let bytes = Math.ceil((info.weights.size * E + 16) / 64) * 64;
    const offsets: [number, number][] = [];
    info.bufs.forEach((b, id) => {
      if (b.entry !== "backward" || b.kind === "grad") return;
      offsets.push([id, bytes]);
      bytes += Math.ceil((rowsOf(b, T, B) * b.width * E + 16) / 64) * 64;
    });
    const packGrads: [number, number][] = [];
    for (const pk of info.bwd.packs) {
      const layout = info.weights.packs.find((w) => w.buf === pk.pack)!;
      if (layout.offset !== null) continue;
      packGrads.push([pk.buf, bytes]);
      bytes += Math.ceil((layout.size * E + 16) / 64) * 64;
    }
    return { bytes, offsets, packGrads };
  }

  /** What calls need at other sizes, for the out-of-memory error. */
  const forwardNeed: MemoryNeed = { label: "forward alone", bytes: (T, B) => tapeLayout(T, B).bytes };
  const trainingNeed: MemoryNeed = { label: "forward and backward", bytes: (T, B) => tapeLayout(T, B).bytes + adjointLayout(T, B).bytes };

  /** A region for a call at T, B; out of memory, a KernelMemoryError saying what fits (`spare`:
   *  bytes the call holds already). */
  function reserve(where: string, what: string, bytes: number, T: number, B: number, needs: MemoryNeed[], spare = 0): number {
    try {
      return heap.alloc(bytes);
    } catch (e) {
      if (e instanceof HeapFull) throw memoryError(`${meta.name}.${where}`, what, T, B, e, needs, spare);
      throw e;
    }
  }

  /** Regions of a tape: every forward buffer, laid out for T steps of B samples. */
  function allocTape(T: number, B: number, reuse: unknown, where: string): TapeData {
    if (reuse !== undefined) {
      const given = typeof reuse === "object" && reuse !== null ? tapes.get(reuse) : undefined;
      if (!given) fail("forward", "options.tape was not made by this kernel");
      if (given.timeSteps === T && given.batchSize === B) return given;
    }
    const addr = new Map<number, number>();
    const { bytes, offsets } = tapeLayout(T, B);
    const region = reserve(where, "its tape", bytes, T, B, [forwardNeed, trainingNeed]);
    for (const [id, off] of offsets) addr.set(id, region + off);
    const outputs: Tensors = {};
    for (const o of info.fwd.outputs) put(outputs, o.name, new Float32Array(T * B * info.bufs[o.buf]!.width));
    const finalState: Tensors = {};
    for (const s of info.fwd.states) put(finalState, s.name, new Float32Array(B * info.bufs[s.buf]!.width));
    // The ballast tells the garbage collector how much memory the tape holds, so tapes nobody
    // reuses are collected (and their regions given back) as often as TypeScript tapes would be.
    const data: TapeData = { timeSteps: T, batchSize: B, threads, region, bytes, addr, outputs, finalState, adj: null, ballast: new ArrayBuffer(bytes) };
    const tape = { timeSteps: T, batchSize: B };
    tapes.set(tape, data);
    const regions: [number, number][] = [[region, bytes]];
    freeOnCollect.register(tape, regions);
    (data as TapeData & { regions: [number, number][] }).regions = regions;
    return Object.assign(data, { tape });
  }

  function tapeOf(d: TapeData): object {
    return (d as TapeData & { tape: object }).tape;
  }

  /** The backward buffers of a tape: adjoints, seeds, input gradients and the gradients. */
  function allocAdjoints(d: TapeData): NonNullable<TapeData["adj"]> {
    const T = d.timeSteps;
    const B = d.batchSize;
    const addr = new Map<number, number>();
    const grads = 0;
    const { bytes, offsets, packGrads } = adjointLayout(T, B);
    const region = reserve("backward", "its adjoints", bytes, T, B, [trainingNeed], d.bytes);
    for (const [id, off] of offsets) addr.set(id, region + off);
    for (const [id, off] of packGrads) addr.set(id, region + off);
    const offsetOf = (param: number) => info.weights.params.find((p) => p.buf === param)!.offset;
    for (const p of info.bwd.params) addr.set(p.buf, region + grads + offsetOf(p.param) * E);
    for (const pk of info.bwd.packs) {
      const layout = info.weights.packs.find((w) => w.buf === pk.pack)!;
      if (layout.offset !== null) addr.set(pk.buf, region + grads + layout.offset * E);
    }
    addr.set(-1, region + grads);
    (d as TapeData & { regions: [number, number][] }).regions.push([region, bytes]);
    d.ballast = new ArrayBuffer(d.bytes + bytes);
    return { region, bytes, addr };
  }

  /** Scratch for `threads` workers' weight-gradient packing (only backward has weight gradients),
   *  its address in the table. */
  let scratch = { addr: 0, bytes: 0 };
  function bindScratch(threads: number): void {
    const bytes = info.scratch * threads;
    if (bytes > scratch.bytes) {
      if (scratch.bytes > 0) heap.release(scratch.addr, scratch.bytes);
      scratch = { addr: heap.alloc(bytes, false), bytes };
    }
    new Int32Array(heap.buffer(), tbl, nbuf + 1)[nbuf] = scratch.addr;
  }

  function bindTape(d: TapeData): void {
    const t = new Int32Array(heap.buffer(), tbl, nbuf + 1 + panels.length);
    for (const [id, a] of d.addr) t[id] = a;
    if (d.adj) for (const [id, a] of d.adj.addr) if (id >= 0) t[id] = a;
  }

  /** forward's work after the checks: the caller's data into the tape, the entry point, results out. */
  function runForward(d: TapeData, ins: (Float32Array | undefined)[], initial: (Float32Array | undefined)[], masks: (Float32Array | undefined)[], lengths: unknown, where: string, nt: number): void {
    const T = d.timeSteps;
    const B = d.batchSize;
    const m = f32();
    info.fwd.inputs.forEach((i, k) => m.set(ins[k]!, d.addr.get(i.buf)! / E));
    checkLengths(where, lengths, B, T, view(d.addr.get(info.fwd.active)!, T * B));
    info.fwd.states.forEach((s, k) => {
      const st = d.addr.get(s.buf)! / E;
      const n = B * info.bufs[s.buf]!.width;
      if (initial[k] !== undefined) m.set(initial[k], st);
      else m.fill(0, st, st + n);
      const mk = d.addr.get(s.mask)! / E;
      if (masks[k] !== undefined) m.set(masks[k], mk);
      else m.fill(1, mk, mk + n);
    });
    bindTape(d);
    d.threads = nt;
    team.run({ entry: "forward", tbl, T, B, ig: 0 }, nt);
    const m2 = f32();
    for (const o of info.fwd.outputs) {
      const a = d.addr.get(o.buf)! / E;
      d.outputs[o.name]!.set(m2.subarray(a, a + T * B * info.bufs[o.buf]!.width));
    }
    for (const s of info.fwd.states) {
      const n = B * info.bufs[s.buf]!.width;
      const a = d.addr.get(s.buf)! / E + T * n;
      d.finalState[s.name]!.set(m2.subarray(a, a + n));
    }
  }

  function forward(params: Tensors, inputs: Tensors, options: object): { outputs: Tensors; finalState: Tensors; tape: object } {
    const where = "forward";
    checkObject(where, "options", options, FORWARD_OPTIONS);
    const nt = checkThreads(where, own(options, "threads")) ?? threads;
    const B = checkBatchSize(where, own(options, "batchSize"));
    bindWeights(where, params);
    checkObject(where, "inputs", inputs, INPUT_NAMES);
    const first = meta.inputs[0];
    const T =
      own(options, "timeSteps") !== undefined || !first
        ? checkCount(where, "options.timeSteps", own(options, "timeSteps"))
        : inferSteps(where, own(inputs, first.name), B, first.size, `inputs.${first.name}`);
    const ins = checkArrays(where, "inputs", inputs, meta.inputs, T, B, true);
    const initial = stateOption(where, options, "initialState", B);
    const masks = stateOption(where, options, "stateMasks", B);
    const d = allocTape(T, B, own(options, "tape"), where);
    runForward(d, ins, initial, masks, own(options, "lengths"), where, nt);
    return { outputs: d.outputs, finalState: d.finalState, tape: tapeOf(d) };
  }

  let stepCache: TapeData | null = null;

  function step(params: Tensors, inputs: Tensors, state: Tensors, batchSize: number = 1): Tensors {
    const where = "step";
    const B = checkBatchSize(where, batchSize);
    bindWeights(where, params);
    checkObject(where, "inputs", inputs, INPUT_NAMES);
    checkObject(where, "state", state, STATE_NAMES);
    const ins = checkArrays(where, "inputs", inputs, meta.inputs, 0, B, true);
    const states = checkArrays(where, "state", state, meta.states, 0, B, true);
    if (stepCache === null || stepCache.batchSize !== B) stepCache = allocTape(1, B, undefined, where);
    const d = stepCache;
    runForward(d, ins, states, [], undefined, where, threads);
    info.fwd.states.forEach((s, k) => states[k]!.set(d.finalState[s.name]!));
    const out: Tensors = {};
    for (const o of info.fwd.outputs) put(out, o.name, d.outputs[o.name]!.slice());
    return out;
  }

  function gradientsFor(where: string, into: unknown, T: number, B: number): { params: Tensors; inputs: Tensors; initialState: Tensors } {
    if (into === undefined) {
      const all = new Float32Array(info.weights.size);
      const params: Tensors = {};
      for (const p of info.weights.params) put(params, p.name, all.subarray(p.offset, p.offset + p.size));
      const inputs: Tensors = {};
      for (const i of meta.inputs) put(inputs, i.name, new Float32Array(T * B * i.size));
      const initialState: Tensors = {};
      for (const s of meta.states) put(initialState, s.name, new Float32Array(B * s.size));
      return { params, inputs, initialState };
    }
    const g = checkObject(where, "options.into", into, ["params", "inputs", "initialState"]);
    const p = checkObject(where, "options.into.params", own(g, "params"), meta.params.map((x) => x.name));
    for (const x of meta.params) checkArray(where, `options.into.params.${x.name}`, own(p, x.name), x.size, `[${x.shape.join(", ")}]`);
    checkArrays(where, "options.into.inputs", checkObject(where, "options.into.inputs", own(g, "inputs"), INPUT_NAMES), meta.inputs, T, B, true);
    checkArrays(where, "options.into.initialState", checkObject(where, "options.into.initialState", own(g, "initialState"), STATE_NAMES), meta.states, 0, B, true);
    return into as { params: Tensors; inputs: Tensors; initialState: Tensors };
  }

  function backward(params: Tensors, tapeIn: object, dOutputs: object, options: object = {}): { params: Tensors; inputs: Tensors; initialState: Tensors } {
    const where = "backward";
    bindWeights(where, params);
    const d = typeof tapeIn === "object" && tapeIn !== null ? tapes.get(tapeIn) : undefined;
    if (!d) fail(where, "the tape must come from this kernel's forward");
    const T = d.timeSteps;
    const B = d.batchSize;
    checkObject(where, "dOutputs", dOutputs, OUTPUT_NAMES);
    checkObject(where, "options", options, BACKWARD_OPTIONS);
    const nt = checkThreads(where, own(options, "threads")) ?? d.threads;
    const dOuts = checkArrays(where, "dOutputs", dOutputs, meta.outputs, T, B, false);
    const dFinal = stateOption(where, options, "dFinalState", B);
    const inputGradients = checkFlag(where, "options.inputGradients", own(options, "inputGradients")) !== false;
    const grads = gradientsFor(where, own(options, "into"), T, B);
    const adj = (d.adj ??= allocAdjoints(d));
    const m = f32();
    info.bwd.states.forEach((s, k) => {
      const a = adj.addr.get(s.carry)! / E;
      if (dFinal[k] !== undefined) m.set(dFinal[k], a);
      else m.fill(0, a, a + B * info.bufs[s.carry]!.width);
    });
    const g0 = adj.addr.get(-1)! / E;
    m.fill(0, g0, g0 + info.weights.size);
    for (const pk of info.bwd.packs) {
      if (info.weights.packs.find((w) => w.buf === pk.pack)!.offset !== null) continue;
      const a = adj.addr.get(pk.buf)! / E;
      m.fill(0, a, a + info.bufs[pk.buf]!.size);
    }
    info.bwd.seeds.forEach((s, k) => {
      const a = adj.addr.get(s.buf)! / E;
      const given = dOuts[k];
      if (given !== undefined) m.set(given, a);
      else m.fill(0, a, a + T * B * info.bufs[s.buf]!.width);
    });
    bindTape(d);
    bindScratch(nt);
    team.run({ entry: "backward", tbl, T, B, ig: inputGradients ? 1 : 0 }, nt);
    const m2 = f32();
    // Pack gradients computed apart from their parts (a param in two packs) are added into them.
    for (const pk of info.bwd.packs) {
      if (info.weights.packs.find((w) => w.buf === pk.pack)!.offset !== null) continue;
      const a = adj.addr.get(pk.buf)! / E;
      for (const q of pk.parts) {
        const p = info.weights.params.find((x) => x.buf === q.param)!;
        for (let j = 0, d = g0 + p.offset; j < p.size; j++) m2[d + j] = m2[d + j]! + m2[a + q.offset + j]!;
      }
    }
    for (const p of info.weights.params) grads.params[p.name]!.set(m2.subarray(g0 + p.offset, g0 + p.offset + p.size));
    for (const i of info.bwd.inputs) {
      const a = adj.addr.get(i.buf)! / E;
      grads.inputs[i.name]!.set(m2.subarray(a, a + T * B * info.bufs[i.buf]!.width));
    }
    for (const s of info.bwd.states) {
      const a = adj.addr.get(s.carry)! / E;
      grads.initialState[s.name]!.set(m2.subarray(a, a + B * info.bufs[s.carry]!.width));
    }
    return grads;
  }

  function createState(batchSize: number = 1): Tensors {
    const B = checkBatchSize("createState", batchSize);
    const out: Tensors = {};
    for (const s of meta.states) put(out, s.name, new Float32Array(B * s.size));
    return out;
  }

  return { createParams, createState, step, forward, backward, memoryInUse: () => heap.used(), threadsUsed: () => team.last } as KernelImpl;
}
