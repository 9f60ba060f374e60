// `npm run bench`: the entry point. Parses flags, builds the cellc kernels through the compiler
// API, then runs every (peer, cell, size, mode) measurement in its own child process (child.ts),
// printing progress as it goes, and writes the JSON record and markdown tables (report.ts).

import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs, UsageError, USAGE, type BenchOptions } from "./args.ts";
import { buildKernel, loadCompiler, measureBuildTimes, repoRoot, type BuildTime } from "./build.ts";
import type { ChildMessage } from "./child.ts";
import { CELLC_PEERS, peerSupports, peerSupportsMode, type ChildJob, type IdleJob, type Job, type Measurement, type Peer } from "./config.ts";
import type { GemmMeasurement } from "./gemm.ts";
import { relaxedSimdSupported } from "../../backends/wasm/support/heap.ts";
import { machineInfo, markdown, type BenchResult } from "./report.ts";

const childFile = path.join(repoRoot, "test/bench/child.ts");

/** V8's flag for relaxed SIMD where this engine does not run it by default (Node 20; on by default
 *  from Node 22): the FMA peer and the GEMM yardsticks' child get it. */
const RELAXED_FLAGS = relaxedSimdSupported() ? [] : ["--experimental-wasm-relaxed-simd"];
const wantsRelaxed = (job: ChildJob) => job.kind === "gemm" || ("peer" in job && job.peer === "cellc-wasm-fma");

