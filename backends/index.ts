// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made. BACKENDS is the
// one list of them: the CLI's targets, the config schema and the package build read it.

import type { Plan } from "../compiler/plan/types.ts";
import type { RuntimeAssets } from "./assets.ts";
import { emitTorchModule, torchSupportAssets } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { tsSupportAssets } from "./ts/support.ts";
import { emitWasmModule } from "./wasm/module.ts";
import { wasmSupportAssets } from "./wasm/support.ts";

export interface EmitOptions {
  /** Suggested file name of the module. */
  fileName: string;
  /** Where the spec came from, for a header comment (already safe for a comment). */
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
  emit(plan: Plan, options: EmitOptions): Promise<string>;
}

export const tsBackend: Backend = { name: "ts", extension: "ts", assets: [tsSupportAssets], emit: emitTsModule };

/** Its modules carry the TypeScript kernel's checks (and fallback) as well as their own support. */
export const wasmBackend: Backend = { name: "wasm", extension: "ts", assets: [wasmSupportAssets, tsSupportAssets], emit: emitWasmModule };

export const torchBackend: Backend = { name: "torch", extension: "py", assets: [torchSupportAssets], emit: emitTorchModule };

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
]);
