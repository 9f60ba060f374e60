// The benchmark's use of the compiler API (driver/index.ts): build the kernel modules the cellc
// peers import (written to a temporary directory, one file per cell, size and optimize setting),
// and time compile() for every example spec. If the compiler cannot be loaded the run goes on
// without the cellc peers and says why.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { CompileOptions, CompileResult } from "../../compiler/api-types.ts";
import type { Diagnostic } from "../../grammar/diagnostics.ts";
import type { BenchCell, Size } from "./config.ts";

export interface CompilerApi {
  compile(source: string, opts: CompileOptions): Promise<CompileResult>;
  formatDiagnostics(diagnostics: Diagnostic[], sources: Record<string, string>): string;
}

export interface BuildTime {
  spec: string;
  dims: Record<string, number>;
  /** First compile() in this process (includes the compiler's JIT warm-up). */
  firstMs: number;
  /** Median of the following compiles. */
  warmMs: number;
  error?: string;
}

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

/** Loads driver/index.ts, or returns why it could not. */
export async function loadCompiler(): Promise<CompilerApi | string> {
  const file = path.join(repoRoot, "driver/index.ts");
  if (!fs.existsSync(file)) return "driver/index.ts does not exist yet";
  try {
    const mod = (await import(pathToFileURL(file).href)) as Partial<CompilerApi>;
    if (typeof mod.compile !== "function") return "driver/index.ts does not export compile()";
    const format = typeof mod.formatDiagnostics === "function"
      ? mod.formatDiagnostics
      : (ds: Diagnostic[]) => ds.map((d) => JSON.stringify(d)).join("\n");
    return { compile: mod.compile, formatDiagnostics: format };
  } catch (e) {
    return `loading driver/index.ts failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function compileFile(api: CompilerApi, specPath: string, opts: CompileOptions): Promise<CompileResult> {
  const source = fs.readFileSync(specPath, "utf8");
  return api.compile(source, { ...opts, file: specPath });
}

function firstError(api: CompilerApi, result: CompileResult): string {
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  const text = api.formatDiagnostics(errors.length ? errors : result.diagnostics, result.sources);
  const first = text.split("\n")[0]?.split(repoRoot + path.sep).join("") ?? "";
  return first || "compile() produced no module";
}

/** Builds one kernel module and writes it under dir; returns its path or an error message. */
export async function buildKernel(
  api: CompilerApi, cell: BenchCell, size: Size, optimize: boolean, dir: string, target: "ts" | "wasm" = "ts", fma?: "on" | "off",
): Promise<{ path: string } | { error: string }> {
  const dims = { I: size.I, H: size.H };
  try {
    const result = await compileFile(api, path.join(repoRoot, cell.spec), { dims, optimize, target, ...(fma ? { fma } : {}) });
    if (!result.module) return { error: `${cell.spec}: ${firstError(api, result)}` };
    const out = path.join(dir, `${target}-${optimize ? "opt" : "noopt"}${fma ? `-fma-${fma}` : ""}`, `${size.name}_${result.module.fileName}`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, result.module.code);
    return { path: out };
  } catch (e) {
    return { error: `${cell.spec}: compile() threw: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Times compile() (parse, check, lower, autodiff, passes, emit, prettier) for every example spec. */
export async function measureBuildTimes(api: CompilerApi, dims: Record<string, number>, repeats = 3): Promise<BuildTime[]> {
  const dir = path.join(repoRoot, "examples/specs");
  const specs = fs.readdirSync(dir).filter((f) => f.endsWith(".cell")).sort();
  const out: BuildTime[] = [];
  for (const spec of specs) {
    const file = path.join(dir, spec);
    const times: number[] = [];
    let error: string | undefined;
    for (let i = 0; i <= repeats; i++) {
      const t0 = performance.now();
      try {
        const result = await compileFile(api, file, { dims });
        times.push(performance.now() - t0);
        if (!result.module) {
          error = firstError(api, result);
          break;
        }
      } catch (e) {
        error = `compile() threw: ${e instanceof Error ? e.message : String(e)}`;
        break;
      }
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    out.push({
      spec: `examples/specs/${spec}`,
      dims,
      firstMs: times[0] ?? NaN,
      warmMs: warm.length ? warm[warm.length >> 1]! : NaN,
      ...(error ? { error } : {}),
    });
  }
  return out;
}
