// `cellc study`: the command line around runStudy (studies/). Flags are read through the
// project's flag table (./flags.ts, node:util parseArgs underneath), which also prints them in the
// usage; a bad flag, an unknown task or a value out of range prints the reason and the usage and
// exits 2. A spec that does not compile or does not fit the task prints its diagnostics and the
// study goes on with the others (exit 1 at the end); diverged runs are results, not errors (exit 0).

import { basename, extname } from "node:path";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { availableParallelism } from "node:os";
import type { Output } from "./build.ts";
import { FlagError, formatFlags, parseFlags, type FlagDefs } from "./flags.ts";

/** A mistake in how `cellc study` was invoked (exit 2, with the usage). */
class StudyUsageError extends Error {}

/** The flags of `cellc study`, in the order the usage lists them. */
export const studyFlags: FlagDefs = {
  task: { type: "string", arg: "NAME|FILE", help: "A task below, or a task module file whose default export is a task" },
  seeds: { type: "string", arg: "N", help: "Seeds 1..N, the same for every spec (default 5)" },
  budget: { type: "string", arg: "N", help: "Training sequences per run (default: the task's)" },
  units: { type: "string", arg: "H", help: "Hidden size, bound to the spec's H (default: the task's)" },
  T: { type: "string", arg: "N", help: "Sequence length, for tasks that have one (default: the task's)" },
  optimizer: { type: "string", arg: "NAME", help: "adam, rmsprop or sgd (default: the task's)" },
  lr: { type: "string", arg: "X", help: "Learning rate (default: the task's)" },
  batch: { type: "string", arg: "N", help: "Batch size (default: the task's)" },
  clip: { type: "string", arg: "X", help: "Clip gradients to this global norm; 0 for none (default 1)" },
  "eval-every": { type: "string", arg: "N", help: "Training sequences between held-out evaluations (default: the task's)" },
  dims: { type: "string", multiple: true, arg: "P=8,...", help: "Further size bindings for the specs (I and H are bound by the study)" },
  workers: {
    type: "string",
    arg: "K",
    help: `Worker processes (default: available cores, here ${availableParallelism()});\n0 runs everything in this process`,
  },
  baseline: {
    type: "string",
    arg: "SPEC",
    help: "The spec to compare with: first in the table, dashed in every panel\nof the curves (a file name without .cell, or its path; default the first)",
  },
  out: { type: "string", short: "o", arg: "DIR", help: "Where to write the report (default ./study-<task>)" },
  search: {
    type: "string",
    arg: "N",
    help: "Random search (Greff et al. 2017): N hyperparameter settings per spec,\nthe same for every spec, from the task's ranges; seeds default to 1",
  },
  space: { type: "string", arg: "FILE", help: "The search's ranges as JSON (see docs/studies.md), instead of the task's" },
  queue: {
    type: "string",
    arg: "URL",
    help: "Enqueue the runs on Redis (redis://HOST:PORT[/DB]) for `cellc worker`\nprocesses on any machine, and wait for them; finished runs are kept\nin DIR/runs.jsonl, so the same command started again finishes the study",
  },
  resume: { type: "string", arg: "DIR", help: "Start again the queued study whose report folder is DIR (its command\nis in DIR/study.json), reusing every finished run" },
  help: { type: "boolean", short: "h", help: "Show this help" },
};

/** The usage text, with the tasks the study knows. */
export async function studyUsage(): Promise<string> {
  const { taskNames, resolveTask } = await import("../studies/index.ts");
  const tasks: string[] = [];
  for (const name of taskNames) {
    const { task } = await resolveTask(name);
    const d = task.defaults;
    const T = task.T ? `T ${task.T.default}, ` : "";
    tasks.push(`  ${name.padEnd(11)}${task.summary}\n  ${"".padEnd(11)}(defaults: ${T}budget ${d.budget}, H ${d.units}, ${d.optimizer} ${d.learningRate}, batch ${d.batchSize})`);
  }
  return `Usage: cellc study <specs|dirs>... --task NAME [options]

Trains every spec on the same task with the same data, budget, optimizer and seeds, one run per
worker process, and reports per spec the final metric (mean ± std over seeds), the training
sequences needed to meet the task's success criterion, parameters and time. Writes a markdown
report, SVG learning curves and results.json, and prints the table.

Options:
${formatFlags(studyFlags)}

Tasks:
${tasks.join("\n")}

Exit status: 0 done, 1 a spec did not compile or fit the task (the others still ran),
2 usage error (including an unknown task and a malformed --queue URL), 3 the queue could not
be used (Redis unreachable or lost; the finished runs are kept for the next start).`;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v)) || Number(v) < min) {
    throw new StudyUsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  }
  return Number(v);
}

