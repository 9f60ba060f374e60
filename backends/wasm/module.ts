// The WebAssembly backend: prints a plan as WebAssembly text (readable, with the spec's lines as
// comments), assembles it with wabt, and writes a self-contained TypeScript module that embeds
// the binary (base64), the JavaScript side (./support/), and the TypeScript backend's kernel as
// the fallback where WebAssembly SIMD is missing (meta.backend says which runs). Without shared
// memory (a page that is not cross-origin isolated) the WebAssembly kernel runs on one thread.

import type { Plan } from "../../compiler/plan/types.ts";
import { CREATE_PARAMS_DOC, emitTsModule, SUPPORT_MARKER, withSupport } from "../ts/module.ts";
import { supportText as tsSupportText } from "../ts/support.ts";
import { tsComment, tsLiteral, tsString } from "../ts/escape.ts";
import { typeKey } from "../ts/util.ts";
import { kernelInfo } from "../ts/descriptor.ts";
import { MAX_THREADS } from "../../abi/checks.ts";
import { entryFunction, packFunction } from "./body.ts";
import { ModuleParts } from "./parts.ts";
import { gemmFunction } from "./gemm.ts";
import { HOST_IMPORTS, HOST_SOURCE, hostImport, mathFunctions, type HostFn } from "./math.ts";
import { wasmSupportText } from "./support.ts";
import { threadsFunctions } from "./threads.ts";
import { F32, F64 } from "./wat.ts";
import { relaxedSimdSupported } from "./support/heap.ts";

export interface WasmModuleOptions {
  fileName: string;
  origin: string;
  dtype?: "float32" | "float64";
  format?: boolean;
  /** Threads a call runs on when it does not say (default 1). */
  threads?: number;
  /** Fused multiply-add (relaxed SIMD's relaxed_madd) in the GEMM micro-kernels: "auto" (the
   *  default) ships both binaries and runs the FMA one where the engine validates relaxed SIMD;
   *  "on" ships only it (the TypeScript fallback runs elsewhere); "off" only the plain one. */
  fma?: FmaMode;
}

export type FmaMode = "auto" | "on" | "off";
export const FMA_MODES: readonly FmaMode[] = ["auto", "on", "off"];

/** The module's WebAssembly text. */
export function printWat(plan: Plan, dtype: "float32" | "float64" = "float32", fma = false): { wat: string; panels: number[]; scratch: number; imports: HostFn[] } {
  const e = { ...(dtype === "float64" ? F64 : F32), ...(fma ? { fma: true } : {}) };
  const p = new ModuleParts(plan, e);
  // Entry points first: they register the products, panels and math functions they use.
  const fwd = entryFunction(p, "forward");
  const bwd = entryFunction(p, "backward");
  const fromMath = mathFunctions(e, plan.fastMath, p.math);
  const math = { text: fromMath.text, imports: HOST_IMPORTS.filter((h) => fromMath.imports.includes(h) || p.hosts.has(h)) };
  const meta = plan.meta;
  const dims = Object.entries(meta.dims).map(([k, v]) => `${k}=${v}`).join(", ");
  const parts = [
    `;; cellc: ${meta.kind} ${meta.name} with ${dims || "no sizes"}, ${e.s} (${e.v}), ${plan.fastMath ? "fast" : "exact"} math${fma ? ", fused multiply-add (relaxed SIMD)" : ""}.`,
    ";; Entry points: forward(tbl, T, B, w, nw, sync) and backward(tbl, T, B, inputGradients, w, nw, sync);",
    ";; tbl holds the address of every plan buffer (slot = buffer id), then of the weight gradients'",
    ";; packing scratch (nw parts), then of each packed weight panel. nw workers call an entry point at",
    ";; once, worker w doing its share (w = 0, nw = 1 alone).",
    "(module",
    '  (import "env" "memory" (memory 1 65536 shared))',
    ...math.imports.map(hostImport),
    math.text,
    ...[...p.gemms.values()].map((g) => gemmFunction(e, g)),
    packFunction(e),
    threadsFunctions(),
    fwd,
    bwd,
    ")",
  ];
  const panels = p.panelSizes();
  return { wat: parts.filter((x) => x !== "").join("\n"), panels, scratch: p.dwScratch, imports: math.imports };
}

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabt: Promise<Wabt> | undefined;

