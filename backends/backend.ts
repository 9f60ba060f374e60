// What a backend is and what it is given: the types every printer and the registry
// (./index.ts) share, in a file of their own so that a printer never imports the registry.

import type { Plan } from "../compiler/plan/types.ts";
import type { RuntimeAssets } from "./assets.ts";
import type { Escaper } from "./escaper.ts";

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
  /** Fused multiply-add with relaxed SIMD (the WebAssembly backend; others ignore it): "auto"
   *  (default: both binaries, chosen where the module loads), "on" or "off". */
  fma?: "auto" | "on" | "off";
}

export interface Backend {
  readonly name: string;
  /** File extension of what it writes ("ts", "py", "onnx"). */
  readonly extension: string;
  /** The files it reads at run time (read through assetText; the package build ships them). */
  readonly assets: readonly RuntimeAssets[];
  /** The one escaper of the language it writes: every spec text in its output went through it. */
  readonly escape: Escaper;
  /** The identifiers its output uses for itself (its language's keywords and globals, its support
   *  code's top-level names, its printers' own locals): no spec name becomes one of them. */
  readonly reserved: readonly string[];
  emit(plan: Plan, options: EmitOptions): Promise<string>;
}
