// The JavaScript side of a generated WebAssembly kernel (inlined into every such module; tests
// import it): the entry runtime every module shares (../../ts/support/entry.ts: checks, lengths,
// states, masks, gradient targets and add-back) over buffers in the module's wasm memory; it puts
// the caller's arrays where the plan's buffers are, fills the binding
// table with their addresses and calls the entry point (on the worker threads of ./threads.ts when
// a call asks for more than one). Params from createParams() are views of that memory, laid out
// as the plan's weight layout says, so they are read in place; other arrays (and all params where
// the memory cannot be shared) are copied in. Tapes live in the memory too; outputs and final
// states are copied out into arrays the tape owns; a call the memory cannot hold is a
// KernelMemoryError saying what fits. It is driven by the kernel's descriptor (WasmKernelInfo), so
// the code is the same in every module.

import { addPackGradients, backwardArgs, bufLength, fillBackward, fillForward, fillStep, forwardArgs, gradientTargets, initialStateGradients, layoutParams, packWeights, put, stepArgs, stepResult, zeroState, type ForwardArgs, type KernelImpl, type KernelInfo, type Tensors } from "../../ts/support/entry.ts";
import { fail } from "../../ts/support/checks.ts";
import { Rng, type InitRule } from "../../../abi/init.ts";
import { initParams, paramsSeed } from "../../ts/support/init.ts";
import { Heap, HeapFull, memoryError, sharedMemorySupported, unsharedBinary, WA, type MemoryNeed } from "./heap.ts";
import { Team, TEAM_BYTES, type TeamEntry } from "./threads.ts";

/** Provided by each generated module. */
declare const meta: {
  readonly name: string;
  readonly params: readonly { readonly name: string; readonly size: number; readonly shape: readonly number[]; readonly init: InitRule }[];
};

// ---- inline from here

