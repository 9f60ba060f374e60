// Runs a study's jobs on worker processes, one job per worker at a time, each worker taking the
// next job when it finishes one. Child processes rather than worker threads: each run's CPU time
// is then its own process's (process.cpuUsage), which the report uses to tell a busy machine from
// a slow spec, and a run that crashes takes only its worker down (it is reported as failed and a
// new worker takes the remaining jobs). workers: 0 runs every job here, in order.

import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runJob, type Job, type RunResult } from "./run.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

// From the sources (.ts) a worker must first register tsx's loader (worker-entry.mjs); from the built
// package (dist/, plain JavaScript) it runs the compiled worker directly.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const ENTRY = fileURLToPath(new URL(FROM_SOURCE ? "./worker-entry.mjs" : "./worker.js", import.meta.url));

export interface PoolEvents {
  /** A job was handed to a worker. */
  started?(job: Job): void;
  /** A job has trained on `seen` sequences so far. */
  progress?(job: Job, seen: number): void;
  /** A job is finished (whatever its status). */
  done?(result: RunResult): void;
}

/**
 * Runs the jobs on `workers` processes. The jobs may still be in the making (a promise): the
 * workers start at once, so their start-up (loading tsx and the runtime) overlaps the compiling of
 * the specs, and each takes its first job when both are ready.
 */
export async function runJobs(pending: readonly Job[] | Promise<readonly Job[]>, workers: number, ev: PoolEvents = {}): Promise<RunResult[]> {
  if (workers === 0) return runHere(await pending, ev);
  const children: ChildProcess[] = [];
  const started = Array.from({ length: workers }, () => spawnWorker(children));
  let jobs: readonly Job[];
  try {
    jobs = await pending;
  } catch (e) {
    for (const c of children) c.kill();
    throw e;
  }
  return runOn(jobs, started, children, ev);
}

async function runHere(jobs: readonly Job[], ev: PoolEvents): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const job of jobs) {
    ev.started?.(job);
    const r = await runJob(job, (seen) => ev.progress?.(job, seen));
    results.push(r);
    ev.done?.(r);
  }
  return results;
}

/** A worker process and a promise of its first message ("ready"), or of why it could not start. */
export interface Started {
  child: ChildProcess;
  ready: Promise<void>;
  stderr: () => string;
}

export function spawnWorker(all: ChildProcess[]): Started {
  const child = fork(ENTRY, [], { execArgv: [], serialization: "advanced", stdio: ["ignore", "ignore", "pipe", "ipc"] });
  all.push(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.type !== "ready") return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new Error(`a study worker could not start: ${lastLines(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`)}`));
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
  ready.catch(() => {}); // observed in runOn
  return { child, ready, stderr: () => stderr };
}

function runOn(jobs: readonly Job[], started: Started[], all: ChildProcess[], ev: PoolEvents): Promise<RunResult[]> {
  const results: RunResult[] = new Array(jobs.length);
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

    /** Serves jobs on a worker until none are left; a worker that dies fails its job and is replaced. */
    const serve = (w: Started): void => {
      const { child } = w;
      let current: Job | undefined;
      const feed = (): void => {
        if (next < jobs.length) {
          current = jobs[next++]!;
          child.send({ type: "job", job: current } satisfies ToWorker);
          ev.started?.(current);
        } else {
          current = undefined;
          child.disconnect();
        }
      };
      child.on("message", (m: FromWorker) => {
        if (m.type === "progress" && current) {
          ev.progress?.(current, m.seen);
        } else if (m.type === "done") {
          const job = current;
          feed(); // hand out the next job before reporting, so the worker never waits on the report
          if (job) finish(m.result);
        }
      });
      child.on("exit", (code, signal) => {
        if (current === undefined) return; // a normal exit after disconnect
        const why = lastLines(w.stderr()) || (signal ? `killed by ${signal}` : `exit status ${code}`);
        const job = current;
        current = undefined;
        finish({ id: job.id, spec: job.spec, seed: job.seed, status: "failed", message: `its worker process died: ${why}`, curve: [], final: NaN, seen: 0, modelParams: 0, seconds: 0, cpuSeconds: 0 });
        if (next < jobs.length) start(spawnWorker(all));
      });
      feed();
    };
    const start = (w: Started): void => {
      w.ready.then(
        () => serve(w),
        (e: unknown) => {
          for (const c of all) c.kill();
          reject(e);
        },
      );
    };
    if (jobs.length === 0) {
      for (const w of started) w.ready.then(() => w.child.disconnect(), () => {});
      resolve(results);
      return;
    }
    for (const w of started) start(w);
  });
}

/** The last few non-empty lines of a worker's stderr, on one line. */
export function lastLines(text: string): string {
  return text.trim().split("\n").filter(Boolean).slice(-3).join(" / ");
}