/** True where this engine validates relaxed SIMD (node --experimental-wasm-relaxed-simd, Node ≥ 22,
 *  Chrome ≥ 114): the same probe the generated modules run (support/heap.ts). */
export { relaxedSimdSupported };

/** WebAssembly text to a binary (wabt's assembler, with SIMD and threads; `relaxed`: with relaxed
 *  SIMD too, for the FMA build). */
export async function assemble(wat: string, name: string, relaxed = false): Promise<Uint8Array> {
  wabt ??= import("wabt").then((m) => (m.default as unknown as () => Promise<Wabt>)());
  const w = await wabt;
  let mod: ReturnType<Wabt["parseWat"]> | undefined;
  try {
    // As UTF-8 bytes: given a string, wabt keeps only the low byte of each UTF-16 unit (a spec
    // comment holding U+010A would end its line comment and break the module).
    mod = w.parseWat(`${name}.wat`, new TextEncoder().encode(wat), { simd: true, threads: true, bulk_memory: true, ...(relaxed ? { relaxed_simd: true } : {}) });
    const bytes = new Uint8Array(mod.toBinary({ write_debug_names: process.env.CELLC_WASM_NAMES === "1" }).buffer);
    // wabt's validator does not see the threads feature; the engine's compiler validates instead
    // (an FMA binary only where the engine has relaxed SIMD; elsewhere its plain twin, the same
    // module but for the multiply-adds, was validated).
    if (!relaxed || relaxedSimdSupported()) new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly.Module(bytes);
    return bytes;
  } catch (err) {
    // A bug in this printer, never in the user's spec: say where.
    throw new Error(`wasm backend: ${name}.wat does not assemble: ${(err as Error).message}`);
  } finally {
    mod?.destroy();
  }
}

/** Where the binary's memory import gives its limits (the byte after `env` `memory` and the kind,
 *  3: shared with a maximum); a module of its own memory flips it (support/heap.ts, unsharedBinary). */
export function memoryFlagsOffset(binary: Uint8Array): number {
  const entry = [3, ..."env"].concat([6, ..."memory"], [2]).map((c) => (typeof c === "number" ? c : c.charCodeAt(0)));
  for (let i = 8; i + entry.length < binary.length; i++) {
    if (entry.every((b, k) => binary[i + k] === b)) {
      if (binary[i + entry.length] !== 3) break;
      return i + entry.length;
    }
  }
  throw new Error("wasm backend: the module's memory import was not found (a bug in this printer)");
}


/** The module's lines choosing its binary: RUNS_WASM (the WebAssembly kernel runs) and FMA (its
 *  binary with fused multiply-add does). */
function fmaLines(fma: FmaMode): string[] {
  if (fma === "off") return [`const RUNS_WASM = wasmSupported();`, `/** Built without fused multiply-add (cellc build --fma off). */`, `const FMA = false;`];
  if (fma === "on")
    return [
      `/** Built with fused multiply-add only (cellc build --fma on): the WebAssembly kernel needs relaxed SIMD, else the TypeScript one runs. */`,
      `const RUNS_WASM = wasmSupported() && relaxedSimdSupported();`,
      `const FMA = true;`,
    ];
  return [`const RUNS_WASM = wasmSupported();`, `/** Fused multiply-add where the engine has relaxed SIMD: the binary WASM_FMA runs, else WASM. */`, `const FMA = RUNS_WASM && relaxedSimdSupported();`];
}

const fields = (items: readonly { name: string }[], type: string) => `{ ${items.map((i) => `${typeKey(i.name)}: ${type};`).join(" ")} }`;

