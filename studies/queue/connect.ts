// The Redis side of a study on a job queue: the one URL form `--queue` takes, a connection that
// gives up after a bounded time (ioredis, and BullMQ over it, retry forever by default: a typo in
// a host name would hang a study), and the names every coordinator and worker agree on.
//
//   redis://HOST:PORT[/DB]      (also rediss:// for TLS, and redis://:PASSWORD@HOST:PORT/DB)
//
// A connection that was up and is lost (Redis restarted, a network hiccup) is retried for
// `lostSeconds` (default 120) before the study or the worker stops with a message; commands sent
// meanwhile wait for the reconnection (ioredis's offline queue), so nothing is lost in between.

import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import { QueueError, type QueueAddress } from "./url.ts";

export { parseQueueUrl, QueueError, type QueueAddress } from "./url.ts";

/** The BullMQ queue of study runs, shared by every study on one Redis (jobs carry their study). */
export const QUEUE_NAME = "cellc-study";
/** A Redis key holding the cellc version of the last study enqueued (workers check it at start). */
export const VERSION_KEY = "cellc-study:version";

export interface ConnectOptions {
  /** Seconds to wait for the first connection. Default 5. */
  connectSeconds?: number;
  /** Seconds to keep retrying a connection that was up and was lost. Default 120. */
  lostSeconds?: number;
  /** Told once when a live connection is lost and once when it is back. */
  onLost?: (message: string) => void;
  onBack?: () => void;
}

/**
 * Connects to Redis and waits until it answers PING; throws QueueError (within connectSeconds)
 * when it cannot. The connection suits BullMQ (maxRetriesPerRequest null) and gives up, ending
 * with an "end" event, after lostSeconds without Redis.
 */
export async function connect(a: QueueAddress, o: ConnectOptions = {}): Promise<Redis> {
  const connectMs = (o.connectSeconds ?? 5) * 1000;
  const lostMs = (o.lostSeconds ?? 120) * 1000;
  let everReady = false;
  let lostAt: number | undefined;
  let lastError = "";
  const options: RedisOptions = {
    host: a.host,
    port: a.port,
    db: a.db,
    maxRetriesPerRequest: null,
    connectTimeout: connectMs,
    lazyConnect: true,
    retryStrategy: () => {
      const now = Date.now();
      lostAt ??= now;
      if (now - lostAt > (everReady ? lostMs : connectMs)) return null; // give up: the client ends
      return 500;
    },
  };
  if (a.username !== undefined) options.username = a.username;
  if (a.password !== undefined) options.password = a.password;
  if (a.tls) options.tls = {};
  const redis = new Redis(options);
  redis.on("error", (e: Error) => {
    lastError = e.message;
  });
  redis.on("ready", () => {
    if (everReady && lostAt !== undefined) o.onBack?.();
    everReady = true;
    lostAt = undefined;
  });
  redis.on("close", () => {
    if (everReady && lostAt === undefined && !closing.has(redis)) o.onLost?.(`lost the connection to Redis; retrying for ${Math.round(lostMs / 1000)} s`);
  });
  const ended = new Promise<never>((_, reject) => redis.once("end", () => reject(new QueueError(`cannot reach Redis at ${a.shown}: ${lastError || "no answer"} (gave up after ${connectMs / 1000} s)`))));
  ended.catch(() => {});
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), ended]);
  } catch (e) {
    redis.disconnect();
    if (e instanceof QueueError) throw e;
    throw new QueueError(`cannot reach Redis at ${a.shown}: ${lastError || (e as Error).message}`);
  }
  return redis;
}

const closing = new WeakSet<Redis>();

/** Disconnects on purpose (no "lost the connection" note). */
export function hangUp(redis: Redis): void {
  closing.add(redis);
  redis.disconnect();
}

/** cellc's version, from the package.json above this file (studies/queue/ in the repository,
 *  dist/studies/queue/ in the package). Jobs carry it; a worker of another version refuses them. */
export function cellcVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "cellc") return pkg.version ?? "unknown";
    } catch {
      // not at this level
    }
  }
  return "unknown";
}
