// `cellc study` as an API: train several specs on one task with the same data, budget, optimizer
// and seeds, one run per worker process, and report per spec the final metric (mean ± std over
// seeds), the training sequences needed to meet the task's success criterion, parameters and time.
//
//   import { runStudy } from "./studies/index.ts";   // this file
//   const r = await runStudy({ specs: ["a.cell", "b.cell"], task: "adding", seeds: 5, out: "study-adding" });
//   console.log(r.table);
//
// It lives in jit/ because a study joins the two halves the runtime keeps apart: it compiles specs
// (the compiler) and trains them (the runtime). Compiling happens once, here; the workers get the
// compiled modules and never load the compiler. cli/study.ts is only the command line around this.

import { mkdirSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import type { DimsSource } from "../compiler/api-types.ts";
import type { OptimizerName, ProgressStream } from "../runtime/index.ts";
import { runJobs, type PoolEvents } from "./pool.ts";
import { prepareSpecs, specLabels, type PreparedSpec } from "./prepare.ts";
import { StudyProgress } from "./progress.ts";
import { formatMetric, textTables, writeReport, type StudySetup, type StudyTiming } from "./report.ts";
import type { Job, RunResult } from "./run.ts";
import { summarize, type SpecSummary } from "./summary.ts";
import { defaultSpace, sampleSettings, type SearchSpace, type Setting } from "./search.ts";
import { searchReport, writeSearchReport } from "./search-report.ts";
import { resolveTask, taskNames, UnknownTaskError } from "./tasks/index.ts";
import type { StudyTask, TaskSettings } from "./task.ts";

export { defineTask, type StudyTask, type TaskData, type TaskDefaults, type TaskSettings, type Batch, type Evaluation } from "./task.ts";
export { taskNames, resolveTask, UnknownTaskError };
export type { PreparedSpec, RunResult, SpecSummary };

/** A study that cannot start: a bad option or an unknown task (the CLI's exit status 2). */
export class StudyError extends Error {
  override name = "StudyError";
}

export interface StudyOptions {
  /** Spec files. */
  specs: readonly string[];
  /** A built-in task's name (taskNames) or the path of a task file. */
  task: string;
  /** Seeds 1..seeds. Default 5. */
  seeds?: number;
  /** Task settings and training; each defaults to the task's own (StudyTask.defaults, T). */
  T?: number;
  budget?: number;
  units?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  learningRate?: number;
  clipNorm?: number;
  evalEvery?: number;
  /** Worker processes; default the machine's available parallelism. 0 runs everything in this process. */
  workers?: number;
  /** Further size bindings for the specs (e.g. { P: 16 }); I and H are bound by the study. */
  dims?: Record<string, number>;
  /** The specs' names for the input and hidden sizes. Default "I" and "H". */
  inputDim?: string;
  unitsDim?: string;
  /** The spec the others are compared with (its label or file): first in the tables, drawn dashed
   *  in every panel of the curves. Default: the first spec. */
  baseline?: string;
  /** Where the report goes (created); undefined writes no files. */
  out?: string;
  /** Progress: a stream (default process.stderr), or false for none. */
  progress?: ProgressStream | false;
  /** A spec that does not compile or fit the task, as soon as that is known. */
  onSpecProblem?: (spec: PreparedSpec) => void;
  /** The command line, for the report. */
  command?: string;
  /** Who gave `dims` (diagnostic hints). Default "api". */
  dimsSource?: DimsSource;
  /** A random search: this many hyperparameter settings per spec, drawn from `space` (default the
   *  task's, see studies/search.ts); each setting runs with every seed. */
  search?: number;
  space?: SearchSpace;
  /** Run on a BullMQ queue (workers: `cellc worker`) instead of local processes; see studies/queue/. */
  queue?: { url: string; attempts?: number; connectSeconds?: number; lostSeconds?: number; log?: (line: string) => void };
}

export interface StudyResult {
  setup: StudySetup;
  specs: PreparedSpec[];
  summaries: SpecSummary[];
  runs: RunResult[];
  /** The per-spec and per-seed tables as text. */
  table: string;
  timing: StudyTiming;
  /** Files written (report.md first), when `out` was given. */
  files: string[];
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isSafeInteger(x) || x < 1) throw new StudyError(`${name} must be a positive integer, got ${x}`);
  return x;
}

function settingsFor(task: StudyTask, T: number | undefined): TaskSettings {
  if (!task.T) {
    if (T !== undefined) throw new StudyError(`task '${task.name}' takes no T (it has no sequence length to set)`);
    return { T: undefined };
  }
  const value = T ?? task.T.default;
  const max = task.T.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < task.T.min || value > max) {
    throw new StudyError(`T for task '${task.name}' must be an integer from ${task.T.min}${task.T.max ? ` to ${task.T.max}` : " up"} (${task.T.help}), got ${value}`);
  }
  return { T: value };
}

