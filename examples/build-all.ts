// The build half of the demo: compiles every examples/specs/*.cell with small sizes (I=3, H=4,
// P=2; each spec takes the sizes it declares) into examples/out/ and prints a table of what was
// built. It calls the compiler API in-process, as a project's own build script would.
//
//   npm run demo            (or: node --import tsx examples/build-all.ts)
//
// Other scripts (the training demo) import buildAll() and reuse its result.

import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildFile, formatDiagnostics } from "../driver/index.ts";

const here = fileURLToPath(new URL(".", import.meta.url));

export interface BuiltKernel {
  /** Spec file, relative to the working directory. */
  spec: string;
  /** Cell or stack name. */
  name: string;
  dims: Record<string, number>;
  /** Absolute path of the written module. */
  path: string;
  paramCount: number;
  /** Time to compile the spec (its whole file), in milliseconds. */
  ms: number;
}

export interface BuildAllOptions {
  specsDir?: string;
  outDir?: string;
  dims?: Record<string, number>;
  optimize?: boolean;
  /** Where the table goes; default console.log. Pass () => {} for silence. */
  log?: (line: string) => void;
}

export class BuildAllError extends Error {
  override name = "BuildAllError";
}

/** Builds every spec in specsDir into outDir; throws BuildAllError (with diagnostics) if any fails. */
export async function buildAll(options: BuildAllOptions = {}): Promise<BuiltKernel[]> {
  const specsDir = options.specsDir ?? join(here, "specs");
  const outDir = options.outDir ?? join(here, "out");
  const dims = options.dims ?? { I: 3, H: 4, P: 2 };
  const log = options.log ?? ((line: string) => console.log(line));
  const specs = readdirSync(specsDir)
    .filter((f) => f.endsWith(".cell"))
    .sort()
    .map((f) => join(specsDir, f));
  mkdirSync(outDir, { recursive: true });

  const started = performance.now();
  const built: BuiltKernel[] = [];
  const failures: string[] = [];
  for (const spec of specs) {
    const shown = relative(process.cwd(), spec);
    const t0 = performance.now();
    const r = await buildFile(shown, { dims, optimize: options.optimize ?? true });
    const ms = performance.now() - t0;
    if (r.diagnostics.some((d) => d.severity === "error")) {
      failures.push(formatDiagnostics(r.diagnostics, r.sources));
      continue;
    }
    for (const m of r.modules) {
      const path = join(outDir, m.fileName);
      writeFileSync(path, m.code);
      built.push({ spec: shown, name: m.name, dims: { ...m.dims }, path, paramCount: m.meta.paramCount, ms });
    }
  }
  const total = performance.now() - started;
  if (failures.length > 0) throw new BuildAllError(failures.join("\n"));

  log(renderTable(built));
  log(
    `built ${built.length} kernels from ${specs.length} specs into ${relative(process.cwd(), outDir) || "."} in ${Math.round(total)} ms`,
  );
  return built;
}

/** A plain-text table, one row per kernel. */
export function renderTable(rows: readonly BuiltKernel[]): string {
  const header = ["file", "kernel", "sizes", "params", "build ms"];
  const body = rows.map((k) => [
    relative(process.cwd(), k.path),
    k.name,
    Object.entries(k.dims)
      .map(([n, v]) => `${n}=${v}`)
      .join(" "),
    k.paramCount.toLocaleString("en-US"),
    String(Math.round(k.ms)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const numeric = new Set([3, 4]);
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildAll().catch((e: unknown) => {
    if (e instanceof BuildAllError) console.error(e.message);
    else console.error(`build-all: internal error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
