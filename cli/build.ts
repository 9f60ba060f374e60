// What `cellc build` and `cellc check` do once the command line is understood: find the spec
// files, turn flags or a config into build jobs, run the compiler on each, write the modules and
// report. Kept apart from flag parsing (cli-args.ts) and watching (cli-watch.ts) so a watch
// rebuild runs exactly the code a one-shot build runs.

import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { diag, hasErrors, type Diagnostic } from "../grammar/diagnostics.ts";
import { describeFsError, MAX_SPEC_BYTES, readTextFile } from "../compiler/read-text.ts";
import { UsageError, formatDims } from "./args.ts";
import type { FmaMode } from "../compiler/api-types.ts";
import { shownPath, type OutTarget } from "./config.ts";

/** The compiler, loaded on first use so `--help` and usage errors stay fast. */
const compiler = (): Promise<typeof import("../driver/index.ts")> => import("../driver/index.ts");

/** Where the CLI's text goes: the process's streams by default, a capture when main() is called in-process. */
export interface Output {
  /** One line of normal output (stdout). */
  out(line: string): void;
  /** Diagnostics and error lines (stderr). */
  err(text: string): void;
}

/** One spec to build with one or more size bindings into one place. */
export interface BuildJob {
  /** Absolute path of the spec. */
  spec: string;
  bindings: Record<string, number>[];
  out: OutTarget;
  cell?: string;
  optimize: boolean;
  /** The backend (compile's `target`); absent: TypeScript. */
  target?: string;
  /** Where the job came from, for messages ("entries[2]" in a config). */
  origin?: string;
  /** Where the bindings came from, so an unbound size's hint names the right place. */
  dimsSource: "cli" | "config";
  /** A --cell given for many specs: a spec that does not declare it is skipped, not an error. */
  cellOptional?: boolean;
  /** Also write each WebAssembly module's text beside it (--emit-wat). */
  emitWat?: boolean;
  /** WebAssembly modules: the threads a call runs on by default (--threads). */
  threads?: number;
  /** WebAssembly modules: fused multiply-add in the matrix products (--fma; absent: "auto"). */
  fma?: FmaMode;
  /** Targets that print TypeScript: "ts" modules, or "js" (.js and .d.ts). Absent: "ts". */
  format?: "ts" | "js";
  /** Why `format` was chosen when nothing asked for one (cli/format.ts), for the build to say. */
  formatReason?: string;
}

export interface JobResult {
  job: BuildJob;
  /** False when any binding had an error diagnostic or could not be written. */
  ok: boolean;
  /** True when the spec had error diagnostics (or could not be read). */
  specErrors: boolean;
  /** Modules that were built but not written (a write error, or an output they cannot go to). */
  writeFailures: number;
  /** Every file the compiler read for this job (absolute path -> text it saw; null if unreadable). */
  inputs: Map<string, string | null>;
  /** Modules produced. */
  modules: number;
  /** Output paths this job claimed (written or unchanged). */
  outputs: string[];
}

export interface BuildReport {
  results: JobResult[];
  /** Jobs that failed. */
  failed: number;
  /** Jobs whose spec had errors. */
  specFailed: number;
  /** Modules built but not written. */
  writeFailures: number;
  /** A --cell given for many specs that none of them declares. */
  cellMissing: boolean;
  modules: number;
  ms: number;
}

// ---------- finding specs ----------

/**
 * Expands files and directories into spec paths (absolute, sorted within each directory). A
 * directory contributes every *.cell below it, skipping node_modules and hidden directories. A
 * missing path or a directory with no specs is a UsageError.
 */
export function collectSpecs(paths: readonly string[], command: "check" | "build"): string[] {
  const found: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let isDir: boolean;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      throw new UsageError(`no such file or directory: ${p}`, command);
    }
    if (!isDir) {
      found.push(abs);
      continue;
    }
    const before = found.length;
    walkSpecs(abs, found);
    if (found.length === before) throw new UsageError(`no .cell files under ${p}`, command);
  }
  return [...new Set(found)];
}

function walkSpecs(dir: string, into: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) walkSpecs(full, into);
    else if (e.isFile() && e.name.endsWith(".cell")) into.push(full);
  }
}

/** Every directory below `dir` that walkSpecs visits (for the watcher). */
export function specDirs(dir: string): string[] {
  const out = [dir];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules")
      out.push(...specDirs(join(dir, e.name)));
  }
  return out;
}

// ---------- check ----------

export interface CheckReport {
  files: number;
  errors: number;
  warnings: number;
  filesWithErrors: number;
}

