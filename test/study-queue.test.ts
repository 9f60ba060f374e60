// `cellc study --queue` and `cellc worker` as a user runs them: the real bin under plain node, a
// real Redis of the test's own (test/helpers/redis.ts: a free port, a temporary directory, AOF),
// real worker processes. Every wait is on an event: a line a process prints, a process's exit.
//   - 2 specs × 2 seeds over 2 workers: the very numbers of the local run (bit for bit), each run once;
//   - kill -9 of a worker mid-run: the study completes, the killed run is run again by the other
//     worker, every run finishes once;
//   - kill -9 of the coordinator: `--resume DIR` finishes without running a finished run again;
//   - Redis stopped and started again mid-study (AOF): the study completes;
//   - a malformed URL (exit 2 with the usage), an unreachable Redis (exit 3, no hang), a worker of
//     another cellc version (exit 3, the version to install).

import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as tcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Proc, REDIS_SERVER, startRedis, type TestRedis } from "./helpers/redis.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "cli/bin/cellc.mjs");

function hasRedisClient(): boolean {
  try {
    createRequire(join(root, "studies/queue/connect.ts")).resolve("ioredis");
    return true;
  } catch {
    return false;
  }
}
const missing = !REDIS_SERVER ? "redis-server is not installed (apt-get install redis-server)" : !hasRedisClient() ? "the ioredis package is not installed (BullMQ's Redis client)" : undefined;

const cellc = (args: readonly string[]): Proc => new Proc(process.execPath, [bin, ...args], root);
const tiny = ["--task", "adding", "--T", "20", "--budget", "64", "--eval-every", "32", "--units", "3", "--seeds", "2"];
const specs = ["examples/specs/rnn.cell", "examples/specs/lstm.cell"];

/** Each run of a results.json without its timings (which differ from process to process). */
function runsOf(dir: string): unknown[] {
  const r = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { runs: Array<Record<string, unknown>> };
  return r.runs.map(({ seconds: _s, cpuSeconds: _c, ...rest }) => rest).sort((a, b) => (a["id"] as number) - (b["id"] as number));
}

/** How many times each job finished on these workers (their "run-…: spec seed N ok" lines). */
function finishedOn(workers: readonly Proc[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const w of workers) for (const m of w.err.matchAll(/(run-[0-9a-f]+): \S+ seed \d+ (ok|diverged|failed)/g)) n.set(m[1]!, (n.get(m[1]!) ?? 0) + 1);
  return n;
}

/** SET key value, over a bare socket (RESP), so the test needs no Redis client of its own. */
function redisSet(port: number, key: string, value: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tcp(port, "127.0.0.1", () => s.write([`*3`, `$3`, `SET`, `$${key.length}`, key, `$${value.length}`, value, ""].join("\r\n")));
    s.once("data", (d) => {
      s.end();
      if (d.toString().startsWith("+OK")) resolve();
      else reject(new Error(d.toString()));
    });
    s.once("error", reject);
  });
}

