// `cellc worker --queue URL`: serves the runs of studies enqueued with `cellc study --queue URL`
// (studies/queue/worker.ts), on this machine, until stopped (Ctrl-C or SIGTERM: the runs in
// progress finish first; a second signal stops at once and they go back to the queue) or, with
// --until-empty, until the queue has nothing left.

import type { Output } from "./build.ts";
import { FlagError, formatFlags, parseFlags, type FlagDefs } from "./flags.ts";

class WorkerUsageError extends Error {}

export const workerFlags: FlagDefs = {
  queue: { type: "string", arg: "URL", help: "The Redis the studies were enqueued on: redis://HOST:PORT[/DB]" },
  concurrency: { type: "string", arg: "K", help: "Runs at a time, each in its own process (default 1; one per core\nyou give the worker is the usual choice)" },
  "stall-seconds": {
    type: "string",
    arg: "S",
    help: "A worker silent this long is taken for dead and its runs go back to\nthe queue (default 30)",
  },
  "until-empty": { type: "boolean", help: "Exit when the queue has nothing waiting or running (for batch jobs)" },
  help: { type: "boolean", short: "h", help: "Show this help" },
};

export function workerUsage(): string {
  return `Usage: cellc worker --queue URL [options]

Runs the runs of studies enqueued with 'cellc study ... --queue URL', on this machine, until
stopped (Ctrl-C or SIGTERM lets the runs in progress finish; a second one stops at once and
they go back to the queue). A job carries its compiled spec and settings: a worker needs only
cellc, of the same version as the study's. Start one per machine, with --concurrency its cores.

Options:
${formatFlags(workerFlags)}

Exit status: 0 stopped, 2 usage error, 3 the queue could not be used (Redis unreachable or lost,
or a study of another cellc version).`;
}

/** Runs `cellc worker` with the arguments after "worker"; resolves to the exit status. */
export async function workerCommand(argv: readonly string[], io: Output): Promise<number> {
  let opts;
  try {
    opts = options(argv);
    if (opts !== "help") (await import("../studies/queue/url.ts")).parseQueueUrl(opts.url);
  } catch (e) {
    if (!(e instanceof WorkerUsageError) && !(e instanceof FlagError) && (e as Error)?.name !== "QueueError") throw e;
    io.err(`cellc worker: ${(e as Error).message}\n\n${workerUsage()}`);
    return 2;
  }
  if (opts === "help") {
    io.out(workerUsage());
    return 0;
  }
  const { missingClient } = await import("../studies/index.ts");
  let serveQueue;
  try {
    ({ serveQueue } = await import("../studies/queue/worker.ts"));
  } catch (e) {
    io.err(`cellc worker: ${missingClient(e).message}`);
    return 3;
  }
  let w;
  try {
    w = await serveQueue({ ...opts, log: (line) => io.err(`cellc worker: ${line}`) });
  } catch (e) {
    if ((e as Error)?.name !== "QueueError") throw e;
    io.err(`cellc worker: ${(e as Error).message}`);
    return 3;
  }
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    io.err(signals === 1 ? "cellc worker: stopping after the runs in progress (again to stop now)" : "cellc worker: stopping now; the runs in progress go back to the queue");
    void w.stop(signals > 1);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await w.stopped;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return code === 0 ? 0 : 3;
}

function options(argv: readonly string[]) {
  const { values } = parseFlags(argv, workerFlags);
  if (values.get("help") === true) return "help" as const;
  const url = values.get("queue");
  if (typeof url !== "string") throw new WorkerUsageError("missing --queue URL");
  const int = (name: string, fallback: number): number => {
    const v = values.get(name);
    if (v === undefined) return fallback;
    if (typeof v !== "string" || !/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new WorkerUsageError(`--${name} must be an integer >= 1, got '${String(v)}'`);
    return Number(v);
  };
  return { url, concurrency: int("concurrency", 1), stallSeconds: int("stall-seconds", 30), untilEmpty: values.get("until-empty") === true };
}
