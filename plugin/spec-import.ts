// What a `.cell` import asks for, and the kernel module it becomes. `./lstm.cell?I=64&H=128`
// names a spec and its sizes; `cell=NAME` picks one cell or stack of the file; `target=wasm` or
// `target=ts` the backend; a bare `kernel` is accepted anywhere in the query (it lets TypeScript
// match `*&kernel`, see client.d.ts).
// Bundler-independent: index.ts wires it into unplugin.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { isSizeName, sizeValueProblem } from "../cli/args.ts";
import type { FmaMode } from "../compiler/api-types.ts";

/** The backends a `.cell` import can be built with. */
export const IMPORT_TARGETS = ["ts", "wasm"] as const;
export type ImportTarget = (typeof IMPORT_TARGETS)[number];

export interface CellImport {
  /** Absolute path of the spec. */
  file: string;
  dims: Record<string, number>;
  cell?: string;
  target?: ImportTarget;
}

/** `v` as a target, or undefined when it is none. */
export function importTarget(v: unknown): ImportTarget | undefined {
  return IMPORT_TARGETS.find((t) => t === v);
}

/** Thrown for an import whose query cannot be understood. */
export class CellImportError extends Error {
  override name = "CellImportError";
}

const CELL_ID = /\.cell(?:\?.*)?$/;

/** True for an import this plugin handles: a path ending in `.cell`, with or without a query. */
export function isCellImport(id: string): boolean {
  return CELL_ID.test(id) && !id.startsWith("\0");
}

/** The import's spec path resolved against the importing file, with the query kept. */
export function resolveCellImport(id: string, importer: string | undefined): string {
  const q = id.indexOf("?");
  const path = q < 0 ? id : id.slice(0, q);
  const query = q < 0 ? "" : id.slice(q);
  const base = importer !== undefined && isAbsolute(importer) ? dirname(importer.replace(/\?.*$/, "")) : process.cwd();
  return resolve(base, path) + query;
}

/** The spec, sizes and target of a resolved id (`target`: the plugin's, when the query gives none);
 *  throws CellImportError naming what is wrong in the query. */
export function parseCellImport(id: string, defaults: Readonly<Record<string, number>> = {}, target?: ImportTarget): CellImport {
  const q = id.indexOf("?");
  const file = q < 0 ? id : id.slice(0, q);
  const dims: Record<string, number> = { ...defaults };
  const out: CellImport = { file, dims, ...(target !== undefined ? { target } : {}) };
  if (q < 0) return out;
  for (const part of id.slice(q + 1).split("&")) {
    if (part === "" || part === "kernel") continue;
    const eq = part.indexOf("=");
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? undefined : decodeURIComponent(part.slice(eq + 1));
    if (name === "cell" && value !== undefined && !/^[0-9]+$/.test(value)) {
      if (!isSizeName(value)) throw new CellImportError(`'cell=${value}' is not the name of a cell or stack`);
      out.cell = value;
      continue;
    }
    if (name === "target" && value !== undefined && !/^[0-9]+$/.test(value)) {
      const t = importTarget(value);
      if (t === undefined) throw new CellImportError(`'target=${value}' is not a target: write target=ts or target=wasm`);
      out.target = t;
      continue;
    }
    if (!isSizeName(name)) throw new CellImportError(`'${part}' in the query is not NAME=N (a size), cell=NAME, target=ts|wasm or kernel`);
    if (value === undefined) throw new CellImportError(`size ${name} has no value: write ${name}=N`);
    const problem = sizeValueProblem(value);
    if (problem !== undefined) throw new CellImportError(`size ${name} ${problem}`);
    dims[name] = Number(value);
  }
  return out;
}

export interface BuiltKernel {
  /** JavaScript of the kernel module. */
  code: string;
  /** Every file the compiler read (the spec and what it imports), to watch. */
  files: string[];
}

/** A spec's problems, formatted with code frames; `line`/`column` locate the first one. */
export class SpecError extends Error {
  override name = "SpecError";
  constructor(
    message: string,
    readonly file: string,
    readonly files: string[],
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}

/** Compiles the import into a JavaScript module (`fma`: for WebAssembly imports); throws SpecError
 *  with the diagnostics. */
export async function buildCellImport(imp: CellImport, optimize: boolean, fma?: FmaMode): Promise<BuiltKernel> {
  // The compiler (and prettier, ts-morph) load on the first .cell import, not with the bundler config.
  const { compile, formatDiagnostics } = await import("../driver/index.ts");
  let source: string;
  try {
    source = readFileSync(imp.file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new SpecError(`cannot read ${imp.file}: ${why}`, imp.file, [imp.file]);
  }
  // Diagnostics name the spec as the user sees it: relative to the working directory when under it.
  const shown = relative(process.cwd(), imp.file);
  const r = await compile(source, {
    file: shown.startsWith("..") || isAbsolute(shown) ? imp.file : shown,
    dims: imp.dims,
    optimize,
    format: false,
    dimsSource: "api",
    ...(imp.cell !== undefined ? { cell: imp.cell } : {}),
    ...(imp.target !== undefined ? { target: imp.target } : {}),
    ...(imp.target === "wasm" && fma !== undefined ? { fma } : {}),
  });
  const files = [imp.file, ...Object.keys(r.sources).map((f) => resolve(f))].filter((f, i, all) => all.indexOf(f) === i);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (r.module === undefined || errors.length > 0) {
    const first = errors[0] ?? r.diagnostics[0];
    const message = formatDiagnostics(errors.length > 0 ? errors : r.diagnostics, r.sources);
    throw new SpecError(message, first?.span?.file ?? imp.file, files, first?.span?.start.line, first?.span?.start.column);
  }
  const { default: ts } = await import("typescript");
  const js = ts.transpileModule(r.module.code, {
    fileName: `${r.module.fileName}`,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  return { code: js, files };
}
