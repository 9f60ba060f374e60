// The `cellc` command line: `check` and `build` (with a config file and a watch mode) over the
// compile API in ../driver/index.ts. main() never throws and never shows a stack trace: a mistake in the
// invocation is exit 2 with the usage text, a mistake in a spec is exit 1 with diagnostics, and
// anything else is a cellc bug, reported as "internal error" with exit 70.

import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import {
  UsageError,
  flagSet,
  flagValue,
  flagValues,
  parseDims,
  parseInvocation,
  usageFor,
  type ParsedCommand,
} from "./args.ts";
import { collectSpecs, plural, runBuild, runCheck, specDirs, type BuildJob, type Output } from "./build.ts";
import { watchBuild, type WatchPlan } from "./watch.ts";
import { runExport } from "./export.ts";
import { MAX_THREADS } from "../abi/checks.ts";
import { FMA_MODES, type FmaMode } from "../compiler/api-types.ts";
import { ConfigError, defaultConfigName, loadConfig, shownPath, type OutTarget } from "./config.ts";
import { BACKENDS } from "../backends/index.ts";
import { detectFormat, MODULE_FORMATS, type ModuleFormat } from "./format.ts";
import { visible } from "../grammar/visible.ts";

export const exitCodes = { ok: 0, specErrors: 1, usage: 2, internal: 70 } as const;

/** What cellc prints reaches the terminal through visible(), line by line: a file or cell name
 *  holding ESC or BEL shows as `\x1b`, `\x07` instead of acting on the terminal. */
const onTerminal = (text: string) => text.split("\n").map(visible).join("\n") + "\n";

const stdio: Output = {
  out: (line) => void process.stdout.write(onTerminal(line)),
  err: (text) => void process.stderr.write(onTerminal(text)),
};