/** The kernel's descriptor (support/entry.ts) and what the wasm memory needs besides. */
export interface WasmKernelInfo extends KernelInfo {
  /** Elements of each packed-weight panel (table slots after the buffers' and the scratch's). */
  panels: number[];
  /** Bytes of scratch each worker's weight-gradient products need (table slot bufs.length). */
  scratch: number;
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
export function wasmKernel(info: WasmKernelInfo, binary: Uint8Array, host: Record<string, (...x: number[]) => number>, threads: number, flagsAt: number): KernelImpl {
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
  const tapes = new WeakMap<object, TapeData>();
  const freeOnCollect = new FinalizationRegistry<[number, number][]>((regions) => regions.forEach(([a, n]) => heap.release(a, n)));
  /** Regions of createParams() results, given back when none of their views is reachable. */
  const paramRegions = new FinalizationRegistry<{ addr: number; bytes: number; left: number }>((r) => {
    if (--r.left === 0) heap.release(r.addr, r.bytes);
  });

  /** Params initialized from their rules (or zero-filled), as the TypeScript kernel's createParams. */
  function createParams(options?: unknown): Tensors {
    const seed = paramsSeed("createParams", options);
    // Without shared memory, params are ordinary arrays (views of a memory that grows go dead), copied in at each call.
    const out = shared ? memoryParams() : layoutParams(info);
    if (seed !== undefined) initParams(out, meta.params, new Rng(seed));
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

  /** The checked params' addresses (and each stacked matrix's) into the table: read in place
   *  where they are views of the memory, else copied to their place in the scratch layout. */
  function bindWeights(arrays: Float32Array[]): void {
    const t = new Int32Array(heap.buffer(), tbl, nbuf + 1 + panels.length);
    const m = f32();
    const views = info.weights.params.map((p, i) => {
      const a = arrays[i]!;
      if (heap.owns(a)) return a;
      const v = m.subarray(wscratch / E + p.offset, wscratch / E + p.offset + p.size);
      v.set(a);
      return v;
    });
    info.weights.params.forEach((p, i) => (t[p.buf] = views[i]!.byteOffset));
    const packs = packWeights(info, views, (k) => m.subarray(packScratch[k]! / E, packScratch[k]! / E + info.weights.packs[k]!.size));
    packs.forEach((a, k) => (t[info.weights.packs[k]!.buf] = a.byteOffset));
    panels.forEach((a, i) => (t[nbuf + 1 + i] = a));
  }

  /** Where each forward buffer is in a tape of T steps of B samples, and its bytes. */
  function tapeLayout(T: number, B: number): { bytes: number; offsets: [number, number][] } {
    let bytes = 0;
    const offsets: [number, number][] = [];
    info.bufs.forEach((b, id) => {
      if (b.entry !== "forward") return;
      offsets.push([id, bytes]);
      bytes += Math.ceil((bufLength(b, T, B) * E + 16) / 64) * 64;
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
      bytes += Math.ceil((bufLength(b, T, B) * E + 16) / 64) * 64;
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

  /** A forward buffer of a tape (or a backward one of its adjoints) as an array over the memory. */
  const bufOf = (addr: Map<number, number>, T: number, B: number) => (id: number) => view(addr.get(id)!, bufLength(info.bufs[id]!, T, B));

  function forward(params: Tensors, inputs: Tensors, options: object): { outputs: Tensors; finalState: Tensors; tape: object } {
    const where = "forward";
    const a: ForwardArgs = forwardArgs(where, info, params, inputs, options);
    bindWeights(a.params);
    const { T, B } = a;
    const d = allocTape(T, B, a.tape, where);
    fillForward(where, info, a, bufOf(d.addr, T, B));
    run(d, "forward", T, B, 0, a.threads ?? threads);
    const m = f32();
    for (const o of info.fwd.outputs) {
      const at = d.addr.get(o.buf)! / E;
      d.outputs[o.name]!.set(m.subarray(at, at + T * B * info.bufs[o.buf]!.width));
    }
    for (const s of info.fwd.states) {
      const n = B * info.bufs[s.buf]!.width;
      const at = d.addr.get(s.buf)! / E + T * n;
      d.finalState[s.name]!.set(m.subarray(at, at + n));
    }
    return { outputs: d.outputs, finalState: d.finalState, tape: tapeOf(d) };
  }

  /** The tape's (and its adjoints') addresses into the table, then the entry point on `nt` threads. */
  function run(d: TapeData, entry: "forward" | "backward", T: number, B: number, ig: number, nt: number): void {
    const t = new Int32Array(heap.buffer(), tbl, nbuf + 1 + panels.length);
    for (const [id, a] of d.addr) t[id] = a;
    if (d.adj) for (const [id, a] of d.adj.addr) if (id >= 0) t[id] = a;
    if (entry === "forward") d.threads = nt;
    team.run({ entry, tbl, T, B, ig }, nt);
  }

  let stepCache: TapeData | null = null;

  function step(params: Tensors, inputs: Tensors, state: Tensors, batchSize: number = 1): Tensors {
    const where = "step";
    const s = stepArgs(where, info, params, inputs, state, batchSize);
    bindWeights(s.params);
    if (stepCache === null || stepCache.batchSize !== s.B) stepCache = allocTape(1, s.B, undefined, where);
    const d = stepCache;
    fillStep(info, s, bufOf(d.addr, 1, s.B));
    run(d, "forward", 1, s.B, 0, threads);
    return stepResult(info, s, bufOf(d.addr, 1, s.B));
  }

  function backward(params: Tensors, tapeIn: object, dOutputs: object, options: object = {}): { params: Tensors; inputs: Tensors; initialState: Tensors } {
    const a = backwardArgs("backward", info, params, tapeIn, (t) => tapes.get(t), dOutputs, options);
    bindWeights(a.params);
    const d = a.tape;
    const T = d.timeSteps;
    const B = d.batchSize;
    const nt = a.threads ?? d.threads;
    const adj = (d.adj ??= allocAdjoints(d));
    // The last allocation of the call (views of the memory made before one may go dead).
    bindScratch(nt);
    const adjOf = bufOf(adj.addr, T, B);
    fillBackward(info, B, a.dFinal, adjOf);
    const m = f32();
    const g0 = adj.addr.get(-1)! / E;
    // The weight gradients, at their places in the layout; a pack's in place where the layout
    // stacks its parts, else in its region of the adjoints (added into them after).
    const grads = info.weights.params.map((p) => m.subarray(g0 + p.offset, g0 + p.offset + p.size));
    const targets = gradientTargets(info, grads, (k) => {
      const pk = info.bwd.packs.find((x) => x.pack === info.weights.packs[k]!.buf)!;
      if (info.weights.packs[k]!.offset !== null) fail("backward", "a pack's gradient lost its place (a bug in cellc)");
      return adjOf(pk.buf);
    });
    info.bwd.packs.forEach((pk, k) => adj.addr.set(pk.buf, targets.packs[k]!.byteOffset));
    info.bwd.seeds.forEach((s, k) => {
      const given = a.dOuts[k];
      if (given !== undefined) adjOf(s.buf).set(given);
      else adjOf(s.buf).fill(0);
    });
    run(d, "backward", T, B, a.inputGradients ? 1 : 0, nt);
    addPackGradients(info, grads, targets);
    info.weights.params.forEach((p, i) => a.grads.params[p.name]!.set(grads[i]!));
    for (const i of info.bwd.inputs) a.grads.inputs[i.name]!.set(adjOf(i.buf));
    initialStateGradients(info, B, a.grads, adjOf);
    return a.grads;
  }

  return { createParams, createState: zeroState, step, forward, backward, memoryInUse: () => heap.used(), threadsUsed: () => team.last } as KernelImpl;
}
