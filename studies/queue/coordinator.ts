// A study's runs on a BullMQ queue: the coordinator's side. It enqueues one job per run (spec ×
// seed × setting), each with an id that is a hash of the run (./jobs.ts), follows them through
// BullMQ's queue events (active, progress, completed, failed, stalled), keeps every finished run in
// the study's store (runs.jsonl) and returns the results in the order of the jobs, like the local
// pool (../pool.ts). Workers (`cellc worker`, ./worker.ts) may run on any machine that reaches Redis.
//
// Nothing lost, nothing run twice: a run already in the store, or already finished in Redis, is
// taken as it is; a job already queued or running is waited for, not added again (same id); a job
// that failed for good (its worker died on every attempt) is retried when the study is started
// again. Events can be missed (a Redis restart, a dropped connection), so every few seconds the
// jobs still awaited are looked up in Redis; one Redis no longer has (restarted without its
// append-only file) is enqueued again and the study says so.

import { Job as BullJob, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { PoolEvents } from "../pool.ts";
import type { Job, RunResult } from "../run.ts";
import { cellcVersion, connect, hangUp, parseQueueUrl, QUEUE_NAME, QueueError, VERSION_KEY } from "./connect.ts";
import { decodeResult, jobKey, RunStore, type QueuedJob } from "./jobs.ts";

export interface QueueStudyOptions {
  /** redis://HOST:PORT[/DB] */
  url: string;
  /** A built-in task's name (workers load their own copy); undefined for a task file. */
  taskName?: string;
  /** The study's report folder, where runs.jsonl keeps finished runs; undefined keeps none. */
  storeDir?: string;
  /** Attempts per job when its worker fails or dies (BullMQ's attempts). Default 3. */
  attempts?: number;
  connectSeconds?: number;
  lostSeconds?: number;
  /** One-line notes for the user (lost runs, a lost connection). */
  log?: (line: string) => void;
  /** The queue's counts, whenever they change. */
  counts?: (c: QueueCounts) => void;
}

export interface QueueCounts {
  done: number;
  running: number;
  failed: number;
  left: number;
  /** Runs finished by workers per minute since the study started (reused runs not counted). */
  perMinute: number;
  /** Seconds left at that rate (NaN before the first run finishes). */
  eta: number;
  /** Runs taken from the store or from Redis, finished before this coordinator started. */
  reused: number;
}

const RECONCILE_MS = 3000;

/** Runs the jobs on the queue's workers; resolves to their results in the jobs' order. */
export async function runJobsOnQueue(jobs: readonly Job[], o: QueueStudyOptions, ev: PoolEvents = {}): Promise<RunResult[]> {
  const address = parseQueueUrl(o.url);
  let lost: ((e: Error) => void) | undefined;
  const redis = await connect(address, {
    ...(o.connectSeconds === undefined ? {} : { connectSeconds: o.connectSeconds }),
    ...(o.lostSeconds === undefined ? {} : { lostSeconds: o.lostSeconds }),
    onLost: (m) => o.log?.(m),
    onBack: () => o.log?.("Redis is back; the study goes on"),
  });
  const version = cellcVersion();
  const store = new RunStore(o.storeDir);
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  const eventsConnection = redis.duplicate() as Redis;
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsConnection });
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled([events.close(), queue.close()]);
    hangUp(redis);
    hangUp(eventsConnection); // BullMQ leaves a connection it was given open
  };
  queue.on("error", () => {}); // reported through the connection's own end (below)
  events.on("error", () => {});
  try {
    await redis.set(VERSION_KEY, version);
    await events.waitUntilReady();

    const results: RunResult[] = new Array(jobs.length);
    const keyOf = new Map<string, number[]>(); // key -> positions (two positions may be the same run)
    const payload = new Map<string, QueuedJob>();
    for (const [i, job] of jobs.entries()) {
      const q: QueuedJob = { version, job, ...(o.taskName === undefined ? {} : { taskName: o.taskName }) };
      const key = jobKey(q);
      payload.set(key, q);
      keyOf.set(key, [...(keyOf.get(key) ?? []), i]);
    }
    const pending = new Set(keyOf.keys());
    const running = new Set<string>();
    let failed = 0;
    let reused = 0;
    let ranHere = 0;
    const t0 = performance.now();
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve, reject) => {
      resolveAll = resolve;
      lost = reject;
    });
    redis.once("end", () =>
      lost?.(new QueueError(`lost Redis at ${address.shown} and could not reconnect; ${jobs.length - pending.size} of ${jobs.length} runs are done${store.file ? ` and kept in ${store.file}` : ""}: start the same study again (or cellc study --resume DIR) to finish`)),
    );

    const report = (): void => {
      const minutes = (performance.now() - t0) / 60_000;
      const perMinute = minutes > 0 ? ranHere / minutes : 0;
      o.counts?.({ done: jobs.length - pending.size - failed, running: running.size, failed, left: pending.size, perMinute, eta: perMinute > 0 ? (pending.size / perMinute) * 60 : NaN, reused });
    };
    const finish = (key: string, r: RunResult, how: "store" | "earlier" | "now" | "failed"): void => {
      if (!pending.delete(key)) return;
      running.delete(key);
      if (how === "store" || how === "earlier") reused++;
      if (how === "now") ranHere++;
      if (how === "failed") failed++;
      else store.add(key, r);
      report();
      for (const i of keyOf.get(key)!) {
        const job = jobs[i]!;
        const mine: RunResult = { ...r, id: job.id, spec: job.spec, seed: job.seed };
        results[i] = mine;
        ev.done?.(mine);
      }
      if (pending.size === 0) resolveAll();
    };
    const failedRun = (key: string, why: string): RunResult => {
      const job = payload.get(key)!.job;
      return { id: job.id, spec: job.spec, seed: job.seed, status: "failed", message: why, curve: [], final: NaN, seen: 0, modelParams: 0, seconds: 0, cpuSeconds: 0 };
    };
    /** Looks a job up in Redis and takes it if finished; returns whether Redis has it. */
    const check = async (key: string, resume: boolean): Promise<boolean> => {
      const j = await BullJob.fromId(queue, key);
      if (!j) return false;
      const state = await j.getState();
      if (state === "completed") finish(key, decodeResult(j.returnvalue as string), resume ? "earlier" : "now");
      else if (state === "failed") {
        if (resume) await j.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        else finish(key, failedRun(key, `its job failed after ${j.attemptsMade} attempt${j.attemptsMade === 1 ? "" : "s"}: ${j.failedReason}`), "failed");
      } else if (state === "unknown") return false;
      return true;
    };

    events.on("active", ({ jobId }) => {
      if (!pending.has(jobId) || running.has(jobId)) return;
      running.add(jobId);
      for (const i of keyOf.get(jobId)!) ev.started?.(jobs[i]!);
      report();
    });
    events.on("progress", ({ jobId, data }) => {
      if (!pending.has(jobId) || typeof data !== "number") return;
      for (const i of keyOf.get(jobId)!) ev.progress?.(jobs[i]!, data);
    });
    events.on("stalled", ({ jobId }) => {
      if (!pending.has(jobId)) return;
      running.delete(jobId);
      o.log?.(`the worker running ${payload.get(jobId)!.job.spec} seed ${payload.get(jobId)!.job.seed} stopped answering; its run goes back to the queue`);
      report();
    });
    events.on("completed", ({ jobId }) => {
      if (pending.has(jobId)) void check(jobId, false).catch(() => {});
    });
    events.on("failed", ({ jobId }) => {
      if (pending.has(jobId)) {
        running.delete(jobId);
        void check(jobId, false).catch(() => {});
      }
    });

    // What is finished already: the store, then Redis (a coordinator started again); the rest is enqueued.
    for (const key of [...pending]) {
      const r = store.get(key);
      if (r) finish(key, r, "store");
    }
    const missing: string[] = [];
    for (const key of [...pending]) if (!(await check(key, true))) missing.push(key);
    const enqueue = (keys: readonly string[]) =>
      queue.addBulk(
        keys.map((key) => ({
          name: `${payload.get(key)!.job.spec} seed ${payload.get(key)!.job.seed}`,
          data: payload.get(key)!,
          opts: { jobId: key, attempts: o.attempts ?? 3, removeOnComplete: false, removeOnFail: false },
        })),
      );
    await enqueue(missing);
    report();
    if (pending.size === 0) resolveAll();

    // Missed events and lost jobs: look up what is still awaited now and then.
    let busy = false;
    const timer = setInterval(() => {
      if (busy || redis.status !== "ready") return;
      busy = true;
      void (async () => {
        const gone: string[] = [];
        for (const key of [...pending]) if (pending.has(key) && !(await check(key, false))) gone.push(key);
        if (gone.length > 0) {
          o.log?.(`Redis no longer has ${gone.length} queued run${gone.length === 1 ? "" : "s"} (restarted without its append-only file?); enqueued again`);
          await enqueue(gone);
        }
      })()
        .catch(() => {})
        .finally(() => {
          busy = false;
        });
    }, RECONCILE_MS);
    try {
      await all;
    } finally {
      clearInterval(timer);
    }
    return results;
  } finally {
    await closeAll();
  }
}