describe.skipIf(missing !== undefined)(`cellc study --queue, cellc worker${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let redis: TestRedis;
  const work = mkdtempSync(join(tmpdir(), "cellc-study-queue-"));
  const started: Proc[] = [];
  const worker = (...extra: string[]): Proc => {
    const w = cellc(["worker", "--queue", redis.url, ...extra]);
    started.push(w);
    return w;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    // Whatever a failed test left running (a worker's run processes exit with it).
    for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(started.map((w) => w.exited));
    await redis?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  // Under a loaded machine a cellc process takes tens of seconds to start (tsx compiles the
  // sources); the runs themselves are a few seconds of CPU. Hence the long test timeouts.
  const LONG = 400_000;

  it("runs 2 specs × 2 seeds over 2 workers with the local run's very numbers, each run once", async () => {
    const w1 = worker();
    const w2 = worker();
    const local = cellc(["study", ...specs, ...tiny, "--workers", "0", "--out", join(work, "local")]);
    const queued = cellc(["study", ...specs, ...tiny, "--queue", redis.url, "--out", join(work, "queued")]);
    const [l, q] = await Promise.all([local.exited, queued.exited]);
    expect(l.code, local.err).toBe(0);
    expect(q.code, queued.err).toBe(0);
    expect(queued.out).toContain(`2 of 2 specs × 2 seeds, 64 sequences per run, H = 3, adam 0.01, on the queue ${redis.url}`);
    expect(runsOf(join(work, "local"))).toHaveLength(4);
    expect(runsOf(join(work, "queued"))).toEqual(runsOf(join(work, "local")));
    expect([...finishedOn([w1, w2]).values()]).toEqual([1, 1, 1, 1]);
    expect(readFileSync(join(work, "queued", "report.md"), "utf8")).toContain(`runs on the job queue ${redis.url}`);
    await Promise.all([w1.stop(), w2.stop()]);
  }, LONG);

  // Longer runs than `tiny`, so that a worker can be killed in the middle of one.
  const longer = ["--task", "adding", "--T", "20", "--budget", "1280", "--eval-every", "128", "--units", "3"];
  let survivor: Proc;

  it("finishes every run once when a worker is killed (kill -9) in the middle of one", async () => {
    const doomed = worker("--stall-seconds", "2");
    await doomed.waitFor(/worker on redis:/);
    const study = cellc(["study", specs[0]!, ...longer, "--seeds", "2", "--queue", redis.url, "--out", join(work, "killed-worker")]);
    const [, killedJob] = await doomed.waitFor(/(run-[0-9a-f]+): rnn seed \d started/);
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    survivor = worker("--stall-seconds", "2");
    const s = await study.exited;
    expect(s.code, study.err).toBe(0);
    expect(study.err).toMatch(/stopped answering; its run goes back to the queue/);
    const done = finishedOn([doomed, survivor]);
    expect([...done.values()]).toEqual([1, 1]);
    expect(done.get(killedJob!)).toBe(1);
    expect(survivor.err).toContain(`${killedJob}: rnn seed`);
    expect(runsOf(join(work, "killed-worker")).map((r) => (r as { status: string }).status)).toEqual(["ok", "ok"]);
  }, LONG);

  it("resumes a study whose coordinator was killed (kill -9) without running a finished run again", async () => {
    const out = join(work, "killed-coordinator");
    const three = tiny.map((a, i) => (tiny[i - 1] === "--seeds" ? "3" : tiny[i - 1] === "--budget" ? "96" : a));
    const study = cellc(["study", specs[0]!, ...three, "--queue", redis.url, "--out", out]);
    await study.waitFor(/^\[1\/3\] rnn seed/m);
    study.child.kill("SIGKILL");
    await study.exited;
    const resumed = cellc(["study", "--resume", out]);
    const r = await resumed.exited;
    expect(r.code, resumed.err).toBe(0);
    expect(resumed.out).toContain("1 of 1 specs × 3 seeds, 96 sequences per run");
    expect(resumed.err).toMatch(/reused/);
    const runs = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { key: string }).key);
    expect(new Set(runs).size).toBe(3);
    const done = [...finishedOn([survivor]).entries()].filter(([k]) => runs.includes(k));
    expect(done.map(([, n]) => n)).toEqual([1, 1, 1]);
  }, LONG);

  it("completes a study when Redis is stopped and started again mid-study (append-only file)", async () => {
    const running = survivor.waitFor(/run-[0-9a-f]+: rnn seed \d started/, true);
    const study = cellc(["study", specs[0]!, ...longer.map((a) => (a === "1280" ? "1152" : a)), "--seeds", "2", "--queue", redis.url, "--out", join(work, "redis-restart")]);
    await running;
    await redis.stop();
    await redis.restart();
    const s = await study.exited;
    expect(s.code, study.err).toBe(0);
    expect(runsOf(join(work, "redis-restart")).map((r) => (r as { status: string; seen: number }).seen)).toEqual([1152, 1152]);
  }, LONG);

  it("says what is wrong with a bad URL, an unreachable Redis and a worker of another version", async () => {
    const port = await freePort(); // nobody listens there
    const bad = cellc(["study", specs[0]!, ...tiny, "--queue", "http://localhost:6379", "--out", join(work, "bad")]);
    const unreachable = cellc(["study", specs[0]!, ...tiny, "--queue", `redis://127.0.0.1:${port}`, "--out", join(work, "unreachable")]);
    const badWorker = cellc(["worker", "--queue", "redis://host:port"]);
    await redisSet(redis.port, "cellc-study:version", "0.0.1-other");
    const other = cellc(["worker", "--queue", redis.url]);
    const [b, u, bw, o] = await Promise.all([bad.exited, unreachable.exited, badWorker.exited, other.exited]);
    expect(b.code).toBe(2);
    expect(bad.err).toMatch(/^cellc study: --queue expects redis:\/\/HOST:PORT\[\/DB\], got 'http:\/\/localhost:6379' \(scheme 'http'\)\n\nUsage: cellc study/);
    expect(u.code).toBe(3);
    expect(unreachable.err).toContain(`cellc study: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(bw.code).toBe(2);
    expect(badWorker.err).toMatch(/^cellc worker: --queue expects redis:\/\/HOST:PORT\[\/DB\], got 'redis:\/\/host:port'/);
    expect(o.code).toBe(3);
    expect(other.err).toContain(`was enqueued by cellc 0.0.1-other, and this worker is cellc `);
    expect(other.err).toContain("npm install cellc@0.0.1-other");
    for (const p of [bad, unreachable, badWorker, other]) expect(p.err).not.toMatch(/\n\s+at /);
  }, LONG);
});
