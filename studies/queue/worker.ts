// `cellc worker`: runs a study's queued runs on this machine. A BullMQ worker takes up to
// `concurrency` jobs at a time and hands each to one of as many child processes (the local pool's
// worker processes, ../worker.ts), so the event loop that renews BullMQ's job locks is never
// blocked by training, and a run that crashes takes only its child down (that attempt fails with
// the reason; BullMQ retries the job up to its attempts). If this whole process dies (kill -9, a
// node lost), its jobs' locks expire after `stallSeconds` and BullMQ's stalled-job check in any
// other worker puts them back in the queue; the children notice their parent is gone and exit.
//
// The job carries everything (the compiled kernel, the task's name, the settings); the worker
// needs only the cellc package, of the same version as the study's coordinator: a job of another
// version is put back untouched and the worker stops, saying which version to install.

import type { ChildProcess } from "node:child_process";
import { DelayedError, Queue, Worker, type Job as BullJob } from "bullmq";
import type { Redis } from "ioredis";
import { lastLines, spawnWorker, type Started } from "../pool.ts";
import type { FromWorker, ToWorker } from "../worker.ts";
import { resolveTask } from "../tasks/index.ts";
import type { RunResult } from "../run.ts";
import { cellcVersion, connect, hangUp, parseQueueUrl, QUEUE_NAME, QueueError, VERSION_KEY } from "./connect.ts";
import { encodeResult, type QueuedJob } from "./jobs.ts";

export interface WorkerOptions {
  url: string;
  /** Runs at a time, each in its own child process. Default 1. */
  concurrency?: number;
  /** Seconds without a lock renewal after which another worker takes back a job. Default 30. */
  stallSeconds?: number;
  connectSeconds?: number;
  lostSeconds?: number;
  /** Exit once the queue has nothing waiting or running (a batch job on a cluster). */
  untilEmpty?: boolean;
  /** One line per event, for the user. */
  log: (line: string) => void;
}

export interface QueueWorker {
  /** Resolves to the exit status when the worker has stopped. */
  stopped: Promise<number>;
  /** Stops taking jobs; `now` abandons the running ones (they go back to the queue). */
  stop(now?: boolean): Promise<void>;
}

