// Runs a study's jobs on worker processes, one job per worker at a time, each worker taking the
// next job when it finishes one. Child processes rather than worker threads: each run's CPU time
// is then its own process's (process.cpuUsage), which the report uses to tell a busy machine from
// a slow spec, and a run that crashes takes only its worker down (it is reported as failed and a
// new worker takes the remaining jobs). workers: 0 runs every job here, in order.

import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runJob, type Job, type RunResult } from "./run.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

const ENTRY = fileURLToPath(new URL("./worker-entry.mjs", import.meta.url));

export interface PoolEvents {
  /** A job has trained on `seen` sequences so far. */
  progress?(job: Job, seen: number): void;
  /** A job is finished (whatever its status). */
  done?(result: RunResult): void;
}

export async function runJobs(jobs: readonly Job[], workers: number, ev: PoolEvents = {}): Promise<RunResult[]> {
  const results: RunResult[] = new Array(jobs.length);
  if (workers === 0) {
    for (const job of jobs) {
      const r = await runJob(job, (seen) => ev.progress?.(job, seen));
      results[jobs.indexOf(job)] = r;
      ev.done?.(r);
    }
    return results;
  }
  const byId = new Map(jobs.map((j, i) => [j.id, i]));
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    const finish = (r: RunResult): void => {
      results[byId.get(r.id)!] = r;
      finished++;
      ev.done?.(r);
      if (finished === jobs.length) resolve(results);
    };

    const start = (): void => {
      const child: ChildProcess = fork(ENTRY, [], {
        execArgv: [],
        serialization: "advanced",
        stdio: ["ignore", "ignore", "pipe", "ipc"],
      });
      let current: Job | undefined;
      let ready = false;
      let stderr = "";
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (s: string) => {
        stderr = (stderr + s).slice(-4000);
      });
      const feed = (): void => {
        if (next < jobs.length) {
          current = jobs[next++]!;
          child.send({ type: "job", job: current } satisfies ToWorker);
        } else {
          current = undefined;
          child.disconnect();
        }
      };
      child.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          ready = true;
          feed();
        } else if (m.type === "progress" && current) {
          ev.progress?.(current, m.seen);
        } else if (m.type === "done") {
          const job = current;
          feed(); // hand out the next job before reporting, so the worker never waits on the report
          if (job) finish(m.result);
        }
      });
      child.on("exit", (code, signal) => {
        if (current === undefined) return; // a normal exit after disconnect
        const why = lastLines(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`);
        if (!ready) {
          reject(new Error(`a study worker could not start: ${why}`));
          return;
        }
        const job = current;
        current = undefined;
        finish({ id: job.id, spec: job.spec, seed: job.seed, status: "failed", message: `its worker process died: ${why}`, curve: [], final: NaN, seen: 0, modelParams: 0, seconds: 0, cpuSeconds: 0 });
        if (next < jobs.length) start();
      });
    };
    for (let w = 0; w < Math.min(workers, jobs.length); w++) start();
    if (jobs.length === 0) resolve(results);
  });
}

/** The last few non-empty lines of a worker's stderr, on one line. */
function lastLines(text: string): string {
  return text.trim().split("\n").filter(Boolean).slice(-3).join(" / ");
}
