// The JavaScript side of a generated WebGPU kernel (inlined into every such module; tests import
// it). It checks each call with the TypeScript backend's checks (same messages), keeps the weights
// in a GPU buffer (writing again only the span whose numbers changed), a tape's forward
// buffers in one GPU buffer and its backward buffers in another, replays the plan's dispatches
// in one compute pass, and reads the results back: forward and backward return promises. A loop
// stage runs one of three ways: the persistent kernel (../fused.ts: one dispatch loops over T),
// a fused dispatch per step, or a dispatch per op per step (../wgsl.ts); the size rule's choice
// unless useDispatch forces one. A shader module and pipeline are made for an entry point the
// first time a call dispatches it (the others are never compiled). WGSL is float32 only. Where no WebGPU
// adapter exists the calls reject with a message saying so (useDevice() takes a device made
// elsewhere, e.g. by Node's `webgpu` package).

import { BACKWARD_OPTIONS, FORWARD_OPTIONS } from "../../../abi/checks.ts";
import { encodeRuns, entriesOf, routeStages, type GpuPass, type GpuPath, type GpuRun, type GpuStageInfo } from "./dispatch.ts";
import { checkArray, checkArrays, checkBatchSize, checkCount, checkFlag, checkLengths, checkObject, checkThreads, fail, inferSteps, own, stateOption } from "../../ts/support/checks.ts";

/** Provided by each generated module. */
declare const meta: {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly size: number }[];
  readonly states: readonly { readonly name: string; readonly size: number }[];
  readonly outputs: readonly { readonly name: string; readonly size: number }[];
  readonly params: readonly { readonly name: string; readonly size: number; readonly shape: readonly number[] }[];
};

// ---- inline from here

/** Arrays by name (as abi/kernel.ts's Tensors). */
type GpuTensors = Record<string, Float32Array>;

/** The part of the WebGPU API this file uses (the project compiles without the DOM's types). */
interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuEncoder {
  beginComputePass(): GpuPass;
  copyBufferToBuffer(src: GpuBuffer, so: number, dst: GpuBuffer, d: number, n: number): void;
  clearBuffer(b: GpuBuffer, offset?: number, size?: number): void;
  finish(): unknown;
}
export interface GpuDevice {
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxComputeWorkgroupsPerDimension: number };
  readonly queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView, dataOffset?: number, size?: number): void; submit(c: unknown[]): void; onSubmittedWorkDone(): Promise<void> };
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createShaderModule(d: { code: string }): { getCompilationInfo(): Promise<{ messages: readonly { type: string; message: string; lineNum: number }[] }> };
  createBindGroupLayout(d: object): unknown;
  createPipelineLayout(d: object): unknown;
  createComputePipelineAsync(d: object): Promise<unknown>;
  createBindGroup(d: object): unknown;
  createCommandEncoder(): GpuEncoder;
  pushErrorScope(filter: string): void;
  popErrorScope(): Promise<{ message: string } | null>;
}
interface GpuAdapter {
  readonly limits: Record<string, number>;
  requestDevice(d?: object): Promise<GpuDevice>;
}

/** GPUBufferUsage and GPUMapMode values (the globals are absent in Node without a WebGPU binding). */
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/** The plan as the GPU side needs it (see ../wgsl.ts). */
export interface GpuInfo {
  /** Each plan buffer: its width (size for a rows-"none" buffer), rows (0 seq, 1 carry, 2 batch, 3 none) and place. */
  bufs: { width: number; rows: number; mem: number; at: [number, number, number] }[];
  /** Each memory's size: a·T·B + b·B + c elements. */
  sizes: [number, number, number][];
  weights: {
    size: number;
    params: { name: string; buf: number; offset: number; size: number }[];
    packs: { buf: number; offset: number | null; size: number; parts: { param: number; offset: number }[] }[];
  };
  fwd: { inputs: { name: string; buf: number }[]; active: number; states: { name: string; buf: number; mask: number }[]; outputs: { name: string; buf: number }[] };
  bwd: { seeds: { name: string; buf: number }[]; states: { name: string; carry: number }[]; inputs: { name: string; buf: number }[]; params: { name: string; buf: number; param: number }[]; packs: { buf: number; pack: number; parts: { param: number; offset: number }[] }[] };
  forward: GpuStageInfo[];
  backward: GpuStageInfo[];
}

