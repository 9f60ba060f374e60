// The in-process compiler entry (`cellc/jit`): recurrent layers made from a spec file and a size
// binding, compiled when the layer is built (that is when the input size is known). The training
// runtime itself never loads the compiler; this entry joins the two. The convenience constructors
// lstm / gru / simpleRNN only choose a spec file from examples/specs; everything else is generic
// over kernels.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import type { AsyncCellKernel, CellKernel } from "../abi/kernel.ts";
import { loadCell, loadCellFile, compile, CompileError } from "../driver/index.ts";
import { exportCellOnnx } from "../backends/onnx/index.ts";
import { Recurrent, type RecurrentOptions } from "../runtime/layers/recurrent.ts";
import { specStateNames } from "./states.ts";
import { wasmSupported } from "../backends/wasm/support/heap.ts";
import { webgpuDevice } from "./webgpu.ts";

export { loadCell, loadCellFile, compile, CompileError, specStateNames };

export type KernelLoader = (specPath: string, opts: { dims: Record<string, number>; cell?: string; target?: string }) => Promise<CellKernel | AsyncCellKernel>;

/** A backend a layer's kernel may be compiled for: "webgpu" only when asked for (rnn's target). */
export type Target = "wasm" | "ts" | "webgpu";
const TARGETS: readonly string[] = ["wasm", "ts", "webgpu"];

/** The backend layers use unless told: WebAssembly SIMD where this process runs it (its modules
 *  need SIMD128; without shared memory they run on one thread), else TypeScript.
 *  CELLC_TARGET=ts|wasm overrides it. */
export function defaultTarget(): "wasm" | "ts" {
  const env = typeof process !== "undefined" ? process.env.CELLC_TARGET : undefined;
  if (env === "ts" || env === "wasm") return env;
  return wasmSupported() ? "wasm" : "ts";
}

let loader: KernelLoader | undefined;
const cache = new Map<string, Promise<CellKernel | AsyncCellKernel>>();

/** Replaces how spec files become kernels (tests; other compilers). Clears the cache. */
export function setKernelLoader(fn: KernelLoader | undefined): void {
  loader = fn;
  cache.clear();
}

/** WebGPU kernels given this process's device (the compiler caches modules, so one may come back). */
const placed = new WeakSet<object>();

const defaultLoader: KernelLoader = async (file, opts) => {
  const k = await loadCellFile(file, { ...opts, dimsSource: "layer" });
  if (opts.target !== "webgpu" || placed.has(k)) return k;
  // Without an adapter the layer is not built: the error says so.
  (k as unknown as { useDevice(d: unknown): void }).useDevice(await webgpuDevice(`rnn: the WebGPU kernel of ${path.basename(file)}`));
  placed.add(k);
  return k;
};

/** Compiles (once per path, binding, cell and target) and returns a live kernel: a CellKernel, or
 *  for target "webgpu" an AsyncCellKernel running on this process's WebGPU device. */
export function loadKernel(specPath: string, dims: Record<string, number>, cell?: string, target?: "wasm" | "ts"): Promise<CellKernel>;
export function loadKernel(specPath: string, dims: Record<string, number>, cell: string | undefined, target: "webgpu"): Promise<AsyncCellKernel>;
export function loadKernel(specPath: string, dims: Record<string, number>, cell?: string, target?: Target): Promise<CellKernel | AsyncCellKernel>;
export async function loadKernel(specPath: string, dims: Record<string, number>, cell?: string, target: Target = defaultTarget()): Promise<CellKernel | AsyncCellKernel> {
  const abs = path.resolve(specPath);
  const key = `${abs}|${JSON.stringify(Object.entries(dims).sort())}|${cell ?? ""}|${target}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const load = loader ?? defaultLoader;
      return load(abs, cell === undefined ? { dims, target } : { dims, cell, target });
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** A spec's ONNX form for a binding (zero weights; `lengths` and initial-state inputs), as
 *  Recurrent layers hand it to model.exportOnnx. Throws CompileError on spec errors and
 *  OnnxExportError when the cell has no ONNX form. */
export function onnxCellFile(specPath: string, dims: Record<string, number>, cell?: string): Uint8Array {
  const file = path.resolve(specPath);
  const r = exportCellOnnx(readFileSync(file, "utf8"), { file, dims, dimsSource: "layer", lengths: true, initialStates: true, ...(cell === undefined ? {} : { cell }) });
  if (!r.bytes) throw new CompileError(r.diagnostics, r.sources);
  return r.bytes;
}

/** Absolute path of a spec shipped in examples/specs, e.g. specPath("lstm") -> .../examples/specs/lstm.cell. */
export function specPath(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.join(here, "..", "examples", "specs", name.endsWith(".cell") ? name : `${name}.cell`);
}

export interface SpecLayerOptions extends Omit<RecurrentOptions, "kernel"> {
  /** Path to a .cell file (relative to the working directory). */
  spec: string;
  /** Size bound to `unitsDim`. */
  units: number;
  /** The spec's size name for the hidden size. Default "H". */
  unitsDim?: string;
  /** The spec's size name bound to the input feature count. Default "I". */
  inputDim?: string;
  /** Further size bindings, e.g. { P: 32 } for a projected cell. */
  dims?: Record<string, number>;
  /** Which cell or stack of the file (default: the last one declared). */
  cell?: string;
  /** The backend of the layer's kernel: "wasm" (WebAssembly SIMD), "ts" (TypeScript) or "webgpu"
   *  (the GPU through WebGPU, where this process has an adapter: fit awaits it, and evaluate and
   *  predict become evaluateAsync and predictAsync); default defaultTarget(). */
  target?: Target;
}

/** A recurrent layer whose kernel is compiled from a spec when the model is built. */
export function rnn(opts: SpecLayerOptions): Recurrent {
  if (!opts || typeof opts.spec !== "string" || opts.spec === "") throw new Error("rnn: { spec } must name a .cell file");
  if (!Number.isInteger(opts.units) || opts.units < 1) throw new Error(`rnn: units must be a positive integer, got ${opts.units}`);
  const { spec, units, unitsDim = "H", inputDim = "I", dims = {}, cell, target, ...rest } = opts;
  if (target !== undefined && !TARGETS.includes(target)) throw new Error(`rnn: target must be "wasm", "ts" or "webgpu", got ${JSON.stringify(target)}`);
  const type = cell ?? path.basename(spec, ".cell");
  return new Recurrent({
    // Read from the spec only when needed (returnState in a functional model); checked when built.
    stateNames: () => specStateNames(spec, cell),
    ...rest,
    type,
    kernel: (inputSize: number) => loadKernel(spec, { ...dims, [inputDim]: inputSize, [unitsDim]: units }, cell, target),
    onnx: (inputSize: number) => onnxCellFile(spec, { ...dims, [inputDim]: inputSize, [unitsDim]: units }, cell),
  });
}

export type ConvenienceOptions = Omit<SpecLayerOptions, "spec" | "units">;

/** examples/specs/lstm.cell with H = units. */
export function lstm(units: number, opts: ConvenienceOptions = {}): Recurrent {
  return rnn({ ...opts, spec: specPath("lstm"), units });
}

/** examples/specs/gru.cell with H = units. */
export function gru(units: number, opts: ConvenienceOptions = {}): Recurrent {
  return rnn({ ...opts, spec: specPath("gru"), units });
}

/** examples/specs/rnn.cell (Elman) with H = units. */
export function simpleRNN(units: number, opts: ConvenienceOptions = {}): Recurrent {
  return rnn({ ...opts, spec: specPath("rnn"), units });
}