/** Connects, checks the version and starts serving; throws QueueError if it cannot. */
export async function serveQueue(o: WorkerOptions): Promise<QueueWorker> {
  const address = parseQueueUrl(o.url);
  const concurrency = o.concurrency ?? 1;
  const version = cellcVersion();
  let exitStatus = 0;
  let endStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (endStopped = r));
  const redis = await connect(address, {
    ...(o.connectSeconds === undefined ? {} : { connectSeconds: o.connectSeconds }),
    ...(o.lostSeconds === undefined ? {} : { lostSeconds: o.lostSeconds }),
    onLost: (m) => o.log(m),
    onBack: () => o.log("Redis is back"),
  });
  const theirs = await redis.get(VERSION_KEY);
  if (theirs !== null && theirs !== version) {
    hangUp(redis);
    throw new QueueError(refusal(theirs, version, address.shown));
  }

  // Child processes, one per concurrent run, replaced when one dies.
  const children: ChildProcess[] = [];
  const idle: Started[] = [];
  const waiters: Array<(w: Started) => void> = [];
  const release = (w: Started): void => {
    const next = waiters.shift();
    if (next) next(w);
    else idle.push(w);
  };
  const add = (): void => {
    const w = spawnWorker(children);
    w.ready.then(
      () => release(w),
      (e: unknown) => o.log(`a run process could not start: ${(e as Error).message}`),
    );
  };
  for (let i = 0; i < concurrency; i++) add();
  const take = (): Promise<Started> => {
    const w = idle.shift();
    return w ? Promise.resolve(w) : new Promise((r) => waiters.push(r));
  };

  const runOnChild = async (q: QueuedJob, bjob: BullJob): Promise<RunResult> => {
    const w = await take();
    return new Promise<RunResult>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === "progress") void bjob.updateProgress(m.seen).catch(() => {});
        else if (m.type === "done") {
          cleanup();
          release(w);
          resolve(m.result);
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        add();
        reject(new Error(`its run process died: ${lastLines(w.stderr()) || (signal ? `killed by ${signal}` : `exit status ${code}`)}`));
      };
      const cleanup = (): void => {
        w.child.off("message", onMessage);
        w.child.off("exit", onExit);
      };
      w.child.on("message", onMessage);
      w.child.on("exit", onExit);
      w.child.send({ type: "job", job: q.job } satisfies ToWorker);
    });
  };

  let refused = false;
  const stallMs = (o.stallSeconds ?? 30) * 1000;
  const workerConnection = redis.duplicate() as Redis;
  const worker = new Worker<QueuedJob, string>(
    QUEUE_NAME,
    async (bjob, token) => {
      const q = bjob.data;
      if (q.version !== version) {
        // Not ours to run: back to the queue untouched, for a worker of the study's version.
        await bjob.moveToDelayed(Date.now() + 1000, token);
        if (!refused) {
          refused = true;
          exitStatus = 2;
          o.log(refusal(q.version, version, address.shown));
          void stop(false);
        }
        throw new DelayedError();
      }
      const job = { ...q.job };
      if (q.taskName !== undefined) job.taskModule = (await resolveTask(q.taskName)).module;
      const r = await runOnChild({ ...q, job }, bjob);
      o.log(`${bjob.id}: ${r.spec} seed ${r.seed} ${r.status}${r.message ? ` (${r.message})` : ""} in ${r.seconds.toFixed(1)} s`);
      return encodeResult(r);
    },
    {
      connection: workerConnection,
      concurrency,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      maxStalledCount: 2,
      autorun: false,
    },
  );
  worker.on("error", () => {}); // a lost connection is reported by the connection (onLost / end)
  worker.on("active", (j) => o.log(`${j.id}: ${j.data.job.spec} seed ${j.data.job.seed} started`));

  // --until-empty: when drained (nothing waiting), stop if nothing is delayed or running either.
  const queue = o.untilEmpty ? new Queue(QUEUE_NAME, { connection: redis }) : undefined;
  queue?.on("error", () => {});
  let stopping: Promise<void> | undefined;
  const stop = (now = false): Promise<void> => {
    stopping ??= (async () => {
      await worker.close(now).catch(() => {});
      await queue?.close().catch(() => {});
      hangUp(redis);
      hangUp(workerConnection); // BullMQ leaves a connection it was given open
      for (const c of children) c.kill();
      endStopped(exitStatus);
    })();
    return stopping;
  };
  redis.once("end", () => {
    if (stopping) return;
    exitStatus = 1;
    o.log(`lost Redis at ${address.shown} and could not reconnect; stopping (runs in progress go back to the queue when Redis is back)`);
    void stop(true);
  });
  if (queue) {
    worker.on("drained", () => {
      void queue
        .getJobCounts("active", "waiting", "delayed", "prioritized")
        .then(async (c) => {
          if (Object.values(c).some((n) => n > 0) || stopping) return;
          o.log("the queue is empty; stopping");
          await stop(false);
        })
        .catch(() => {});
    });
  }
  void worker.run().catch((e: unknown) => {
    o.log(`the worker stopped: ${(e as Error).message}`);
    exitStatus = 1;
    void stop(true);
  });
  await worker.waitUntilReady();
  o.log(`cellc ${version} worker on ${address.shown}: ${concurrency} run${concurrency === 1 ? "" : "s"} at a time`);
  return { stopped, stop };
}

function refusal(theirs: string, mine: string, shown: string): string {
  return `the study on ${shown} was enqueued by cellc ${theirs}, and this worker is cellc ${mine}: runs must be computed by the version that compiled them; install cellc@${theirs} here (npm install cellc@${theirs})`;
}
