// The compiler's public API: check a spec, compile it into a self-contained TypeScript kernel
// module, build every cell of a file, or load a kernel as a live module in this process.
//
//   const { module, diagnostics } = await compile(source, { dims: { I: 64, H: 128 } });
//   const lstm = await loadCellFile("examples/specs/lstm.cell", { dims: { I: 8, H: 16 } });

import * as path from "node:path";
import { diag, formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../grammar/diagnostics.ts";
import { SourceText, type Span } from "../grammar/source.ts";
import type { CellKernel } from "../abi/kernel.ts";
import type { CheckResult, CompiledModule, CompileOptions, CompileResult } from "./api-types.ts";
import { checkProgram, type UnitInfo } from "./check-stack.ts";
import { BACKENDS, tsBackend, type Backend } from "../backends/index.ts";
import { arraysFit } from "./array-limits.ts";
import { kernelMeta } from "./meta.ts";
import { buildPlan } from "./plan/build.ts";
import { dumpPlan } from "./plan/dump.ts";
import type { Plan } from "./plan/types.ts";
import { verifyPlan } from "./plan/verify.ts";
import { bindDims, lowerUnit } from "./lower.ts";
import { defaultRead, describeFsError, INPUT_FILE, loadProgram, type Program, type ReadFile } from "./modules.ts";
import { runPipeline } from "./pipeline.ts";

export type { CheckResult, CompiledModule, CompileOptions, CompileResult, DimsSource } from "./api-types.ts";
export type { Diagnostic } from "../grammar/diagnostics.ts";

interface Checked {
  program: Program;
  units: UnitInfo[];
  diagnostics: Diagnostic[];
}

function checkSource(source: string, options: CompileOptions): Checked {
  const file = options.file ?? INPUT_FILE;
  const program = loadProgram(source, file, options.readFile);
  const { units, diagnostics } = checkProgram(program);
  const own = program.root.ast.decls.filter((d) => d.kind !== "import").map((d) => units.get(d as never)!);
  // A file with nothing to build (empty, only comments or imports) is an error for check as for
  // build, unless a syntax error already explains why no declaration was read.
  if (own.length === 0 && !hasErrors(program.diagnostics)) {
    diagnostics.push(diag("CE307", new SourceText(file, source).span(0, 0), file));
  }
  return { program, units: own, diagnostics: sortDiagnostics([...program.diagnostics, ...diagnostics]) };
}

/** Parses and checks a spec (and its imports). */
export function check(source: string, options: Pick<CompileOptions, "file" | "readFile"> = {}): CheckResult {
  const c = checkSource(source, options);
  return { diagnostics: c.diagnostics, sources: c.program.sources };
}

/** A unit lowered, optimised, differentiated and planned under one binding. */
interface PlannedUnit {
  plan: Plan;
  binding: Record<string, number>;
  fileName: string;
  /** The spec's file name, as it is (each backend escapes it for its language). */
  origin: string;
}

function backendFor(options: CompileOptions, out: Diagnostic[]): Backend | undefined {
  const target = options.target ?? tsBackend.name;
  const backend = BACKENDS.get(target);
  if (!backend) out.push(diag("CE407", undefined, target, [...BACKENDS.keys()].join(", ")));
  return backend;
}

/** Targets whose modules can be emitted as JavaScript (they print TypeScript modules). */
const typescriptTargets = (): string[] => [...BACKENDS.values()].filter((b) => b.extension === "ts").map((b) => b.name);

function planUnit(u: UnitInfo, program: Program, options: CompileOptions, backend: Backend, out: Diagnostic[]): PlannedUnit | undefined {
  const binding = bindDims(u, options.dims ?? {}, out, options.dimsSource ?? "api");
  if (!binding) return undefined;
  const g = lowerUnit(u, binding, out);
  if (!g || !arraysFit(u, g, out)) return undefined;
  const { fwd, bwd } = runPipeline(g, options.optimize ?? true);
  if (!arraysFit(u, fwd, out)) return undefined; // a pack of stacked matrices can be larger
  const texts = new Map<string, SourceText>();
  const describe = (span: Span | undefined): string | undefined => {
    if (!span) return undefined;
    let st = texts.get(span.file);
    if (!st) {
      st = new SourceText(span.file, sourceOf(program.sources, span.file) ?? "");
      texts.set(span.file, st);
    }
    const line = st.lineText(span.start.line).replace(/\/\/.*$/, "").trim();
    return `${path.basename(span.file)}:${span.start.line}  ${line}`;
  };
  const optimize = options.optimize ?? true;
  const meta = kernelMeta(fwd, backend.name);
  const plan = buildPlan(meta, fwd, bwd, { optimize, fastMath: optimize && options.dtype !== "float64", describe });
  if (process.env.CELLC_DUMP_PLAN === "1") console.error(dumpPlan(plan));
  verifyPlan(plan);
  const fileName = `${u.name}${Object.entries(binding).map(([k, v]) => `_${k}${v}`).join("")}.${backend.extension}`;
  if (options.moduleFormat === "js" && backend.extension !== "ts") {
    out.push(diag("CE408", undefined, "js", typescriptTargets().join(", "), backend.name, backend.extension));
    return undefined;
  }
  return { plan, binding, fileName, origin: path.basename(u.file) };
}

async function buildUnit(u: UnitInfo, program: Program, options: CompileOptions, out: Diagnostic[]): Promise<CompiledModule | undefined> {
  const backend = backendFor(options, out);
  const p = backend && planUnit(u, program, options, backend, out);
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
  const c = checkSource(source, options);
  const sources = c.program.sources;
  if (hasErrors(c.diagnostics)) return { diagnostics: c.diagnostics, sources };
  const unit = options.cell === undefined ? c.units[c.units.length - 1] : c.units.find((u) => u.name === options.cell);
  const out = [...c.diagnostics];
  if (!unit) out.push(diag("CE403", undefined, options.cell ?? "(any)", options.file ?? INPUT_FILE));
  const backend = backendFor(options, out);
  const p = unit && backend && planUnit(unit, c.program, options, backend, out);
  return p ? { plan: p.plan, diagnostics: out, sources } : { diagnostics: sortDiagnostics(out), sources };
}

/** Compiles one cell or stack of `source` (options.cell, or the last one it declares). */
export async function compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  const c = checkSource(source, options);
  const sources = c.program.sources;
  if (hasErrors(c.diagnostics)) return { diagnostics: c.diagnostics, sources };
  const unit = options.cell === undefined ? c.units[c.units.length - 1] : c.units.find((u) => u.name === options.cell);
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

/** The text of a spec file, or CE301 saying why it cannot be read. */
function readSpec(file: string, readFile: ReadFile = defaultRead): string | Diagnostic {
  try {
    return readFile(file);
  } catch (e) {
    return diag("CE301", undefined, file, describeFsError(e));
  }
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

/** The text of `file` in a sources record; a file named like `__proto__` is not looked up on
 *  Object.prototype. */
function sourceOf(sources: Readonly<Record<string, string>>, file: string): string | undefined {
  const text: unknown = Object.hasOwn(sources, file) ? sources[file] : undefined;
  return typeof text === "string" ? text : undefined;
}

/** Formats diagnostics with code frames, one block each. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sources: Record<string, string>): string {
  return sortDiagnostics(diagnostics)
    .map((d) => formatDiagnostic(d, d.span ? sourceOf(sources, d.span.file) : undefined))
    .join("\n");
}

/** Thrown by the loaders when a spec has errors; `message` holds the formatted diagnostics. */
export class CompileError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    sources: Record<string, string>,
  ) {
    super(formatDiagnostics(diagnostics, sources));
    this.name = "CompileError";
  }
}

/** Turns generated TypeScript into a live ES module in this process. */
export async function importModule(code: string): Promise<unknown> {
  const { default: ts } = await import("typescript");
  const js = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
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