/** Checks the options against the task and fills in its defaults. */
function setupFor(o: StudyOptions, task: StudyTask): StudySetup {
  const d = task.defaults;
  const optimizer = o.optimizer ?? d.optimizer;
  if (!["adam", "rmsprop", "sgd"].includes(optimizer)) throw new StudyError(`optimizer must be adam, rmsprop or sgd, got '${optimizer}'`);
  const learningRate = o.learningRate ?? d.learningRate;
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new StudyError(`learning rate must be a positive number, got ${learningRate}`);
  const clipNorm = o.clipNorm ?? d.clipNorm;
  if (!(Number.isFinite(clipNorm) && clipNorm >= 0)) throw new StudyError(`clip norm must be a number >= 0 (0: no clipping), got ${clipNorm}`);
  const workers = o.workers ?? availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 0) throw new StudyError(`workers must be an integer >= 0, got ${workers}`);
  const budget = positiveInt("budget", o.budget, d.budget);
  const seeds = positiveInt("seeds", o.seeds, o.search !== undefined ? 1 : 5);
  if (o.search !== undefined) positiveInt("search", o.search, 1);
  const setup: StudySetup = {
    task,
    settings: settingsFor(task, o.T),
    seeds: Array.from({ length: seeds }, (_, i) => i + 1),
    budget,
    units: positiveInt("units", o.units, d.units),
    batchSize: positiveInt("batch size", o.batchSize, d.batchSize),
    optimizer,
    learningRate,
    clipNorm,
    evalEvery: Math.min(budget, positiveInt("evalEvery", o.evalEvery, d.evalEvery)),
    workers,
  };
  if (o.command !== undefined) setup.command = o.command;
  if (o.queue !== undefined) setup.queue = o.queue.url.replace(/\/\/[^@/]*@/, "//");
  return setup;
}

/** How one finished run is described in the progress output. */
function runLine(r: RunResult, task: StudyTask): string {
  const head = `${r.spec} seed ${r.seed}: `;
  if (r.status !== "ok") return `${head}${r.status} (${r.message ?? ""})`;
  const reached = r.reachedAt === undefined ? "success not reached" : `success after ${r.reachedAt.toLocaleString("en-US")}`;
  return `${head}${task.metric.name} ${formatMetric(r.final, task)}, ${reached}, ${r.seconds.toFixed(1)} s`;
}

/** The job queue's Redis client (ioredis, BullMQ's) not installed: one line, not a stack. */
export function missingClient(e: unknown): Error {
  if (!/ioredis/.test((e as Error)?.message ?? "")) return e as Error;
  const error = new Error("the job queue needs the 'ioredis' package (BullMQ's Redis client): npm install ioredis");
  error.name = "QueueError";
  return error;
}

/** The study's runs on a job queue (studies/queue/, loaded only then: it needs Redis's client). */
async function runOnQueue(q: NonNullable<StudyOptions["queue"]>, jobs: Job[], taskName: string | undefined, out: string | undefined, ev: PoolEvents, bar: () => StudyProgress | undefined): Promise<RunResult[]> {
  const { runJobsOnQueue } = await import("./queue/coordinator.ts").catch((e: unknown) => {
    throw missingClient(e);
  });
  return runJobsOnQueue(
    jobs,
    {
      ...q,
      ...(taskName === undefined ? {} : { taskName }),
      ...(out === undefined ? {} : { storeDir: out }),
      log: q.log ?? ((line) => process.stderr.write(`${line}\n`)),
      counts: (c) => bar()?.note(`${c.running} running, ${c.failed} failed, ${c.left} left${c.reused > 0 ? `, ${c.reused} reused` : ""}, ${c.perMinute.toFixed(1)} runs/min`),
    },
    ev,
  );
}