/** What the generated module exports, around the TypeScript kernel's synchronous functions. */
export interface GpuKernelImpl {
  forward(params: GpuTensors, inputs: GpuTensors, options: object): Promise<{ outputs: GpuTensors; finalState: GpuTensors; tape: object }>;
  backward(params: GpuTensors, tape: object, dOutputs: object, options?: object): Promise<{ params: GpuTensors; inputs: GpuTensors; initialState: GpuTensors }>;
  useDevice(device: GpuDevice): void;
  /** Forces a path for the loop stages that have it ("auto": the size rule's choice). */
  useDispatch(path: GpuPath | "auto"): void;
  /** The path each loop stage took in the last forward and backward. */
  paths(): { forward: GpuPath[]; backward: GpuPath[] };
  device(): Promise<GpuDevice>;
}

function putGpu(o: GpuTensors, name: string, v: Float32Array): void {
  Object.defineProperty(o, name, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A WebGPU device from the environment's navigator.gpu, with the adapter's largest buffers. */
async function defaultDevice(): Promise<GpuDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapter | null> } } }).navigator?.gpu;
  if (!gpu) fail("forward", "WebGPU is not available here (no navigator.gpu): run the TypeScript or WebAssembly kernel of this spec instead, or pass a device to useDevice()");
  const adapter = await gpu.requestAdapter();
  if (!adapter) fail("forward", "WebGPU has no adapter here (navigator.gpu.requestAdapter() gave none): run the TypeScript or WebAssembly kernel of this spec instead");
  const lim = adapter.limits;
  return adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: lim["maxStorageBufferBindingSize"], maxBufferSize: lim["maxBufferSize"] } });
}

interface GpuTape {
  T: number;
  B: number;
  f: GpuBuffer;
  g: GpuBuffer | null;
  uniforms: GpuBuffer;
  outputs: GpuTensors;
  finalState: GpuTensors;
}

