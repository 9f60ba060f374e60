// `npm run bench:queue`: a study's throughput on the job queue (cellc study --queue, cellc worker)
// with 1, 2 and 4 worker processes on this machine, beside the local pool with as many processes;
// the queue's overhead per job; and from those, a paper estimate of Greff et al.'s 5,400-run
// protocol on N machines. It starts its own Redis (redis-server on a free port, a temporary
// directory) and its own workers (the real `cellc worker` under plain node), and empties Redis
// between measurements (a job's id is a hash of its run: a second study of the same runs would
// reuse them, not run them).
//
//   npm run bench:queue [-- --runs 8 --budget 512]

import { connect as tcp } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runStudy } from "../../studies/index.ts";
import { Proc, REDIS_SERVER, startRedis } from "../helpers/redis.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { values } = parseArgs({ options: { runs: { type: "string", default: "8" }, budget: { type: "string", default: "512" }, workers: { type: "string", default: "1,2,4" } } });
const runs = Number(values.runs);
const budget = Number(values.budget);
const counts = values.workers.split(",").map(Number);
if (!REDIS_SERVER) {
  console.error("bench:queue needs redis-server (apt-get install redis-server)");
  process.exit(2);
}

function flushAll(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tcp(port, "127.0.0.1", () => s.write("*1\r\n$8\r\nFLUSHALL\r\n"));
    s.once("data", () => {
      s.end();
      resolve();
    });
    s.once("error", reject);
  });
}

// `runs` runs: one spec, seeds 1..runs, the adding problem at T = 20.
const study = { specs: [join(root, "examples/specs/lstm.cell")], task: "adding", T: 20, budget, evalEvery: budget, units: 8, seeds: runs, progress: false as const };

const loadStart = loadavg();
const redis = await startRedis();
const rows: Array<{ k: number; local: number; queued: number; cpu: number }> = [];
try {
  for (const k of counts) {
    const t0 = performance.now();
    const local = await runStudy({ ...study, workers: k });
    const localSeconds = (performance.now() - t0) / 1000;

    await flushAll(redis.port);
    const workers = Array.from({ length: k }, () => new Proc(process.execPath, [join(root, "cli/bin/cellc.mjs"), "worker", "--queue", redis.url], root));
    await Promise.all(workers.map((w) => w.waitFor(/worker on redis:/)));
    const t1 = performance.now();
    const queued = await runStudy({ ...study, queue: { url: redis.url, log: () => {} } });
    const queuedSeconds = (performance.now() - t1) / 1000 - queued.timing.compileSeconds;
    await Promise.all(workers.map((w) => w.stop()));
    const same = JSON.stringify(local.runs.map((r) => [r.final, r.curve])) === JSON.stringify(queued.runs.map((r) => [r.final, r.curve]));
    if (!same) throw new Error("the queue's results differ from the local pool's");
    rows.push({ k, local: localSeconds - local.timing.compileSeconds, queued: queuedSeconds, cpu: queued.timing.cpuSeconds / runs });
    console.error(`${k} worker(s): local ${rows.at(-1)!.local.toFixed(1)} s, queue ${queuedSeconds.toFixed(1)} s for ${runs} runs`);
  }
} finally {
  await redis.dispose();
}

const perMin = (s: number) => (runs / s) * 60;
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
console.log(`\n${runs} runs of lstm on adding (T 20, budget ${budget}, H 8) per measurement; results identical on the queue and the local pool.`);
console.log(`Load average (1 / 5 / 15 min): ${load(loadStart)} at the start, ${load(loadavg())} at the end. The local pool's time includes starting its`);
console.log("worker processes; the queue's does not (the workers were started and ready before), so the overhead column is an upper bound only when the load is steady.\n");
console.log("| worker processes | local pool: runs/min | queue: runs/min | queue vs 1 worker | queue overhead per job |");
console.log("| --- | --- | --- | --- | --- |");
const base = perMin(rows[0]!.queued);
for (const r of rows) {
  console.log(`| ${r.k} | ${perMin(r.local).toFixed(1)} | ${perMin(r.queued).toFixed(1)} | ${(perMin(r.queued) / base).toFixed(2)}× | ${(((r.queued - r.local) / runs) * 1000).toFixed(0)} ms |`);
}
const two = rows.find((r) => r.k === 2);
const efficiency = two ? perMin(two.queued) / base / 2 : 1;
// Greff et al.: 5,400 runs, about 15 CPU-years in all (their paper's figure), i.e. ~24 CPU-hours a run.
const hoursPerRun = (15 * 365 * 24) / 5400;
console.log(`\nGreff et al.'s protocol, 5,400 runs of ~${hoursPerRun.toFixed(0)} CPU-hours each (their 15 CPU-years), 32 cores a machine, one run per core:\n`);
console.log(`| machines | wall time, runs scale perfectly | wall time at the 2-worker efficiency measured here (${(efficiency * 100).toFixed(0)}%) |`);
console.log("| --- | --- | --- |");
const days = (hours: number) => (hours > 48 ? `${(hours / 24).toFixed(0)} days` : `${hours.toFixed(0)} hours`);
for (const n of [1, 10, 50, 100]) {
  const hours = (5400 * hoursPerRun) / (n * 32);
  console.log(`| ${n} | ${days(hours)} | ${days(hours / efficiency)} |`);
}