function real(name: string, v: string | undefined, min: number, inclusive: boolean): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || (inclusive ? x < min : x <= min)) {
    throw new StudyUsageError(`--${name} must be a number ${inclusive ? ">=" : ">"} ${min}, got '${v}'`);
  }
  return x;
}

function dimsOf(values: readonly string[] | undefined): Record<string, number> {
  const dims: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const value of values ?? []) {
    for (const item of value.split(",")) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)\s*$/.exec(item);
      if (!m || Number(m[2]) < 1 || !Number.isSafeInteger(Number(m[2]))) throw new StudyUsageError(`--dims expects NAME=N pairs with N a positive integer, got '${item}'`);
      dims[m[1]!] = Number(m[2]);
    }
  }
  return dims;
}

/** Spec files from the arguments: files as given, directories by their *.cell files (sorted). */
function specFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    let dir: boolean;
    try {
      dir = statSync(a).isDirectory();
    } catch {
      throw new StudyUsageError(`no such file or directory: ${a}`);
    }
    if (!dir) {
      out.push(a);
      continue;
    }
    const found = readdirSync(a).filter((f) => f.endsWith(".cell")).sort().map((f) => join(a, f));
    if (found.length === 0) throw new StudyUsageError(`no .cell files in ${a}`);
    out.push(...found);
  }
  return [...new Map(out.map((f) => [resolve(f), f])).values()];
}