export async function emitWasmModule(plan: Plan, m: WasmModuleOptions): Promise<string> {
  const dtype = m.dtype ?? "float32";
  const threads = m.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new Error(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
  const arr = dtype === "float64" ? "Float64Array" : "Float32Array";
  const fma = m.fma ?? "auto";
  if (!FMA_MODES.includes(fma)) throw new Error(`fma must be one of ${FMA_MODES.map((x) => `"${x}"`).join(", ")}, got ${JSON.stringify(fma)}`);
  const { wat, panels, scratch, imports } = printWat(plan, dtype, fma === "on");
  const name = m.fileName.replace(/\.ts$/, "");
  const binary = await assemble(wat, name, fma === "on");
  // "auto": the FMA twin too (the same module but for the GEMMs' multiply-adds).
  const fmaBinary = fma === "auto" ? await assemble(printWat(plan, dtype, true).wat, `${name}.fma`, true) : undefined;
  // The TypeScript kernel, as the fallback: its module text inside a function, exports dropped.
  const ts = await emitTsModule(plan, { fileName: m.fileName, origin: m.origin, dtype, format: false, wasmFallback: true });
  const tsBody = ts.replace(/^export (?=(async )?function |const |let |interface |type )/gm, "");
  const meta = plan.meta;
  const dimText = Object.entries(meta.dims).map(([k, v]) => `${k}=${v}`).join(", ");
  const retype = (t: string) => (dtype === "float64" ? t.replace(/\bFloat32Array\b/g, "Float64Array") : t);
  const support = retype([tsSupportText("checks"), tsSupportText("init"), tsSupportText("weights"), tsSupportText("entry"), ...(imports.includes("erf") ? [tsSupportText("special")] : []), wasmSupportText("heap"), wasmSupportText("threads"), wasmSupportText("kernel")].join("\n\n"));
  const metaJson = tsLiteral({ ...meta, backend: "wasm" });
  const text = [
    `// Generated by cellc from ${tsComment(m.origin)}: ${meta.kind} ${meta.name} with ${dimText || "no sizes"}, WebAssembly SIMD backend.`,
    `// Do not edit: change the spec and rebuild. Self-contained; imports nothing. The kernel is the`,
    `// WebAssembly module below (its text: cellc build --target wasm --emit-wat); the TypeScript kernel`,
    `// after it runs instead where WebAssembly SIMD is missing (meta.backend says which). Calls run on`,
    `// worker threads only with shared memory (Node; pages served with COOP/COEP headers).`,
    `// Layout: per-step vectors are [batchSize, n]; sequences are time-major [timeSteps, batchSize, n];`,
    `// a matrix parameter [m, n] is row-major.`,
    "",
    `/** Trainable parameters, one array each. */`,
    `export type Params = ${fields(meta.params, arr)};`,
    `/** Per-step inputs. */`,
    `export type Inputs = ${fields(meta.inputs, arr)};`,
    `/** Recurrent state, [batchSize, n] each. */`,
    `export type State = ${fields(meta.states, arr)};`,
    `/** Per-step outputs. */`,
    `export type Outputs = ${fields(meta.outputs, arr)};`,
    `/** createParams' options: the seed the initializers draw from (0 to 2^32 - 1; default: a random one); zeros: true for zero-filled parameters. */`,
    `export interface CreateParamsOptions { seed?: number; zeros?: boolean; }`,
    `/** threads: worker threads a call runs on (Node; results are the same for any number). */`,
    `export interface ForwardOptions { batchSize: number; timeSteps?: number; initialState?: Partial<State>; lengths?: ArrayLike<number>; stateMasks?: Partial<State>; tape?: Tape; threads?: number; }`,
    `/** What forward records for backward. */`,
    `export interface Tape { readonly timeSteps: number; readonly batchSize: number; }`,
    `export interface ForwardResult { outputs: Outputs; finalState: State; tape: Tape; }`,
    `export interface BackwardOptions { dFinalState?: Partial<State>; into?: Gradients; inputGradients?: boolean; threads?: number; }`,
    `export interface Gradients { params: Params; inputs: Inputs; initialState: State; }`,
    "",
    `const META = ${metaJson} as const;`,
    "",
    `// ---- The support code every WebAssembly module carries (from cellc's backends/ts/support/: the`,
    `// entry runtime and its checks; and backends/wasm/support/; what this module uses).`,
    SUPPORT_MARKER,
    "",
    `// ---- This kernel.`,
    `const KERNEL: WasmKernelInfo = ${tsLiteral({ ...kernelInfo(plan), panels, scratch })};`,
    `/** The WebAssembly module (${binary.length} bytes), base64${fma === "on" ? "; built with fused multiply-add (relaxed SIMD)" : ""}. */`,
    `const WASM = ${tsString(Buffer.from(binary).toString("base64"))};`,
    ...(fmaBinary
      ? [
          `/** The same module with fused multiply-adds (relaxed SIMD's relaxed_madd) in its GEMMs (${fmaBinary.length} bytes), base64: what runs where the engine has relaxed SIMD. */`,
          `const WASM_FMA = ${tsString(Buffer.from(fmaBinary).toString("base64"))};`,
        ]
      : []),
    "",
    `/** The TypeScript kernel of the same plan: what runs where the WebAssembly one cannot. */`,
    `function typescriptKernel(): KernelImpl {`,
    tsBody,
    `return { createParams, createState, step, forward, backward } as unknown as KernelImpl;`,
    `}`,
    "",
    `/** Threads a call runs on when its options do not say (cellc build --threads). */`,
    `const THREADS = ${threads};`,
    `/** What this kernel is: its sizes, inputs, states, outputs and parameters (with their initializers); backend: "wasm", or "ts" where the fallback runs (no WebAssembly SIMD); fma: with "wasm", whether its GEMMs use fused multiply-add (relaxed SIMD); threads: present where calls can run on worker threads (Node, with shared memory), the default number. */`,
    ...fmaLines(fma),
    `export const meta: Omit<typeof META, "backend"> & { readonly backend: "wasm" | "ts"; readonly threads?: number; readonly fma?: boolean } = { ...META, ...(RUNS_WASM ? { backend: "wasm", fma: FMA, ...(threadsSupported() && sharedMemorySupported() ? { threads: THREADS } : {}) } : { backend: "ts" }) };`,
    `const impl: KernelImpl = meta.backend === "wasm" ? wasmKernel(KERNEL, ${fmaBinary ? "decodeBase64(FMA ? WASM_FMA : WASM)" : "decodeBase64(WASM)"}, { ${imports.map((h) => `${h}: ${HOST_SOURCE[h]}`).join(", ")} }, THREADS, ${fmaBinary ? `FMA ? ${memoryFlagsOffset(fmaBinary)} : ${memoryFlagsOffset(binary)}` : memoryFlagsOffset(binary)}) : typescriptKernel();`,
    `/** ${CREATE_PARAMS_DOC} */`,
    `export function createParams(options?: CreateParamsOptions): Params { return impl.createParams(options) as Params; }`,
    `/** Zero state for a batch. */`,
    `export function createState(batchSize: number = 1): State { return impl.createState(batchSize) as State; }`,
    `/** One step for streaming inference: reads inputs [batchSize, n], updates \`state\` in place, returns this step's outputs. */`,
    `export function step(params: Params, inputs: Inputs, state: State, batchSize: number = 1): Outputs { return impl.step(params, inputs, state, batchSize) as Outputs; }`,
    `/** Runs a whole sequence ([timeSteps, batchSize, n] inputs) and records a tape for backward. */`,
    `export function forward(params: Params, inputs: Inputs, options: ForwardOptions): ForwardResult { return impl.forward(params, inputs, options) as unknown as ForwardResult; }`,
    `/** Backward through time: gradients of every parameter (summed over batch and time), of the inputs and of the initial state. */`,
    `export function backward(params: Params, tapeIn: Tape, dOutputs: Partial<Outputs>, options: BackwardOptions = {}): Gradients { return impl.backward(params, tapeIn, dOutputs, options) as unknown as Gradients; }`,
    `/** Threads the last call ran on: its \`threads\` option, or 1 where worker threads cannot run (browsers, the TypeScript fallback). */`,
    `export function threadsUsed(): number { return impl.threadsUsed?.() ?? 1; }`,
  ].join("\n");
  return withSupport(text, support, m.format);
}
