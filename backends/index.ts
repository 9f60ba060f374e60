// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made.

import type { Plan } from "../compiler/plan/types.ts";
import { emitTorchModule } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { emitWasmModule } from "./wasm/module.ts";

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
  emit(plan: Plan, options: EmitOptions): Promise<string>;
}

export const tsBackend: Backend = { name: "ts", extension: "ts", emit: emitTsModule };

export const wasmBackend: Backend = { name: "wasm", extension: "ts", emit: emitWasmModule };

export const torchBackend: Backend = { name: "torch", extension: "py", emit: emitTorchModule };

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
]);