/** Runs a study; see StudyOptions. Throws StudyError for options it cannot run with. */
export async function runStudy(o: StudyOptions): Promise<StudyResult> {
  const t0 = performance.now();
  const loadStart = loadavg();
  if (!o || !Array.isArray(o.specs) || o.specs.length === 0) throw new StudyError("no spec files to study");
  if (typeof o.task !== "string" || o.task === "") throw new StudyError(`no task given; known tasks: ${taskNames.join(", ")}`);
  let resolved;
  try {
    resolved = await resolveTask(o.task);
  } catch (e) {
    if (e instanceof UnknownTaskError) throw new StudyError(e.message);
    throw e;
  }
  const { task, module } = resolved;
  const setup = setupFor(o, task);
  if (o.out !== undefined) {
    // Before any training: a report that cannot be written would lose the whole study.
    try {
      mkdirSync(o.out, { recursive: true });
    } catch (e) {
      throw new StudyError(`cannot write the report to ${o.out}: ${(e as NodeJS.ErrnoException).code === "EEXIST" || (e as NodeJS.ErrnoException).code === "ENOTDIR" ? "a file is in the way" : (e as Error).message}`);
    }
  }

  // The baseline goes first; checked before compiling anything.
  const ordered = [...o.specs];
  if (o.baseline !== undefined) {
    const labels = specLabels(ordered);
    const b = ordered.findIndex((f, i) => labels[i] === o.baseline || resolve(f) === resolve(o.baseline!));
    if (b < 0) throw new StudyError(`baseline '${o.baseline}' is not one of the specs (${labels.join(", ")})`);
    ordered.unshift(...ordered.splice(b, 1));
  }
  // Workers start now and load while the specs compile; they take jobs once those exist.
  const workers = Math.min(setup.workers, ordered.length * setup.seeds.length);
  const stream = o.progress === false ? undefined : (o.progress ?? process.stderr);
  let bar: StudyProgress | undefined;
  let specs: PreparedSpec[] = [];
  let compileSeconds = 0;
  let t1 = 0;
  // A random search: its settings, drawn before compiling (the hidden size is compiled in).
  const base: Setting = { learningRate: setup.learningRate, units: setup.units, batchSize: setup.batchSize, optimizer: setup.optimizer as OptimizerName, momentum: 0, inputNoise: 0, clipNorm: setup.clipNorm };
  const space = o.search === undefined ? undefined : o.space ?? defaultSpace(task);
  const settings = space === undefined ? [base] : sampleSettings(space, o.search!, base);
  const makeJobs = async (): Promise<Job[]> => {
    const byUnits = new Map<number, PreparedSpec[]>();
    for (const units of [...new Set([setup.units, ...settings.map((x) => x.units)])]) {
      byUnits.set(
        units,
        await prepareSpecs(ordered, {
          task,
          settings: setup.settings,
          units,
          dims: o.dims ?? {},
          inputDim: o.inputDim ?? "I",
          unitsDim: o.unitsDim ?? "H",
          dimsSource: o.dimsSource ?? "api",
        }),
      );
    }
    // A spec runs when it compiles and fits at every hidden size the study uses.
    specs = byUnits.get(setup.units)!.map((p, i) => [...byUnits.values()].map((ps) => ps[i]!).find((q) => q.status !== "ok") ?? p);
    for (const p of specs) if (p.status !== "ok") o.onSpecProblem?.(p);
    compileSeconds = (performance.now() - t0) / 1000;
    const jobs: Job[] = [];
    for (const [k, x] of settings.entries()) {
      for (const seed of setup.seeds) {
        for (const [i, p] of specs.entries()) {
          if (p.status !== "ok") continue;
          jobs.push({
            id: jobs.length,
            spec: p.label,
            kernelJs: byUnits.get(x.units)![i]!.kernelJs!,
            taskModule: module,
            settings: setup.settings,
            seed,
            budget: setup.budget,
            batchSize: x.batchSize,
            optimizer: x.optimizer,
            learningRate: x.learningRate,
            clipNorm: x.clipNorm,
            evalEvery: setup.evalEvery,
            ...(space === undefined ? {} : { setting: k, momentum: x.momentum, inputNoise: x.inputNoise }),
          });
        }
      }
    }
    setup.workers = Math.min(workers, jobs.length);
    if (stream && jobs.length > 0) bar = new StudyProgress(stream, jobs.length, setup.budget);
    t1 = performance.now();
    return jobs;
  };
  const events = {
    started: (job: Job) => bar?.progress(job.id, 0),
    progress: (job: Job, seen: number) => bar?.progress(job.id, seen),
    done: (r: RunResult) => bar?.done(r.id, runLine(r, task)),
  };
  const runs = o.queue ? await runOnQueue(o.queue, await makeJobs(), taskNames.includes(o.task) ? o.task : undefined, o.out, events, () => bar) : await runJobs(makeJobs(), workers, events);
  bar?.end();
  const trainSeconds = (performance.now() - t1) / 1000;
  const runnable = specs.filter((p) => p.status === "ok");

  const summaries = runnable.map((p) => summarize(p.label, p.meta!.paramCount, runs.filter((r) => r.spec === p.label)));
  const timing: StudyTiming = {
    compileSeconds,
    trainSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    cpuSeconds: runs.reduce((s, r) => s + r.cpuSeconds, 0),
    loadStart,
    loadEnd: loadavg(),
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
    node: process.versions.node,
  };
  const files = o.out === undefined ? [] : writeReport(o.out, summaries, specs, setup, timing);
  let table = textTables(summaries, specs, setup);
  if (space !== undefined) {
    const search = searchReport(task, space, settings, runnable.map((p) => p.label), runs);
    table += `\n\n${search.text}`;
    if (o.out !== undefined) files.push(...writeSearchReport(o.out, search));
  }
  return { setup, specs, summaries, runs, table, timing, files };
}
