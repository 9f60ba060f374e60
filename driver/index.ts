// The package's compile API (the "." export): check a spec, compile it into a self-contained
// kernel module with one of the backends, build every cell of a file, or load a kernel as a live
// module in this process. The driver sits on top: it checks and plans with compiler/ (front.ts)
// and prints with backends/; nothing below imports it.
//
//   const { module, diagnostics } = await compile(source, { dims: { I: 64, H: 128 } });
//   const lstm = await loadCellFile("examples/specs/lstm.cell", { dims: { I: 8, H: 16 } });

import { diag, hasErrors, sortDiagnostics, type Diagnostic } from "../grammar/diagnostics.ts";
import type { CellKernel } from "../abi/kernel.ts";
import type { CompiledModule, CompileOptions, CompileResult } from "../compiler/api-types.ts";
import type { UnitInfo } from "../compiler/check-stack.ts";
import { checkSource, CompileError, pickUnit, planSpec, planUnit, readSpec, type PlannedUnit } from "../compiler/front.ts";
import type { Program } from "../compiler/modules.ts";
import { INPUT_FILE } from "../compiler/modules.ts";
import type { Plan } from "../compiler/plan/types.ts";
import { planTarget, BACKENDS, tsBackend, type Backend } from "../backends/index.ts";
import { stripTypes } from "./strip-types.ts";

export type { CheckResult, CompiledModule, CompileOptions, CompileResult, DimsSource } from "../compiler/api-types.ts";
export type { Diagnostic } from "../grammar/diagnostics.ts";
export { check, CompileError, formatDiagnostics } from "../compiler/front.ts";

function backendFor(options: CompileOptions, out: Diagnostic[]): Backend | undefined {
  const target = options.target ?? tsBackend.name;
  const backend = BACKENDS.get(target);
  if (!backend) out.push(diag("CE407", undefined, target, [...BACKENDS.keys()].join(", ")));
  return backend;
}

/** Targets whose modules can be emitted as JavaScript (they print TypeScript modules). */
const typescriptTargets = (): string[] => [...BACKENDS.values()].filter((b) => b.extension === "ts").map((b) => b.name);

/** CE408 when JavaScript is asked of a target that does not print TypeScript. */
function jsMismatch(options: CompileOptions, backend: Backend): Diagnostic | undefined {
  if (options.moduleFormat !== "js" || backend.extension === "ts") return undefined;
  return diag("CE408", undefined, "js", typescriptTargets().join(", "), backend.name, backend.extension);
}

async function buildUnit(u: UnitInfo, program: Program, options: CompileOptions, out: Diagnostic[]): Promise<CompiledModule | undefined> {
  const backend = backendFor(options, out);
  let p: PlannedUnit | undefined = backend && planUnit(u, program, options, planTarget(backend), out);
  const mismatch = p && backend && jsMismatch(options, backend);
  if (mismatch) {
    out.push(mismatch);
    p = undefined;
  }
  if (!backend || !p) return undefined;
  const emitOptions = { fileName: p.fileName, origin: p.origin, format: options.format ?? true, ...(options.dtype ? { dtype: options.dtype } : {}), ...(options.threads !== undefined ? { threads: options.threads } : {}), ...(options.fma !== undefined ? { fma: options.fma } : {}) };
  const code = await backend.emit(p.plan, emitOptions);
  // An ordinary object for the caller; fromEntries keeps a size named `__proto__` as a property.
  const module: CompiledModule = { name: u.name, dims: Object.fromEntries(Object.entries(p.binding)), fileName: p.fileName, code, meta: p.plan.meta };
  if (options.moduleFormat !== "js") return module;
  const { toJavaScript } = await import("../backends/ts/javascript.ts");
  const { js, dts } = await toJavaScript(code, p.fileName);
  const base = p.fileName.replace(/\.ts$/, "");
  return { ...module, fileName: `${base}.js`, code: js, declaration: { fileName: `${base}.d.ts`, code: dts } };
}

/** The verified plan of one cell or stack of `source`, for backends and tests (no code printed). */
export function planKernel(source: string, options: CompileOptions = {}): { plan?: Plan; diagnostics: Diagnostic[]; sources: Record<string, string> } {
  let backend: Backend | undefined;
  const r = planSpec(source, options, (out) => {
    backend = backendFor(options, out);
    return backend && planTarget(backend);
  });
  const mismatch = r.plan && backend && jsMismatch(options, backend);
  return mismatch ? { diagnostics: sortDiagnostics([...r.diagnostics, mismatch]), sources: r.sources } : r;
}

/** Compiles one cell or stack of `source` (options.cell, or the last one it declares). */
export async function compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  const c = checkSource(source, options);
  const sources = c.program.sources;
  if (hasErrors(c.diagnostics)) return { diagnostics: c.diagnostics, sources };
  const unit = pickUnit(c, options);
  if (!unit) {
    const d = diag("CE403", undefined, options.cell ?? "(any)", options.file ?? INPUT_FILE);
    return { diagnostics: [...c.diagnostics, d], sources };
  }
  const out = [...c.diagnostics];
  const module = await buildUnit(unit, c.program, options, out);
  return module ? { module, diagnostics: out, sources } : { diagnostics: sortDiagnostics(out), sources };
}

export interface BuildFileResult {
  modules: CompiledModule[];
  diagnostics: Diagnostic[];
  sources: Record<string, string>;
}

/** Builds every cell and stack declared in the file at `file` (not the ones it imports). */
export async function buildFile(file: string, options: Omit<CompileOptions, "file"> = {}): Promise<BuildFileResult> {
  const text = readSpec(file, options.readFile);
  if (typeof text !== "string") return { modules: [], diagnostics: [text], sources: {} };
  const c = checkSource(text, { ...options, file });
  const sources = c.program.sources;
  if (hasErrors(c.diagnostics)) return { modules: [], diagnostics: c.diagnostics, sources };
  const units = options.cell === undefined ? c.units : c.units.filter((u) => u.name === options.cell);
  const out = [...c.diagnostics];
  if (units.length === 0) out.push(diag("CE403", undefined, options.cell ?? "(any)", file));
  const modules: CompiledModule[] = [];
  for (const u of units) {
    const m = await buildUnit(u, c.program, { ...options, file }, out);
    if (m) modules.push(m);
  }
  return { modules, diagnostics: sortDiagnostics(out), sources };
}

/** Turns generated TypeScript into a live ES module in this process. */
export async function importModule(code: string): Promise<unknown> {
  const { js } = await stripTypes(code);
  return import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`);
}

const loaded = new Map<string, Promise<CellKernel>>();

/** Compiles a spec and returns the kernel as a live module. Throws CompileError on spec errors.
 *  Kernels are cached per source and options (an imported file's later edits are not seen). */
export function loadCell(source: string, options: CompileOptions = {}): Promise<CellKernel> {
  const { readFile: _ignored, ...rest } = options;
  const key = JSON.stringify([source, rest]);
  let k = loaded.get(key);
  if (!k) {
    k = (async () => {
      const r = await compile(source, { ...options, format: false });
      if (!r.module) throw new CompileError(r.diagnostics, r.sources);
      return (await importModule(r.module.code)) as CellKernel;
    })();
    loaded.set(key, k);
    k.catch(() => loaded.delete(key));
  }
  return k;
}

/** loadCell for a spec file. */
export async function loadCellFile(file: string, options: Omit<CompileOptions, "file"> = {}): Promise<CellKernel> {
  const text = readSpec(file, options.readFile);
  if (typeof text !== "string") throw new CompileError([text], {});
  return loadCell(text, { ...options, file });
}