export async function runCheck(specs: readonly string[], io: Output): Promise<CheckReport> {
  const { check, formatDiagnostics } = await compiler();
  const report: CheckReport = { files: specs.length, errors: 0, warnings: 0, filesWithErrors: 0 };
  for (const spec of specs) {
    const file = shownPath(spec);
    let text: string;
    try {
      text = readTextFile(spec, MAX_SPEC_BYTES, "a spec");
    } catch (e) {
      io.err(formatDiagnostics([diag("CE301", undefined, file, describeFsError(e))], {}));
      report.errors++;
      report.filesWithErrors++;
      continue;
    }
    const r = check(text, { file });
    const sources = { [file]: text, ...r.sources };
    if (r.diagnostics.length > 0) io.err(formatDiagnostics(r.diagnostics, sources));
    const errors = r.diagnostics.filter((d) => d.severity === "error").length;
    report.errors += errors;
    report.warnings += r.diagnostics.length - errors;
    if (errors > 0) report.filesWithErrors++;
  }
  return report;
}

// ---------- build ----------

/**
 * Builds every job in order, writes its modules and prints one line per module. `claimed` maps
 * each output path to the module that wrote it, so two modules never silently overwrite each
 * other; a watch passes one map for its whole life.
 */
export async function runBuild(
  jobs: readonly BuildJob[],
  io: Output,
  claimed: Map<string, string> = new Map(),
): Promise<BuildReport> {
  await compiler(); // load it first: the times reported are the builds', not start-up's
  const started = performance.now();
  const results: JobResult[] = [];
  // Say why a job nobody chose a format for writes JavaScript, once per reason (TypeScript, what
  // cellc has always written, needs no word: the file names say it).
  const chosen = new Set(jobs.flatMap((j) => (j.formatReason === undefined || j.format !== "js" ? [] : [`format: js (${j.formatReason}; choose with --format or "format")`])));
  for (const line of chosen) io.out(line);
  for (const job of jobs) results.push(await buildJob(job, io, claimed));
  const optional = results.filter((r) => r.job.cellOptional);
  const cellMissing = optional.length > 0 && optional.every((r) => r.ok && r.modules === 0);
  if (cellMissing) {
    io.err(`error: none of the ${optional.length} specs declares a cell or stack named '${optional[0]!.job.cell}'`);
  }
  return {
    results,
    failed: results.filter((r) => !r.ok).length,
    specFailed: results.filter((r) => r.specErrors).length,
    writeFailures: results.reduce((n, r) => n + r.writeFailures, 0),
    cellMissing,
    modules: results.reduce((n, r) => n + r.modules, 0),
    ms: performance.now() - started,
  };
}

async function buildJob(job: BuildJob, io: Output, claimed: Map<string, string>): Promise<JobResult> {
  const { buildFile, formatDiagnostics } = await compiler();
  const result: JobResult = { job, ok: true, specErrors: false, writeFailures: 0, inputs: new Map(), modules: 0, outputs: [] };
  const file = shownPath(job.spec);
  const prefix = job.origin ? `${job.origin}: ` : "";
  if (!existsSync(job.spec)) {
    io.err(`${prefix}error: no such file: ${file}`);
    result.inputs.set(job.spec, null);
    result.ok = false;
    result.specErrors = true;
    return result;
  }
  // A spec's own mistakes (syntax, names, shapes) are the same under every binding: each
  // diagnostic is shown once per job, not once per binding.
  const shown = new Set<string>();
  const failWrite = (message: string, modules: number): void => {
    io.err(`${prefix}error: ${message}`);
    result.ok = false;
    result.writeFailures += modules;
  };
  for (const dims of job.bindings) {
    const t0 = performance.now();
    const opts: { dims: Record<string, number>; optimize: boolean; cell?: string; target?: string; threads?: number; fma?: FmaMode; moduleFormat?: "ts" | "js"; dimsSource: "cli" | "config" } = {
      dims,
      optimize: job.optimize,
      dimsSource: job.dimsSource,
    };
    if (job.cell !== undefined) opts.cell = job.cell;
    if (job.target !== undefined) opts.target = job.target;
    if (job.threads !== undefined) opts.threads = job.threads;
    if (job.fma !== undefined) opts.fma = job.fma;
    if (job.format !== undefined) opts.moduleFormat = job.format;
    const r = await buildFile(file, opts);
    const ms = performance.now() - t0;
    for (const [name, text] of Object.entries(r.sources)) result.inputs.set(resolve(name), text);
    if (!result.inputs.has(job.spec)) result.inputs.set(job.spec, readOrNull(job.spec));

    let diagnostics: Diagnostic[] = r.diagnostics;
    if (job.cellOptional && diagnostics.length > 0 && diagnostics.every((d) => d.code === "CE403")) {
      diagnostics = []; // this spec simply does not declare the requested cell
      if (r.modules.length === 0) break;
    }
    const fresh = diagnostics.filter((d) => {
      const key = diagnosticKey(d);
      if (shown.has(key)) return false;
      shown.add(key);
      return true;
    });
    if (fresh.length > 0) io.err(formatDiagnostics(fresh, r.sources));
    if (hasErrors(diagnostics)) {
      result.ok = false;
      result.specErrors = true;
      continue;
    }
    if (job.out.kind === "file" && r.modules.length !== 1) {
      const names = r.modules.map((m) => m.name).join(", ");
      failWrite(
        `the output ${shownPath(job.out.path)} is one file but ${file} declares ${r.modules.length} ` +
          `cells or stacks (${names}); pick one (--cell, or "cell" in a config) or write to a directory`,
        r.modules.length,
      );
      continue;
    }
    const each = r.modules.length > 1 ? ` for ${r.modules.length} modules` : "";
    for (const m of r.modules) {
      const path = job.out.kind === "file" ? job.out.path : join(job.out.path, m.fileName);
      const label = `${m.name} from ${file}`;
      const owner = claimed.get(path);
      if (owner !== undefined && owner !== label) {
        failWrite(`${shownPath(path)} is written twice (by ${owner} and by ${label}); give them different outputs`, 1);
        continue;
      }
      claimed.set(path, label);
      result.outputs.push(path);
      let verb: string;
      // JavaScript modules have their declarations beside them: lstm.js and lstm.d.ts.
      const dtsPath = m.declaration === undefined ? undefined : path.replace(/\.js$/, "") + ".d.ts";
      const written = [[path, m.code], ...(dtsPath === undefined ? [] : [[dtsPath, m.declaration!.code]])] as const;
      let failed = false;
      const verbs: string[] = [];
      for (const [file, text] of written) {
        try {
          verbs.push(writeIfChanged(file, text));
          if (file !== path) result.outputs.push(file);
        } catch (e) {
          failWrite(`cannot write ${shownPath(file)}: ${writeReason(e, file)}`, 1);
          failed = true;
          break;
        }
      }
      if (failed) continue;
      verb = verbs.includes("wrote") ? "wrote" : "unchanged";
      if (job.emitWat) {
        const watPath = path.replace(/\.(ts|js)$/, "") + ".wat";
        try {
          verb = writeIfChanged(watPath, await watText(file, { ...opts, cell: m.name }));
          result.outputs.push(watPath);
        } catch (e) {
          failWrite(`cannot write ${shownPath(watPath)}: ${writeReason(e, watPath)}`, 1);
          continue;
        }
      }
      result.modules++;
      const params = m.meta.paramCount.toLocaleString("en-US");
      const also = dtsPath === undefined ? "" : ` and ${shownPath(dtsPath)}`;
      io.out(
        `${verb} ${shownPath(path)}${also} (${m.name}, ${formatDims(m.dims)}, ${params} params, ${Math.round(ms)} ms${each})`,
      );
    }
  }
  return result;
}

