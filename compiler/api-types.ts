// Types of the public compile API (driver/index.ts; compiler/front.ts checks and plans).

import type { Diagnostic } from "../grammar/diagnostics.ts";
import type { KernelMeta } from "../abi/kernel.ts";

/** WebAssembly kernels' fused multiply-add modes (CompileOptions.fma, `cellc build --fma`). */
export const FMA_MODES = ["auto", "on", "off"] as const;
export type FmaMode = (typeof FMA_MODES)[number];

/** Who supplied a size binding (CompileOptions.dimsSource). */
export type DimsSource = "cli" | "config" | "api" | "layer";

export interface CompileOptions {
  /**
   * Size bindings, e.g. { I: 64, H: 128 }. Sizes the cell does not declare are ignored, except a
   * name that matches a declared size only up to case (`p` for `P`), which is an error (CE405).
   * Each value must be a positive safe integer (CE402), and every array the kernel allocates per
   * sample and step, and every parameter, at most 2^31 - 1 elements (CE406).
   */
  dims?: Record<string, number>;
  /**
   * Who supplied `dims`, so a diagnostic tells the user how to fix a binding in their own terms:
   * an unbound size (CE401) says `pass --dims H=N` ("cli"), `add "H": N to the entry's "dims"`
   * ("config"), `pass dims: { H: N }` ("api", the default) or names the layer's options ("layer",
   * used by jit/ for spec-built layers). Nothing else depends on it.
   */
  dimsSource?: DimsSource;
  /** File name for diagnostics, and the base for relative imports. Default "<input>". */
  file?: string;
  /** Which cell or stack of the file to build. Default: the last one the file declares. */
  cell?: string;
  /** Run the optimizing IR passes (default true). False emits the plain lowering. */
  optimize?: boolean;
  /** Element type of the generated arrays. "float64" is for numerical checks; kernels are float32. */
  dtype?: "float32" | "float64";
  /** Which backend prints the kernel: "ts" (TypeScript, the default). */
  target?: string;
  /** WebAssembly kernels: the worker threads a call runs on when its options do not say (1-64,
   *  default 1). Results are identical for any number; other targets run on one. */
  threads?: number;
  /** WebAssembly kernels: fused multiply-add (relaxed SIMD's relaxed_madd) in the matrix products.
   *  "auto" (the default) ships a binary with it and one without and runs the first where the
   *  engine has relaxed SIMD; "on" ships only the FMA one (the TypeScript kernel runs where relaxed
   *  SIMD is missing); "off" only the plain one. The kernel's meta.fma says which runs. FMA rounds
   *  once per multiply-add, so results differ from the plain build's in the last bits. */
  fma?: FmaMode;
  /** The module's language, for targets that print a TypeScript module (ts, wasm): "ts" (the
   *  default), or "js" for what tsc would emit for it: JavaScript (`code`, an ES module for plain
   *  node) and its declarations (`declaration`). `cellc build --format`, `"format"` in a config. */
  moduleFormat?: "ts" | "js";
  /** Format the module with prettier (default true). Loaders skip it: nobody reads that code. */
  format?: boolean;
  /** Reads imported files; defaults to the file system. */
  readFile?: (path: string) => string;
}

export interface CompiledModule {
  /** Cell or stack name. */
  name: string;
  /** The full binding used (declared defaults included). */
  dims: Record<string, number>;
  /** Suggested file name, e.g. "lstm_I64_H128.ts". */
  fileName: string;
  /** Prettier-formatted TypeScript source of the self-contained module (its JavaScript with
   *  moduleFormat "js"). */
  code: string;
  /** With moduleFormat "js": the module's declarations, e.g. lstm_I64_H128.d.ts. */
  declaration?: { fileName: string; code: string };
  meta: KernelMeta;
}

export interface CompileResult {
  /** Present when there are no errors. */
  module?: CompiledModule;
  diagnostics: Diagnostic[];
  /** Text of every file read (the spec and its imports), for code frames. */
  sources: Record<string, string>;
}

export interface CheckResult {
  diagnostics: Diagnostic[];
  sources: Record<string, string>;
}