export function webgpuKernel(info: GpuInfo, head: string, entries: readonly string[]): GpuKernelImpl {
  const E = 4;
  const INPUT_NAMES = meta.inputs.map((i) => i.name);
  const STATE_NAMES = meta.states.map((s) => s.name);
  const OUTPUT_NAMES = meta.outputs.map((o) => o.name);
  const tapes = new WeakMap<object, GpuTape>();
  const release = new FinalizationRegistry<GpuBuffer[]>((bufs) => bufs.forEach((b) => b.destroy()));
  let given: GpuDevice | undefined;
  let ready: Promise<{ dev: GpuDevice; pipelineLayout: unknown; layout: unknown; weights: GpuBuffer; dummy: GpuBuffer }> | undefined;
  /** Pipelines by entry point, made the first time a call needs them. */
  const pipelines = new Map<number, Promise<unknown>>();
  let forced: GpuPath | "auto" = "auto";
  const last: { forward: GpuPath[]; backward: GpuPath[] } = { forward: [], backward: [] };
  /** The weights last uploaded, to skip uploading the same numbers again. */
  let uploaded: Float32Array | undefined;
  const size = (s: [number, number, number], T: number, B: number) => s[0] * T * B + s[1] * B + s[2];
  const place = (id: number, T: number, B: number) => size(info.bufs[id]!.at, T, B);

  function setup() {
    return (ready ??= (async () => {
      const dev = given ?? (await defaultDevice());
      dev.pushErrorScope("validation");
      const storage = { buffer: { type: "storage" } };
      const bgl = dev.createBindGroupLayout({
        entries: [0, 1, 2].map((binding) => ({ binding, visibility: 4, ...storage })).concat([{ binding: 3, visibility: 4, buffer: { type: "uniform", hasDynamicOffset: true } } as never]),
      });
      const pipelineLayout = dev.createPipelineLayout({ bindGroupLayouts: [bgl] });
      const weights = dev.createBuffer({ size: Math.max(16, size(info.sizes[0]!, 0, 0) * E), usage: STORAGE | COPY_DST });
      const dummy = dev.createBuffer({ size: 16, usage: STORAGE });
      const err = await dev.popErrorScope();
      if (err) throw new Error(`${meta.name}: WebGPU refused the kernel's pipelines (a bug in cellc's webgpu backend): ${err.message}`);
      return { dev, pipelineLayout, layout: bgl, weights, dummy };
    })());
  }

  /** The stages a call runs with their paths, and their pipelines, made (once) and ready. */
  async function route(s: Awaited<ReturnType<typeof setup>>, stages: GpuStageInfo[], inputGradients: boolean): Promise<{ runs: GpuRun[]; ready: Map<number, unknown> }> {
    const runs = routeStages(stages, inputGradients, forced);
    const made = await Promise.all(
      entriesOf(runs).map(async (e) => {
        let p = pipelines.get(e);
        if (p === undefined) {
          p = (async () => {
            // Its own small shader module (head + entry + the helpers it calls): on SwiftShader
            // this was no slower than one module for every entry point, often faster.
            const module = s.dev.createShaderModule({ code: head + entries[e] });
            const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
            if (errors.length) throw new Error(`${meta.name}: the WGSL of op${e} does not compile (a bug in cellc's webgpu backend): ${errors.map((m) => `line ${m.lineNum}: ${m.message}`).join("; ")}`);
            return s.dev.createComputePipelineAsync({ layout: s.pipelineLayout, compute: { module, entryPoint: `op${e}` } }).catch((err: Error) => {
              throw new Error(`${meta.name}: WebGPU refused the pipeline of op${e} (a bug in cellc's webgpu backend): ${err.message}`);
            });
          })();
          pipelines.set(e, p);
        }
        return [e, await p] as const;
      }),
    );
    return { runs, ready: new Map(made) };
  }

  /** The caller's params checked and put in the weight memory's layout; uploaded when changed. */
  function weightData(where: string, params: GpuTensors): Float32Array {
    checkObject(where, "params", params, meta.params.map((p) => p.name));
    const data = new Float32Array(size(info.sizes[0]!, 0, 0));
    for (const p of info.weights.params) {
      const m = meta.params.find((x) => x.name === p.name)!;
      data.set(checkArray(where, `params.${p.name}`, own(params, p.name), p.size, `[${m.shape.join(", ")}]`), p.offset);
    }
    for (const pk of info.weights.packs) {
      if (pk.offset !== null) continue;
      const at = info.bufs[pk.buf]!.at[2];
      for (const q of pk.parts) {
        const p = info.weights.params.find((x) => x.buf === q.param)!;
        data.copyWithin(at + q.offset, p.offset, p.offset + p.size);
      }
    }
    return data;
  }

  /** Writes the span of `data` that differs from the last upload (all of it the first time). */
  function upload(dev: GpuDevice, weights: GpuBuffer, data: Float32Array): void {
    let lo = 0;
    let hi = data.length;
    if (uploaded && uploaded.length === hi) {
      while (lo < hi && Object.is(uploaded[lo], data[lo])) lo++;
      while (hi > lo && Object.is(uploaded[hi - 1], data[hi - 1])) hi--;
    }
    if (hi > lo) dev.queue.writeBuffer(weights, lo * E, data, lo, hi - lo);
    uploaded = data;
  }

  function bytes(dev: GpuDevice, what: string, n: number, T: number, B: number): number {
    const b = Math.max(16, n * E);
    if (b > dev.limits.maxStorageBufferBindingSize) fail("forward", `${what} at timeSteps ${T}, batchSize ${B} needs ${b} bytes of GPU memory in one buffer; this device allows ${dev.limits.maxStorageBufferBindingSize}: use fewer steps or samples per call`);
    return b;
  }

  /** The rows a dispatch covers, per step (k < T: step k) and for all rows (k = T), 256 bytes apart. */
  function uniforms(dev: GpuDevice, T: number, B: number): GpuBuffer {
    const u = new Uint32Array((T + 1) * 64);
    for (let k = 0; k <= T; k++) u.set(k < T ? [k * B, B, B, T] : [0, T * B, B, T], k * 64);
    const buf = dev.createBuffer({ size: u.byteLength, usage: UNIFORM | COPY_DST });
    dev.queue.writeBuffer(buf, 0, u);
    return buf;
  }

  function encode(s: Awaited<ReturnType<typeof setup>>, r: Awaited<ReturnType<typeof route>>, group: unknown, T: number, B: number, enc: GpuEncoder): GpuPath[] {
    const pass = enc.beginComputePass();
    const paths = encodeRuns(pass, r.ready, r.runs, group, T, B, s.dev.limits.maxComputeWorkgroupsPerDimension);
    pass.end();
    return paths;
  }

  /** Reads `parts` ([memory buffer, element offset, element count]) back in one mapping. */
  async function readBack(dev: GpuDevice, enc: GpuEncoder, parts: [GpuBuffer, number, number][]): Promise<Float32Array[]> {
    const total = parts.reduce((n, p) => n + p[2], 0);
    const staging = dev.createBuffer({ size: Math.max(16, total * E), usage: MAP_READ | COPY_DST });
    let at = 0;
    for (const [src, off, n] of parts) {
      if (n > 0) enc.copyBufferToBuffer(src, off * E, staging, at * E, n * E);
      at += n;
    }
    dev.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_READ);
    const all = new Float32Array(staging.getMappedRange().slice(0, total * E));
    staging.unmap();
    staging.destroy();
    at = 0;
    return parts.map(([, , n]) => all.subarray(at, (at += n)));
  }

  async function forward(params: GpuTensors, inputs: GpuTensors, options: object): Promise<{ outputs: GpuTensors; finalState: GpuTensors; tape: object }> {
    const where = "forward";
    checkObject(where, "options", options, FORWARD_OPTIONS);
    checkThreads(where, own(options, "threads"));
    const B = checkBatchSize(where, own(options, "batchSize"));
    const wdata = weightData(where, params);
    checkObject(where, "inputs", inputs, INPUT_NAMES);
    const first = meta.inputs[0];
    const T =
      own(options, "timeSteps") !== undefined || !first
        ? checkCount(where, "options.timeSteps", own(options, "timeSteps"))
        : inferSteps(where, own(inputs, first.name), B, first.size, `inputs.${first.name}`);
    const ins = checkArrays(where, "inputs", inputs, meta.inputs, T, B, true);
    const initial = stateOption(where, options, "initialState", B);
    const masks = stateOption(where, options, "stateMasks", B);
    const active = new Float32Array(T * B);
    checkLengths(where, own(options, "lengths"), B, T, active);
    const reuse = own(options, "tape");
    let d: GpuTape | undefined;
    if (reuse !== undefined) {
      d = typeof reuse === "object" && reuse !== null ? tapes.get(reuse) : undefined;
      if (!d) fail(where, "options.tape was not made by this kernel");
      if (d.T !== T || d.B !== B) d = undefined;
    }
    const s = await setup();
    const dev = s.dev;
    upload(dev, s.weights, wdata);
    let tape: object;
    if (d === undefined) {
      const f = dev.createBuffer({ size: bytes(dev, "the tape", size(info.sizes[1]!, T, B), T, B), usage: STORAGE | COPY_DST | COPY_SRC });
      const outputs: GpuTensors = {};
      for (const o of info.fwd.outputs) putGpu(outputs, o.name, new Float32Array(T * B * info.bufs[o.buf]!.width));
      const finalState: GpuTensors = {};
      for (const st of info.fwd.states) putGpu(finalState, st.name, new Float32Array(B * info.bufs[st.buf]!.width));
      d = { T, B, f, g: null, uniforms: uniforms(dev, T, B), outputs, finalState };
      tape = { timeSteps: T, batchSize: B };
      tapes.set(tape, d);
      const held = [f, d.uniforms];
      (d as GpuTape & { held: GpuBuffer[] }).held = held;
      release.register(tape, held);
    } else tape = reuse as object;
    const q = dev.queue;
    info.fwd.inputs.forEach((i, k) => q.writeBuffer(d.f, place(i.buf, T, B) * E, ins[k]!));
    q.writeBuffer(d.f, place(info.fwd.active, T, B) * E, active);
    info.fwd.states.forEach((st, k) => {
      const n = B * info.bufs[st.buf]!.width;
      q.writeBuffer(d.f, place(st.buf, T, B) * E, initial[k] ?? new Float32Array(n));
      q.writeBuffer(d.f, place(st.mask, T, B) * E, masks[k] ?? new Float32Array(n).fill(1));
    });
    const group = dev.createBindGroup({
      layout: s.layout,
      entries: [
        { binding: 0, resource: { buffer: s.weights } },
        { binding: 1, resource: { buffer: d.f } },
        { binding: 2, resource: { buffer: s.dummy } },
        { binding: 3, resource: { buffer: d.uniforms, size: 16 } },
      ],
    });
    const r = await route(s, info.forward, true);
    const enc = dev.createCommandEncoder();
    last.forward = encode(s, r, group, T, B, enc);
    const parts: [GpuBuffer, number, number][] = [
      ...info.fwd.outputs.map((o): [GpuBuffer, number, number] => [d.f, place(o.buf, T, B), T * B * info.bufs[o.buf]!.width]),
      ...info.fwd.states.map((st): [GpuBuffer, number, number] => {
        const n = B * info.bufs[st.buf]!.width;
        return [d.f, place(st.buf, T, B) + T * n, n];
      }),
    ];
    const got = await readBack(dev, enc, parts);
    info.fwd.outputs.forEach((o, k) => d.outputs[o.name]!.set(got[k]!));
    info.fwd.states.forEach((st, k) => d.finalState[st.name]!.set(got[info.fwd.outputs.length + k]!));
    return { outputs: d.outputs, finalState: d.finalState, tape };
  }

  function gradientsFor(where: string, into: unknown, T: number, B: number): { params: GpuTensors; inputs: GpuTensors; initialState: GpuTensors } {
    if (into === undefined) {
      const all = new Float32Array(info.weights.size);
      const params: GpuTensors = {};
      for (const p of info.weights.params) putGpu(params, p.name, all.subarray(p.offset, p.offset + p.size));
      const inputs: GpuTensors = {};
      for (const i of meta.inputs) putGpu(inputs, i.name, new Float32Array(T * B * i.size));
      const initialState: GpuTensors = {};
      for (const st of meta.states) putGpu(initialState, st.name, new Float32Array(B * st.size));
      return { params, inputs, initialState };
    }
    const g = checkObject(where, "options.into", into, ["params", "inputs", "initialState"]);
    const p = checkObject(where, "options.into.params", own(g, "params"), meta.params.map((x) => x.name));
    for (const x of meta.params) checkArray(where, `options.into.params.${x.name}`, own(p, x.name), x.size, `[${x.shape.join(", ")}]`);
    checkArrays(where, "options.into.inputs", checkObject(where, "options.into.inputs", own(g, "inputs"), INPUT_NAMES), meta.inputs, T, B, true);
    checkArrays(where, "options.into.initialState", checkObject(where, "options.into.initialState", own(g, "initialState"), STATE_NAMES), meta.states, 0, B, true);
    return into as { params: GpuTensors; inputs: GpuTensors; initialState: GpuTensors };
  }

  async function backward(params: GpuTensors, tapeIn: object, dOutputs: object, options: object = {}): Promise<{ params: GpuTensors; inputs: GpuTensors; initialState: GpuTensors }> {
    const where = "backward";
    const wdata = weightData(where, params);
    const d = typeof tapeIn === "object" && tapeIn !== null ? tapes.get(tapeIn) : undefined;
    if (!d) fail(where, "the tape must come from this kernel's forward");
    const { T, B } = d;
    checkObject(where, "dOutputs", dOutputs, OUTPUT_NAMES);
    checkObject(where, "options", options, BACKWARD_OPTIONS);
    checkThreads(where, own(options, "threads"));
    const dOuts = checkArrays(where, "dOutputs", dOutputs, meta.outputs, T, B, false);
    const dFinal = stateOption(where, options, "dFinalState", B);
    const inputGradients = checkFlag(where, "options.inputGradients", own(options, "inputGradients")) !== false;
    const grads = gradientsFor(where, own(options, "into"), T, B);
    const s = await setup();
    const dev = s.dev;
    upload(dev, s.weights, wdata);
    if (d.g === null) {
      d.g = dev.createBuffer({ size: bytes(dev, "the adjoints", size(info.sizes[2]!, T, B), T, B), usage: STORAGE | COPY_DST | COPY_SRC });
      (d as GpuTape & { held: GpuBuffer[] }).held.push(d.g);
    }
    const g = d.g;
    const enc = dev.createCommandEncoder();
    enc.clearBuffer(g);
    dev.queue.submit([enc.finish()]);
    const q = dev.queue;
    info.bwd.states.forEach((st, k) => {
      if (dFinal[k] !== undefined) q.writeBuffer(g, place(st.carry, T, B) * E, dFinal[k]);
    });
    info.bwd.seeds.forEach((st, k) => {
      if (dOuts[k] !== undefined) q.writeBuffer(g, place(st.buf, T, B) * E, dOuts[k]);
    });
    const group = dev.createBindGroup({
      layout: s.layout,
      entries: [
        { binding: 0, resource: { buffer: s.weights } },
        { binding: 1, resource: { buffer: d.f } },
        { binding: 2, resource: { buffer: g } },
        { binding: 3, resource: { buffer: d.uniforms, size: 16 } },
      ],
    });
    const r = await route(s, info.backward, inputGradients);
    const enc2 = dev.createCommandEncoder();
    last.backward = encode(s, r, group, T, B, enc2);
    const apart = info.bwd.packs.filter((pk) => info.weights.packs.find((w) => w.buf === pk.pack)!.offset === null);
    const parts: [GpuBuffer, number, number][] = [
      [g, 0, info.weights.size],
      ...info.bwd.inputs.map((i): [GpuBuffer, number, number] => [g, place(i.buf, T, B), inputGradients ? T * B * info.bufs[i.buf]!.width : 0]),
      ...info.bwd.states.map((st): [GpuBuffer, number, number] => [g, place(st.carry, T, B), B * info.bufs[st.carry]!.width]),
      ...apart.map((pk): [GpuBuffer, number, number] => [g, place(pk.buf, T, B), info.bufs[pk.buf]!.width]),
    ];
    const got = await readBack(dev, enc2, parts);
    const all = got[0]!;
    // Pack gradients computed apart from their parts (a param in two packs) are added into them.
    apart.forEach((pk, k) => {
      const pg = got[1 + info.bwd.inputs.length + info.bwd.states.length + k]!;
      for (const qq of pk.parts) {
        const p = info.weights.params.find((x) => x.buf === qq.param)!;
        for (let j = 0; j < p.size; j++) all[p.offset + j] = all[p.offset + j]! + pg[qq.offset + j]!;
      }
    });
    for (const p of info.weights.params) grads.params[p.name]!.set(all.subarray(p.offset, p.offset + p.size));
    info.bwd.inputs.forEach((i, k) => (inputGradients ? grads.inputs[i.name]!.set(got[1 + k]!) : grads.inputs[i.name]!.fill(0)));
    info.bwd.states.forEach((st, k) => grads.initialState[st.name]!.set(got[1 + info.bwd.inputs.length + k]!));
    return grads;
  }

  return {
    forward,
    backward,
    useDevice(device: GpuDevice) {
      if (ready) fail("useDevice", "the kernel has run already on a device of its own; call useDevice before the first forward");
      given = device;
    },
    useDispatch(path: GpuPath | "auto") {
      if (!["auto", "per-op", "fused-step", "persistent"].includes(path)) fail("useDispatch", `path must be "auto", "per-op", "fused-step" or "persistent", got ${JSON.stringify(path)}`);
      forced = path;
    },
    paths: () => ({ forward: [...last.forward], backward: [...last.backward] }),
    device: async () => (await setup()).dev,
  };
}
