// The builds a random program is run through and compared. Each entry turns a spec into a kernel
// with the CellKernel contract (abi/kernel.ts); the differential property compares every build
// with finite differences and with the first build. The WebAssembly backend joins with its
// float64 (f64x2) build, on one thread and on two, and where this engine has relaxed SIMD (node
// --experimental-wasm-relaxed-simd) its build with fused multiply-add (compared like every build:
// within the differential tolerance, not bit for bit); a later backend joins by adding an entry here.

import { transformSync } from "esbuild";
import type { CellKernel } from "../../abi/kernel.ts";
import type { Diagnostic } from "../../grammar/diagnostics.ts";
import { compile } from "../../driver/index.ts";
import { relaxedSimdSupported } from "../../backends/wasm/support/heap.ts";

export type Built = { kernel: CellKernel; code: string } | { diagnostics: Diagnostic[]; sources: Record<string, string> };

export interface Build {
  name: string;
  /** The build whose results this one's must equal bit for bit (a threaded build: its one-thread twin). */
  sameAs?: string;
  build(text: string, dims: Record<string, number>, unit: string): Promise<Built>;
}

/** Evaluates a generated module as CommonJS in a function scope. Unlike importing a data: URL
 *  (what loadCell does), the module can be garbage collected, so a long fuzzing run does not grow;
 *  and esbuild strips the types in a few milliseconds where TypeScript's transpiler takes a quarter
 *  of a second (the emitted TypeScript itself is type-checked by the tsc sample). */
export function evaluateModule(code: string): CellKernel {
  const js = transformSync(code, { loader: "ts", format: "cjs", target: "es2022" }).code;
  const module = { exports: {} as Record<string, unknown> };
  new Function("exports", "module", js)(module.exports, module);
  return module.exports as unknown as CellKernel;
}

const build = (name: string, optimize: boolean, target: "ts" | "wasm", threads?: { threads: number; sameAs: string }, fma?: "on" | "off"): Build => ({
  name,
  ...(threads ? { sameAs: threads.sameAs } : {}),
  async build(text, dims, unit) {
    const r = await compile(text, { dims, cell: unit, optimize, dtype: "float64", format: false, target, ...(threads ? { threads: threads.threads } : {}), ...(fma ? { fma } : {}) });
    if (!r.module) return { diagnostics: r.diagnostics, sources: r.sources };
    return { kernel: evaluateModule(r.module.code), code: r.module.code };
  },
});

/** float64 builds: numerical comparisons need the precision (float32 kernels are compared with
 *  float64 ones by test/gradients.test.ts). */
export const BUILDS: Build[] = [
  build("typescript optimised", true, "ts"),
  build("typescript plain", false, "ts"),
  build("webassembly optimised", true, "wasm", undefined, "off"),
  // Every call on 2 worker threads (the module's default): bit for bit the one-thread build.
  build("webassembly optimised, 2 threads", true, "wasm", { threads: 2, sameAs: "webassembly optimised" }, "off"),
  // Fused multiply-add (relaxed SIMD), where this process's engine has it; on 2 threads, bit for bit its 1-thread twin.
  ...(relaxedSimdSupported()
    ? [build("webassembly FMA", true, "wasm", undefined, "on"), build("webassembly FMA, 2 threads", true, "wasm", { threads: 2, sameAs: "webassembly FMA" }, "on")]
    : []),
];
