// Everything compile() does short of printing: read a spec (and its imports), check it, and lower,
// optimise, differentiate and plan one unit under a size binding for a target named by the caller.
// The driver (driver/index.ts) picks the backend and prints the plan; a backend that plans a spec
// itself (the ONNX export) calls planSpec with its own target.

import * as path from "node:path";
import { diag, formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../grammar/diagnostics.ts";
import { SourceText, type Span } from "../grammar/source.ts";
import type { CheckResult, CompileOptions } from "./api-types.ts";
import { checkProgram, type UnitInfo } from "./check-stack.ts";
import { arraysFit } from "./array-limits.ts";
import { kernelMeta } from "./meta.ts";
import { buildPlan } from "./plan/build.ts";
import { dumpPlan } from "./plan/dump.ts";
import type { Plan } from "./plan/types.ts";
import { verifyPlan } from "./plan/verify.ts";
import { bindDims, lowerUnit } from "./lower.ts";
import { defaultRead, describeFsError, INPUT_FILE, loadProgram, type Program, type ReadFile } from "./modules.ts";
import { runPipeline } from "./pipeline.ts";

/** What planning needs to know of the target: its name (recorded in the kernel's metadata) and
 *  the extension of the file it writes (the module's file name). */
export interface PlanTarget {
  readonly name: string;
  readonly extension: string;
  /** Identifiers no spec name may become (the backends declare them: Backend.reserved). */
  readonly reserved: ReadonlySet<string>;
}

export interface Checked {
  program: Program;
  units: UnitInfo[];
  diagnostics: Diagnostic[];
}

export function checkSource(source: string, options: CompileOptions): Checked {
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
export interface PlannedUnit {
  plan: Plan;
  binding: Record<string, number>;
  fileName: string;
  /** The spec's file name, as it is (each backend escapes it for its language). */
  origin: string;
}

export function planUnit(u: UnitInfo, program: Program, options: CompileOptions, target: PlanTarget, out: Diagnostic[]): PlannedUnit | undefined {
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
  const meta = kernelMeta(fwd, target.name);
  const plan = buildPlan(meta, fwd, bwd, { optimize, fastMath: optimize && options.dtype !== "float64", describe, reserved: target.reserved });
  if (process.env.CELLC_DUMP_PLAN === "1") console.error(dumpPlan(plan));
  verifyPlan(plan);
  const fileName = `${u.name}${Object.entries(binding).map(([k, v]) => `_${k}${v}`).join("")}.${target.extension}`;
  return { plan, binding, fileName, origin: path.basename(u.file) };
}

/** The unit of a checked spec that options.cell names, or its last one. */
export const pickUnit = (c: Checked, options: CompileOptions): UnitInfo | undefined =>
  options.cell === undefined ? c.units[c.units.length - 1] : c.units.find((u) => u.name === options.cell);

/** The verified plan of one cell or stack of `source` (no code printed), for the target `target`
 *  returns; it reports an unknown target into the diagnostics it is given and returns undefined. */
export function planSpec(source: string, options: CompileOptions, target: (out: Diagnostic[]) => PlanTarget | undefined): { plan?: Plan; diagnostics: Diagnostic[]; sources: Record<string, string> } {
  const c = checkSource(source, options);
  const sources = c.program.sources;
  if (hasErrors(c.diagnostics)) return { diagnostics: c.diagnostics, sources };
  const unit = pickUnit(c, options);
  const out = [...c.diagnostics];
  if (!unit) out.push(diag("CE403", undefined, options.cell ?? "(any)", options.file ?? INPUT_FILE));
  const t = target(out);
  const p = unit && t && planUnit(unit, c.program, options, t, out);
  return p ? { plan: p.plan, diagnostics: out, sources } : { diagnostics: sortDiagnostics(out), sources };
}

/** The text of a spec file, or CE301 saying why it cannot be read. */
export function readSpec(file: string, readFile: ReadFile = defaultRead): string | Diagnostic {
  try {
    return readFile(file);
  } catch (e) {
    return diag("CE301", undefined, file, describeFsError(e));
  }
}

/** The text of `file` in a sources record; a file named like `__proto__` is not looked up on
 *  Object.prototype. */
export function sourceOf(sources: Readonly<Record<string, string>>, file: string): string | undefined {
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