/** Runs cellc with `argv` (no node, no script) and resolves to the exit status. */
export async function main(argv: readonly string[], io: Output = stdio): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`cellc: ${e.message}\n\n${usageFor(e.command)}`);
      return exitCodes.usage;
    }
    if (e instanceof ConfigError) {
      io.err(`cellc: ${e.message}\n(see 'cellc build --help' for the config format)`);
      return exitCodes.usage;
    }
    io.err(`cellc: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return exitCodes.internal;
  }
}

async function run(argv: readonly string[], io: Output): Promise<number> {
  if (argv[0] === "export" || (argv[0] === "help" && argv[1] === "export")) return runExport(argv[0] === "export" ? argv.slice(1) : ["--help"], io);
  // `study` parses its own flags (cli/study.ts); loaded only when used.
  if (argv[0] === "study" || (argv[0] === "help" && argv[1] === "study")) {
    const { studyCommand } = await import("./study.ts");
    return studyCommand(argv[0] === "study" ? argv.slice(1) : ["--help"], io);
  }
  if (argv[0] === "worker" || (argv[0] === "help" && argv[1] === "worker")) {
    const { workerCommand } = await import("./worker.ts");
    return workerCommand(argv[0] === "worker" ? argv.slice(1) : ["--help"], io);
  }
  const inv = parseInvocation(argv);
  if (inv.kind === "help") {
    io.out(usageFor(inv.command));
    return exitCodes.ok;
  }
  if (inv.kind === "version") {
    io.out(`cellc ${version()}`);
    return exitCodes.ok;
  }
  const p = inv.parsed;
  return p.command === "check" ? runCheckCommand(p, io) : runBuildCommand(p, io);
}

// ---------- check ----------

async function runCheckCommand(p: ParsedCommand, io: Output): Promise<number> {
  const configFlag = flagValue(p, "config");
  let specs: string[];
  if (p.positionals.length > 0) {
    if (configFlag !== undefined) throw new UsageError("give spec files or --config, not both", "check");
    specs = collectSpecs(p.positionals, "check");
  } else {
    const config = loadConfig(configPathOrFail(configFlag, "check"));
    specs = [...new Set(config.entries.map((e) => e.spec))];
  }
  const r = await runCheck(specs, io);
  const what = `checked ${plural(r.files, "spec")}`;
  const warnings = r.warnings > 0 ? `, ${plural(r.warnings, "warning")}` : "";
  if (r.errors > 0) {
    io.err(`${what}: ${plural(r.errors, "error")} in ${plural(r.filesWithErrors, "spec")}${warnings}`);
    return exitCodes.specErrors;
  }
  io.out(`${what}: no errors${warnings}`);
  return exitCodes.ok;
}

// ---------- build ----------

async function runBuildCommand(p: ParsedCommand, io: Output): Promise<number> {
  const makePlan = buildPlanner(p);
  const plan = makePlan(); // usage and config problems surface here, before anything is written
  if (flagSet(p, "watch")) return watchBuild(makePlan, io);

  const report = await runBuild(plan.jobs, io);
  const specs = plural(plan.jobs.length, "spec");
  const ms = Math.round(report.ms);
  if (report.failed > 0) {
    // Say what went wrong: a spec's errors and a module that could not be written are different news.
    const what: string[] = [];
    if (report.specFailed > 0) what.push(`${report.specFailed} of ${specs} had errors`);
    if (report.writeFailures > 0) what.push(`${plural(report.writeFailures, "module")} could not be written`);
    io.err(`build failed: ${what.join("; ")} (${plural(report.modules, "module")} written)`);
    return exitCodes.specErrors;
  }
  if (report.cellMissing) return exitCodes.specErrors;
  io.out(`built ${plural(report.modules, "module")} from ${specs} in ${ms} ms`);
  return exitCodes.ok;
}

/** Turns the build flags into a function that (re)computes the jobs; it throws on bad usage. */
function buildPlanner(p: ParsedCommand): () => WatchPlan {
  const configFlag = flagValue(p, "config");
  const noOpt = flagSet(p, "no-opt");
  const emitWat = flagSet(p, "emit-wat");
  const threadsFlag = flagValue(p, "threads");
  const threads = threadsFlag === undefined ? undefined : parseThreads(threadsFlag);
  const fmaFlag = flagValue(p, "fma");
  const fma = fmaFlag === undefined ? undefined : parseFma(fmaFlag);
  const formatFlag = flagValue(p, "format");
  if (formatFlag !== undefined && !(MODULE_FORMATS as readonly string[]).includes(formatFlag)) {
    throw new UsageError(`--format must be ts or js, got '${formatFlag}'`, "build");
  }
  // --emit-wat, --threads and --fma are about WebAssembly modules: only a wasm job can have them.
  const withWat = (job: BuildJob): BuildJob => {
    if (emitWat) {
      if (job.target !== "wasm") throw new UsageError("--emit-wat needs --target wasm", "build");
      job.emitWat = true;
    }
    if (threads !== undefined) {
      if (job.target !== "wasm") throw new UsageError("--threads needs --target wasm", "build");
      job.threads = threads;
    }
    if (fma !== undefined) {
      if (job.target !== "wasm") throw new UsageError("--fma needs --target wasm", "build");
      job.fma = fma;
    }
    return withFormat(job, formatFlag as ModuleFormat | undefined);
  };
  if (p.positionals.length === 0) {
    const configPath = configPathOrFail(configFlag, "build");
    for (const f of ["dims", "out", "cell", "target", "format"]) {
      if (p.flags.has(f))
        throw new UsageError(`--${f} cannot be used with a config file (set it in the config's entries)`, "build");
    }
    return () => {
      const config = loadConfig(configPath);
      const jobs = config.entries.map((e): BuildJob => {
        const job: BuildJob = {
          spec: e.spec,
          bindings: e.bindings,
          out: e.out,
          optimize: e.optimize && !noOpt,
          dimsSource: "config",
        };
        job.origin = `${shownPath(config.file)} entries[${e.index}]`;
        if (e.cell !== undefined) job.cell = e.cell;
        if (e.target !== undefined) job.target = e.target;
        if (e.threads !== undefined) job.threads = e.threads;
        if (e.fma !== undefined) job.fma = e.fma;
        if (e.format !== undefined) job.format = e.format;
        return withWat(job);
      });
      return { jobs, dirs: [], files: [config.file] };
    };
  }

  if (configFlag !== undefined) throw new UsageError("give spec files or --config, not both", "build");
  const outFlag = flagValue(p, "out");
  if (outFlag === undefined) throw new UsageError("missing --out DIR (where to write the modules)", "build");
  if (outFlag === "") throw new UsageError("--out needs a value", "build");
  const target = flagValue(p, "target");
  const backend = BACKENDS.get(target ?? "ts");
  if (!backend) throw new UsageError(`--target '${target}' is not a target (targets: ${[...BACKENDS.keys()].join(", ")})`, "build");
  // A target that prints TypeScript can write JavaScript: --out x.js names one file.
  const jsFile = backend.extension === "ts" && outFlag.endsWith(".js");
  if (jsFile && formatFlag === "ts") throw new UsageError(`--out ${outFlag} names a .js file but --format is ts`, "build");
  if (formatFlag === "js" && outFlag.endsWith(".ts")) throw new UsageError(`--out ${outFlag} names a .ts file but --format is js; name a .js file or a directory`, "build");
  const out: OutTarget = outFlag.endsWith(`.${backend.extension}`) || jsFile
    ? { kind: "file", path: resolve(outFlag) }
    : { kind: "dir", path: resolve(outFlag) };
  const dims = parseDims(flagValues(p, "dims"));
  const cell = flagValue(p, "cell");
  if (cell === "") throw new UsageError("--cell needs a name", "build");
  const inputs = [...p.positionals];
  return () => {
    const specs = collectSpecs(inputs, "build");
    if (out.kind === "file" && specs.length > 1) {
      throw new UsageError(
        `--out ${outFlag} names one file but ${specs.length} specs are given; use a directory`,
        "build",
      );
    }
    const jobs = specs.map((spec): BuildJob => {
      const job: BuildJob = { spec, bindings: [dims], out, optimize: !noOpt, dimsSource: "cli" };
      if (target !== undefined) job.target = target;
      if (jsFile) job.format = "js";
      if (cell !== undefined) {
        job.cell = cell;
        if (specs.length > 1) job.cellOptional = true;
      }
      return withWat(job);
    });
    const dirs = inputs
      .map((i) => resolve(i))
      .filter(isDirectory)
      .flatMap(specDirs);
    return { jobs, dirs, files: [] };
  };
}