/** Forks child.ts with one job and resolves with its answer; kills it past the deadline. */
function runChild(job: ChildJob, deadlineMs: number): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const child = fork(childFile, [], {
      cwd: repoRoot,
      execArgv: ["--expose-gc", ...(wantsRelaxed(job) ? RELAXED_FLAGS : []), "--import", "tsx"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout?.on("data", () => {}); // peers' chatter is not part of the report
    let answer: ChildMessage | undefined;
    const timer = setTimeout(() => {
      answer ??= { type: "error", message: `killed after ${(deadlineMs / 1000).toFixed(0)} s` };
      child.kill("SIGKILL");
    }, deadlineMs);
    child.on("message", (m: ChildMessage) => {
      if (m.type === "progress") {
        if (m.text) console.log(`    ${m.text}`);
      } else {
        answer = m;
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(answer ?? { type: "error", message: `child exited (${signal ?? code}) without an answer${stderr ? `: ${stderr.trim().split("\n").slice(-3).join(" / ")}` : ""}` });
    });
    child.send(job);
  });
}

function failed(job: Job, message: string): Measurement {
  return {
    peer: job.peer, cell: job.cell.name, size: job.size.name, mode: job.mode,
    timesMs: [], medianMs: NaN, cpuMs: NaN, gflops: NaN, peakRssMB: NaN, peakMB: NaN, capped: false, error: message,
  };
}

async function main(opts: BenchOptions): Promise<void> {
  const machine = machineInfo();
  console.log(`cellc bench — ${machine.date} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  const skipped: string[] = [];
  const kernelDir = fs.mkdtempSync(path.join(os.tmpdir(), "cellc-bench-"));
  // Generated modules are ESM; outside the repository tsx would otherwise treat them as CommonJS.
  fs.writeFileSync(path.join(kernelDir, "package.json"), '{ "type": "module" }\n');
  const kernels = new Map<string, string>(); // `${peer}/${cell}/${size}` -> module path
  let builds: BuildTime[] = [];
  let peers = [...opts.peers];

  const isCellc = (p: string) => p in CELLC_PEERS;
  const wantsCellc = peers.some(isCellc);
  if (wantsCellc || opts.buildTimes) {
    const api = await loadCompiler();
    if (typeof api === "string") {
      console.log(`  compiler unavailable (${api}): skipping the cellc peers and build times`);
      skipped.push(`cellc peers and build times: ${api}`);
      peers = peers.filter((p) => !isCellc(p));
    } else {
      if (opts.buildTimes) {
        console.log("  timing compile() for every example spec ...");
        // S2's sizes; P (the projection size of lstmp/dlstmp) is bound too, ignored by other specs.
        builds = await measureBuildTimes(api, { I: 64, H: 128, P: 64 });
      }
      for (const peer of peers.filter(isCellc)) {
        for (const cell of opts.cells) {
          for (const size of opts.sizes) {
            const built = await buildKernel(api, cell, size, CELLC_PEERS[peer]!.optimize, kernelDir, CELLC_PEERS[peer]!.target, CELLC_PEERS[peer]!.fma);
            if ("path" in built) kernels.set(`${peer}/${cell.name}/${size.name}`, built.path);
            else skipped.push(`${peer} ${cell.name} ${size.name}: build failed: ${built.error}`);
          }
        }
      }
    }
  }

  let gemm: GemmMeasurement[] = [];
  if (opts.gemm) {
    console.log("  measuring the reference GEMM ...");
    const m = await runChild({ kind: "gemm", sizes: opts.sizes, cells: opts.cells }, 600_000);
    if (m.type === "gemm") {
      gemm = m.results;
      for (const g of gemm) console.log(`    ${g.label.padEnd(42)} ${g.gflops.toFixed(2)} GFLOP/s`);
    } else skipped.push(`reference GEMM: ${m.type === "error" ? m.message : "no answer"}`);
  }

  // Memory baseline per peer: a child that loads the peer and does nothing.
  const baselines: BenchResult["baselines"] = {};
  const peerNotes: BenchResult["peerNotes"] = {};
  for (const peer of peers) {
    const cell = opts.cells.find((c) => peerSupports(peer, c.name));
    const size = opts.sizes[0];
    if (!cell || !size) continue;
    const kernelPath = kernels.get(`${peer}/${cell.name}/${size.name}`);
    if (isCellc(peer) && !kernelPath) continue;
    const idle: IdleJob = { kind: "idle", peer, cell, size, ...(kernelPath ? { kernelPath } : {}) };
    const m = await runChild(idle, 120_000);
    if (m.type === "idle") {
      baselines[peer] = m.peakRssMB;
      if (m.notes) peerNotes[peer] = m.notes;
    } else skipped.push(`${peer} idle baseline: ${m.type === "error" ? m.message : "no answer"}`);
  }

  const jobs: Job[] = [];
  for (const size of opts.sizes) {
    for (const cell of opts.cells) {
      for (const mode of opts.modes) {
        for (const peer of peers) {
          if (!peerSupports(peer, cell.name)) continue;
          const kernelPath = kernels.get(`${peer}/${cell.name}/${size.name}`);
          if (isCellc(peer) && !kernelPath) continue;
          if (!peerSupportsMode(peer, mode)) continue;
          jobs.push({
            kind: "measure", peer, cell, size, mode, runs: opts.runs, warmup: opts.warmup, capSeconds: opts.capSeconds,
            ...(kernelPath ? { kernelPath } : {}),
          });
        }
      }
    }
  }

  const measurements: Measurement[] = [];
  for (const [i, job] of jobs.entries()) {
    const label = `[${i + 1}/${jobs.length}] ${job.cell.name} ${job.size.name} ${job.mode} ${job.peer}`;
    console.log(`  ${label} ...`);
    // The child stops timing at the cap; allow for a slow warm-up and model build on top.
    const m = await runChild(job, 2 * opts.capSeconds * 1000 + 300_000);
    let result: Measurement;
    if (m.type === "result") {
      const base = baselines[job.peer];
      const { workPeakMB, peakRssMB } = m.measurement;
      const peakMB = workPeakMB ?? (base === undefined ? peakRssMB : Math.max(0, peakRssMB - base));
      result = { ...m.measurement, peakMB };
      console.log(`    ${result.medianMs.toFixed(2)} ms median of ${result.timesMs.length} (CPU ${result.cpuMs.toFixed(2)} ms), ${result.gflops.toFixed(2)} GFLOP/s, peak ${result.peakMB.toFixed(0)} MB${result.error ? ` — ${result.error}` : ""}`);
    } else {
      result = failed(job, m.type === "error" ? m.message : "no answer");
      console.log(`    failed: ${result.error}`);
    }
    measurements.push(result);
  }
  fs.rmSync(kernelDir, { recursive: true, force: true });
  machine.loadAverageEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);

  const result: BenchResult = {
    machine,
    options: {
      sizes: opts.sizes.map((s) => s.name), cells: opts.cells.map((c) => c.name), peers, modes: opts.modes,
      runs: opts.runs, warmup: opts.warmup, capSeconds: opts.capSeconds,
    },
    baselines, peerNotes, gemm, builds, measurements, skipped,
  };
  const outDir = path.resolve(opts.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = machine.date.replace(/[-:]/g, "").replace(/\..*$/, "").replace(/Z$/, "");
  const md = markdown(result);
  for (const name of [`bench-${stamp}`, "latest"]) {
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(result, null, 2) + "\n");
    fs.writeFileSync(path.join(outDir, `${name}.md`), md);
  }
  console.log("\n" + md);
  console.log(`wrote ${path.relative(process.cwd(), path.join(outDir, `bench-${stamp}.json`))} and .md (also latest.json, latest.md)`);
}

let opts: BenchOptions | "help";
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`bench: ${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts === "help") {
  console.log(USAGE);
} else {
  main(opts).catch((e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
