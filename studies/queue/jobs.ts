// What travels through the queue and what stays on disk. A queued job is a study run (run.ts's Job:
// the compiled kernel as JavaScript, the task, the seed and the training settings) plus the cellc
// version that compiled it; its BullMQ id is a hash of exactly that, so enqueuing the same run
// again (a restarted coordinator, `--resume`) finds the job already there, queued or finished,
// instead of running it twice. Results come back as JSON in which non-finite numbers are kept
// (JSON.stringify would turn a diverged run's NaN into null): decoded, they are bit for bit the
// numbers the worker computed (JavaScript prints doubles in the shortest form that reads back
// exactly).
//
// The study's store is `runs.jsonl` in its report folder: one finished run per line, appended as
// results arrive, read back when the study is started again.

import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Job, RunResult } from "../run.ts";

export interface QueuedJob {
  /** The cellc version that made the job. */
  version: string;
  /** A built-in task's name: the worker loads its own copy. Absent for a task file, whose URL
   *  (job.taskModule) must then be readable on the worker's machine too. */
  taskName?: string;
  job: Job;
}

/** The job's id in the queue: a hash of everything that decides its numbers (not its position). */
export function jobKey(q: QueuedJob): string {
  const { id: _position, spec: _label, taskModule, ...rest } = q.job;
  const task = q.taskName !== undefined ? `builtin:${q.taskName}` : taskModule;
  const text = JSON.stringify([q.version, task, Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1))]);
  return `run-${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
}

const NONFINITE = /^__(NaN|-?Infinity)$/;

/** JSON for a run's result that keeps NaN and ±Infinity. */
export function encodeResult(r: RunResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? `__${v}` : v));
}

export function decodeResult(text: string): RunResult {
  return JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && NONFINITE.test(v) ? Number(v.slice(2)) : v)) as RunResult;
}

/** The study's own record of finished runs (its report folder's runs.jsonl), by job key. */
export class RunStore {
  readonly file: string | undefined;
  private readonly runs = new Map<string, RunResult>();

  constructor(dir: string | undefined) {
    this.file = dir === undefined ? undefined : join(dir, "runs.jsonl");
    if (this.file === undefined || !existsSync(this.file)) return;
    for (const line of readFileSync(this.file, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const { key, result } = JSON.parse(line) as { key: string; result: string };
        this.runs.set(key, decodeResult(result));
      } catch {
        // a line cut short by a killed coordinator: that run is simply fetched or run again
      }
    }
  }

  get(key: string): RunResult | undefined {
    return this.runs.get(key);
  }

  get size(): number {
    return this.runs.size;
  }

  add(key: string, r: RunResult): void {
    if (this.runs.has(key)) return;
    this.runs.set(key, r);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify({ key, result: encodeResult(r) })}\n`);
  }
}