/**
 * The job's module format: --format (only for targets that print TypeScript), the config's or
 * the .js output's, else the one its output's project calls for (cli/format.ts), with the reason.
 */
function withFormat(job: BuildJob, flag: ModuleFormat | undefined): BuildJob {
  const typescript = BACKENDS.get(job.target ?? "ts")!.extension === "ts";
  if (!typescript) {
    if (flag !== undefined) throw new UsageError(`--format is for targets that print TypeScript modules (ts, wasm), not '${job.target}'`, "build");
    return job;
  }
  if (flag !== undefined) job.format = flag;
  if (job.format === undefined) {
    const choice = detectFormat(job.out.path, job.out.kind === "file");
    job.format = choice.format;
    job.formatReason = choice.reason;
  }
  return job;
}

/** --threads N: a whole number of threads from 1 to MAX_THREADS. */
function parseThreads(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS}, got '${text}'`, "build");
  return n;
}

/** --fma auto|on|off. */
function parseFma(text: string): FmaMode {
  if (!(FMA_MODES as readonly string[]).includes(text)) throw new UsageError(`--fma must be auto, on or off, got '${text}'`, "build");
  return text as FmaMode;
}

function configPathOrFail(configFlag: string | undefined, command: "check" | "build"): string {
  if (configFlag !== undefined) {
    if (!existsSync(configFlag)) throw new UsageError(`no such config file: ${configFlag}`, command);
    return configFlag;
  }
  if (existsSync(defaultConfigName)) return defaultConfigName;
  throw new UsageError(`missing spec files (and no ${defaultConfigName} in this directory)`, command);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** cellc's version, from the package.json above this file (cli/ in the repository, dist/cli/ in the package). */
function version(): string {
  for (const up of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "cellc") return pkg.version ?? "unknown";
    } catch {
      // not at this level
    }
  }
  return "unknown";
}
