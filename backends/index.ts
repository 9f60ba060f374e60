// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made. BACKENDS is the
// one list of them: the CLI's targets, the config schema and the package build read it.

import type { Plan } from "../compiler/plan/types.ts";
import type { RuntimeAssets } from "./assets.ts";
import type { Escaper } from "./escaper.ts";
import { pyEscaper } from "./torch/python.ts";
import { tsEscaper } from "./ts/escape.ts";
import { emitTorchModule, torchSupportAssets } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { tsSupportAssets } from "./ts/support.ts";
import { emitWasmModule } from "./wasm/module.ts";
import { wasmSupportAssets } from "./wasm/support.ts";

export type { Escaper } from "./escaper.ts";

export interface EmitOptions {
  /** Suggested file name of the module. */
  fileName: string;
  /** Where the spec came from (its file name, as it is), for a header comment: the backend escapes it. */
  origin: string;
  dtype?: "float32" | "float64";
  /** Format the output (default true). */
  format?: boolean;
  /** Threads a call runs on by default (the WebAssembly backend; others ignore it). */
  threads?: number;
}

export interface Backend {
  readonly name: string;
  /** File extension of what it writes ("ts", "py", "onnx"). */
  readonly extension: string;
  /** The files it reads at run time (read through assetText; the package build ships them). */
  readonly assets: readonly RuntimeAssets[];
  /** The one escaper of the language it writes: every spec text in its output went through it. */
  readonly escape: Escaper;
  emit(plan: Plan, options: EmitOptions): Promise<string>;
}

export const tsBackend: Backend = { name: "ts", extension: "ts", assets: [tsSupportAssets], escape: tsEscaper, emit: emitTsModule };

/** Its modules carry the TypeScript kernel's checks (and fallback) as well as their own support;
 *  the module is TypeScript, and the WebAssembly text inside goes through backends/wasm/escape.ts. */
export const wasmBackend: Backend = { name: "wasm", extension: "ts", assets: [wasmSupportAssets, tsSupportAssets], escape: tsEscaper, emit: emitWasmModule };

export const torchBackend: Backend = { name: "torch", extension: "py", assets: [torchSupportAssets], escape: pyEscaper, emit: emitTorchModule };

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
]);
