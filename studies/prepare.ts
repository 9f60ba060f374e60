// Before any training: compile every spec of a study once, in this process, for the task's input
// size and the study's hidden size, and check that the cell fits the task's model. A spec that
// does not compile keeps its diagnostics (with code frames) and a spec that does not fit gets a
// message naming both sizes; either way the other specs still run. Workers receive the compiled
// module as JavaScript, so they never load the compiler.

import { basename, dirname } from "node:path";
import { compile, formatDiagnostics } from "../driver/index.ts";
import type { CompileResult, DimsSource } from "../compiler/api-types.ts";
import { describeFsError, MAX_SPEC_BYTES, readTextFile } from "../compiler/read-text.ts";
import type { KernelMeta } from "../abi/kernel.ts";
import type { StudyTask, TaskSettings } from "./task.ts";

/** Studies train TypeScript kernels: their numbers are then the same on every machine, with or
 *  without WebAssembly SIMD (a wasm kernel's float32 sums round differently). */
const STUDY_TARGET = "ts";

export interface PreparedSpec {
  /** The spec file as given. */
  file: string;
  /** Its name in tables: the file name without .cell (with its folder when two files share a name). */
  label: string;
  status: "ok" | "compile-error" | "misfit";
  /** Formatted diagnostics (compile-error) or the reason it does not fit (misfit). */
  problem?: string;
  /** The compiled kernel module as JavaScript (ok). */
  kernelJs?: string;
  /** The compiled kernel's metadata (ok and misfit). */
  meta?: KernelMeta;
}

export interface PrepareOptions {
  task: StudyTask;
  settings: TaskSettings;
  units: number;
  /** Further size bindings (e.g. P for a projected cell). */
  dims: Record<string, number>;
  /** The spec's size names for the input and hidden sizes. */
  inputDim: string;
  unitsDim: string;
  dimsSource: DimsSource;
}

/** Compilations by file, text and binding: a second study in one process (the API, tests) reuses them. */
const cache = new Map<string, Promise<CompileResult>>();

/** Labels for spec files: base names, with the parent folder where two base names collide. */
export function specLabels(files: readonly string[]): string[] {
  const base = files.map((f) => basename(f).replace(/\.cell$/, ""));
  return base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${basename(dirname(files[i]!))}/${b}` : b));
}

/** Why a compiled cell cannot be the task's recurrent layer, or undefined when it can. */
export function misfit(meta: KernelMeta, o: PrepareOptions): string | undefined {
  const want = o.task.cellInput(o.settings);
  const bound = `${o.inputDim} = ${want.size}, ${o.unitsDim} = ${o.units}`;
  if (meta.inputs.length === 0) {
    return `cell '${meta.name}' declares no input, but task '${o.task.name}' feeds it ${want.size} features per step (${want.what})`;
  }
  const need = meta.inputs.reduce((s, v) => s + v.size, 0);
  if (need !== want.size) {
    const list = meta.inputs.map((v) => `${v.name}[${v.size}]`).join(" + ");
    return `cell '${meta.name}' takes ${need} input features per step (${list}) but task '${o.task.name}' feeds it ${want.size} (${want.what}); sizes bound: ${bound}`;
  }
  if (meta.outputs.length === 0) return `cell '${meta.name}' has no output for task '${o.task.name}''s layers to read`;
  return undefined;
}

/** Compiles and checks each spec; never throws for a problem in a spec. */
export async function prepareSpecs(files: readonly string[], o: PrepareOptions): Promise<PreparedSpec[]> {
  const { default: ts } = await import("typescript");
  const labels = specLabels(files);
  const size = o.task.cellInput(o.settings).size;
  const out: PreparedSpec[] = [];
  for (const [i, file] of files.entries()) {
    const p: PreparedSpec = { file, label: labels[i]!, status: "ok" };
    out.push(p);
    let source: string;
    try {
      source = readTextFile(file, MAX_SPEC_BYTES, "a spec");
    } catch (e) {
      p.status = "compile-error";
      p.problem = `error CE301: cannot read '${file}': ${describeFsError(e)}`;
      continue;
    }
    const dims = { ...o.dims, [o.inputDim]: size, [o.unitsDim]: o.units };
    const key = JSON.stringify([file, source, Object.entries(dims).sort(), o.dimsSource]);
    let compiled = cache.get(key);
    if (!compiled) cache.set(key, (compiled = compile(source, { file, dims, dimsSource: o.dimsSource, format: false, target: STUDY_TARGET })));
    const r = await compiled;
    if (!r.module) {
      p.status = "compile-error";
      p.problem = formatDiagnostics(r.diagnostics.filter((d) => d.severity === "error"), r.sources);
      continue;
    }
    p.meta = r.module.meta;
    const problem = misfit(r.module.meta, o);
    if (problem !== undefined) {
      p.status = "misfit";
      p.problem = problem;
      continue;
    }
    p.kernelJs = ts.transpileModule(r.module.code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
  }
  return out;
}
