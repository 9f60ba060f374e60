// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made.

import type { Plan } from "../compiler/plan/types.ts";
import type { Escaper } from "./escaper.ts";
import { pyEscaper } from "./torch/python.ts";
import { tsEscaper } from "./ts/escape.ts";
import { emitTorchModule } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { emitWasmModule } from "./wasm/module.ts";

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
  /** The one escaper of the language it writes: every spec text in its output went through it. */
  readonly escape: Escaper;
  emit(plan: Plan, options: EmitOptions): Promise<string>;
}

export const tsBackend: Backend = { name: "ts", extension: "ts", escape: tsEscaper, emit: emitTsModule };

/** Its module is TypeScript; the WebAssembly text inside goes through backends/wasm/escape.ts. */
export const wasmBackend: Backend = { name: "wasm", extension: "ts", escape: tsEscaper, emit: emitWasmModule };

export const torchBackend: Backend = { name: "torch", extension: "py", escape: pyEscaper, emit: emitTorchModule };

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
]);