/** The WebAssembly text of one module (--emit-wat): its plan printed again, not assembled. */
async function watText(file: string, opts: { dims: Record<string, number>; optimize: boolean; cell?: string; target?: string }): Promise<string> {
  const { planKernel } = await import("../driver/index.ts");
  const { printWat } = await import("../backends/wasm/module.ts");
  const { plan } = planKernel(readTextFile(file, MAX_SPEC_BYTES), { ...opts, file });
  if (!plan) throw new Error("the spec did not plan");
  return `${printWat(plan).wat}\n`;
}

/** Identity of a diagnostic for de-duplication across bindings. */
function diagnosticKey(d: Diagnostic): string {
  const at = d.span ? `${d.span.file}:${d.span.start.line}:${d.span.start.column}-${d.span.end.line}:${d.span.end.column}` : "";
  return `${d.severity} ${d.code} ${at} ${d.message}`;
}

/** Writes `text` unless the file already holds it, so downstream watchers see no change. */
function writeIfChanged(path: string, text: string): "wrote" | "unchanged" {
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined;
  }
  // Writing into a FIFO would wait for a reader forever; a device is never meant.
  if (existing !== undefined && !existing.isFile() && !existing.isDirectory())
    throw new Error("it exists and is not a regular file");
  if (readOrNull(path, MAX_OUTPUT_BYTES) === text) return "unchanged";
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return "wrote";
}

/** Why a module could not be written to `path`, naming the part of the path at fault. */
function writeReason(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EEXIST" || code === "ENOTDIR") {
    // mkdir met a file where a directory must be: name it.
    for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        if (!statSync(dir).isDirectory()) return `${shownPath(dir)} is a file, not a directory`;
      } catch {
        // missing: look further up
      }
    }
  }
  return reason(e);
}

/** Generated modules are compared with what is on disk; past this size they are simply rewritten. */
const MAX_OUTPUT_BYTES = 64 << 20;

/** The text of a regular file, or null when it is missing, unreadable, not a regular file or too big. */
export function readOrNull(path: string, maxBytes = MAX_SPEC_BYTES): string | null {
  try {
    return readTextFile(path, maxBytes);
  } catch {
    return null;
  }
}

export function reason(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "no such file or directory";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "EISDIR") return "it is a directory";
    if (code === "ENOTDIR") return "a parent is not a directory";
    return e.message;
  }
  return String(e);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