function shellQuote(a: string): string {
  return /^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs `cellc study` with the arguments after "study"; resolves to the exit status. */
export async function studyCommand(argv: readonly string[], io: Output): Promise<number> {
  try {
    return await run(await resumed(argv), io);
  } catch (e) {
    if ((e as Error)?.name === "QueueError") {
      io.err(`cellc study: ${(e as Error).message}`);
      return 3;
    }
    if (!(e instanceof StudyUsageError) && !(e instanceof FlagError) && (e as Error)?.name !== "StudyError") throw e;
    const message = (e as Error).message;
    io.err(`cellc study: ${message}\n\n${await studyUsage()}`);
    return 2;
  }
}

/** `--resume DIR` alone: the command recorded in DIR/study.json; anything else as given. */
async function resumed(argv: readonly string[]): Promise<readonly string[]> {
  const i = argv.findIndex((a) => a === "--resume" || a.startsWith("--resume="));
  if (i < 0) return argv;
  const { values, positionals } = parseFlags(argv, studyFlags, { positionals: true });
  const dir = values.get("resume") as string;
  if (positionals.length > 0 || values.size > 1) throw new StudyUsageError("--resume DIR takes no other arguments (the study's command is in DIR/study.json)");
  let recorded: { argv?: unknown; cwd?: unknown };
  try {
    recorded = JSON.parse(readFileSync(join(dir, "study.json"), "utf8")) as { argv?: unknown; cwd?: unknown };
  } catch (e) {
    throw new StudyUsageError(`cannot resume ${dir}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no study.json there (only a study run with --queue can be resumed)" : (e as Error).message}`);
  }
  if (!Array.isArray(recorded.argv) || !recorded.argv.every((a) => typeof a === "string")) throw new StudyUsageError(`cannot resume ${dir}: its study.json has no command`);
  // Relative paths in the command are the study's first working directory's.
  if (typeof recorded.cwd === "string" && existsSync(recorded.cwd)) process.chdir(recorded.cwd);
  return recorded.argv as string[];
}

async function run(argv: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, studyFlags, { positionals: true });
  const one = (name: string): string | undefined => {
    const x = values.get(name);
    return typeof x === "string" ? x : undefined;
  };
  const v = {
    help: values.get("help") === true,
    task: one("task"),
    out: one("out"),
    baseline: one("baseline"),
    optimizer: one("optimizer"),
    dims: (values.get("dims") as string[] | undefined) ?? [],
    seeds: one("seeds"),
    budget: one("budget"),
    units: one("units"),
    T: one("T"),
    lr: one("lr"),
    batch: one("batch"),
    clip: one("clip"),
    "eval-every": one("eval-every"),
    workers: one("workers"),
    queue: one("queue"),
    search: one("search"),
    space: one("space"),
  };
  if (v.help) {
    io.out(await studyUsage());
    return 0;
  }
  if (v.task === undefined) throw new StudyUsageError("missing --task NAME");
  if (positionals.length === 0) throw new StudyUsageError("missing spec files");
  const specs = specFiles(positionals);
  const optimizer = v.optimizer;
  if (optimizer !== undefined && !["adam", "rmsprop", "sgd"].includes(optimizer)) throw new StudyUsageError(`--optimizer must be adam, rmsprop or sgd, got '${optimizer}'`);
  const taskBase = existsSync(v.task) ? basename(v.task, extname(v.task)) : v.task;
  const out = v.out ?? `study-${taskBase.replace(/[^\w.-]/g, "_")}`;
  if (out === "") throw new StudyUsageError("--out needs a directory");

  if (v.queue !== undefined) {
    const { parseQueueUrl } = await import("../studies/queue/url.ts");
    try {
      parseQueueUrl(v.queue);
    } catch (e) {
      throw new StudyUsageError((e as Error).message);
    }
    // The command and where it ran, for `--resume DIR` (a folder that cannot be written is
    // reported by runStudy, before any training).
    try {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, "study.json"), `${JSON.stringify({ cwd: process.cwd(), argv }, null, 2)}\n`);
    } catch {
      // said below
    }
  }

  const { runStudy } = await import("../studies/index.ts");
  const opts: Parameters<typeof runStudy>[0] = {
    specs,
    task: v.task,
    out,
    dims: dimsOf(v.dims),
    dimsSource: "cli",
    ...(v.queue === undefined ? {} : { queue: { url: v.queue, log: (line: string) => io.err(line) } }),
    ...(v.baseline === undefined ? {} : { baseline: v.baseline }),
    command: `cellc study ${argv.map(shellQuote).join(" ")}`,
    onSpecProblem: (p) => {
      if (p.status === "compile-error") io.err(`${p.problem}\n${p.file}: did not compile; the other specs still run`);
      else io.err(`error: ${p.file} does not fit the task: ${p.problem}`);
    },
  };
  const numbers = {
    seeds: int("seeds", v.seeds, 1),
    budget: int("budget", v.budget, 1),
    units: int("units", v.units, 1),
    T: int("T", v.T, 1),
    learningRate: real("lr", v.lr, 0, false),
    batchSize: int("batch", v.batch, 1),
    clipNorm: real("clip", v.clip, 0, true),
    evalEvery: int("eval-every", v["eval-every"], 1),
    workers: int("workers", v.workers, 0),
  };
  Object.assign(opts, Object.fromEntries(Object.entries(numbers).filter(([, x]) => x !== undefined)));
  const search = int("search", v.search, 1);
  if (v.space !== undefined && search === undefined) throw new StudyUsageError("--space FILE needs --search N");
  if (search !== undefined) {
    opts.search = search;
    if (v.space !== undefined) {
      const { checkSpace } = await import("../studies/search.ts");
      let text: string;
      try {
        text = readFileSync(v.space, "utf8");
      } catch (e) {
        throw new StudyUsageError(`cannot read --space ${v.space}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new StudyUsageError(`--space ${v.space} is not JSON: ${(e as Error).message}`);
      }
      opts.space = checkSpace(json, v.space);
    }
  }
  if (optimizer !== undefined) opts.optimizer = optimizer as "adam" | "rmsprop" | "sgd";

  const r = await runStudy(opts);
  const s = r.setup;
  const ran = r.specs.filter((p) => p.status === "ok").length;
  io.out(
    `\nstudy '${s.task.name}'${s.settings.T !== undefined ? ` (T = ${s.settings.T})` : ""}: ${ran} of ${r.specs.length} specs × ${s.seeds.length} seeds, ` +
      `${s.budget.toLocaleString("en-US")} sequences per run, ${search === undefined ? `H = ${s.units}, ${s.optimizer} ${s.learningRate}` : `${search} random settings per spec`}, ${s.queue !== undefined ? `on the queue ${s.queue}` : `${s.workers} worker${s.workers === 1 ? "" : "s"}`}, ` +
      `${r.timing.totalSeconds.toFixed(1)} s wall; success: ${s.task.success}\n`,
  );
  io.out(r.table);
  if (r.files.length > 0) io.out(`\nreport: ${r.files[0]} (learning curves and results.json beside it)`);
  return ran < r.specs.length ? 1 : 0;
}
