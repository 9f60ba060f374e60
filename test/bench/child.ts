// One benchmark measurement per process: the parent forks this file with a job, it loads only the
// peer it measures, times warm-up and timed runs, and sends back the times and the memory the work
// needed. A fresh process per measurement keeps JIT state, heap growth and peak memory from leaking
// between peers.
//
// Memory: once the peer's code is loaded (before it builds its model and data) the child collects
// garbage and resets the kernel's peak-RSS mark (Linux: "5" into /proc/self/clear_refs); the work's
// peak is then VmHWM minus the RSS at the reset. Without that facility the parent falls back to
// maxRSS minus an idle child's. (Plain maxRSS alone is useless here: loading TypeScript through tsx
// peaks higher than a small model ever does.)

import fs from "node:fs";
import type { ChildJob, Job, Measurement } from "./config.ts";
import { matmulFlops } from "./config.ts";
import { makePeer } from "./peers/runner.ts";
import { measureGemm, type GemmMeasurement } from "./gemm.ts";

export type ChildMessage =
  | { type: "progress"; text: string }
  | { type: "result"; measurement: Omit<Measurement, "peakMB"> }
  | { type: "idle"; peakRssMB: number; notes?: string }
  | { type: "gemm"; results: GemmMeasurement[] }
  | { type: "error"; message: string };

let lastSend: Promise<void> = Promise.resolve();
const send = (m: ChildMessage): void => {
  lastSend = new Promise((resolve) => {
    if (process.send) process.send(m, () => resolve());
    else resolve();
  });
};

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const peakRssMB = (): number => process.resourceUsage().maxRSS / 1024;

function statusKB(field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]);
}

/** RSS (MB) at the moment the peak mark was reset, or undefined where that cannot be done. */
let rssAtReset: number | undefined;
function resetPeakMemory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    if (!gc) throw new Error("run with --expose-gc");
    gc();
    gc();
    fs.writeFileSync("/proc/self/clear_refs", "5");
    rssAtReset = statusKB("VmRSS") / 1024;
  } catch {
    rssAtReset = undefined;
  }
}
const workPeakMB = (): number | undefined => (rssAtReset === undefined ? undefined : statusKB("VmHWM") / 1024 - rssAtReset);

/** Warm-up then timed runs. Tiny runs repeat until warm-up and timing each last a little while,
 *  so the JIT has settled and the median is not one clock tick. */
async function measure(job: Job): Promise<Omit<Measurement, "peakMB">> {
  const runner = await makePeer(job, resetPeakMemory);
  const capMs = job.capSeconds * 1000;
  const label = `${job.peer} ${job.cell.name} ${job.size.name} ${job.mode}`;
  const start = performance.now();
  for (let w = 0; w < job.warmup || (performance.now() - start < 300 && w < 50); w++) {
    const t0 = performance.now();
    await runner.run();
    if (w === 0 && performance.now() - t0 > 5000) send({ type: "progress", text: `${label}: warm-up took ${((performance.now() - t0) / 1000).toFixed(1)} s` });
    if (performance.now() - start > capMs) break;
  }
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const timedStart = performance.now();
  for (;;) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await runner.run();
    const dt = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    times.push(dt);
    cpuTimes.push((c1.user + c1.system) / 1000);
    if (dt > 5000) send({ type: "progress", text: `${label}: run ${times.length}/${job.runs} ${(dt / 1000).toFixed(1)} s` });
    const elapsed = performance.now() - timedStart;
    if (elapsed > capMs) break;
    if (times.length >= job.runs && (elapsed >= 500 || times.length >= 200)) break;
  }
  const problem = runner.check?.();
  const medianMs = median(times);
  return {
    peer: job.peer,
    cell: job.cell.name,
    size: job.size.name,
    mode: job.mode,
    timesMs: times.map((t) => Math.round(t * 1000) / 1000),
    medianMs,
    cpuMs: median(cpuTimes),
    gflops: matmulFlops(job.cell, job.size, job.mode) / (medianMs * 1e6),
    peakRssMB: peakRssMB(),
    ...(workPeakMB() !== undefined ? { workPeakMB: workPeakMB()! } : {}),
    capped: times.length < job.runs,
    ...(runner.notes ? { notes: runner.notes } : {}),
    ...(problem ? { error: problem } : {}),
  };
}

async function handle(job: ChildJob): Promise<void> {
  switch (job.kind) {
    case "measure":
      send({ type: "result", measurement: await measure(job) });
      return;
    case "idle": {
      const runner = await makePeer(job);
      await runner.run();
      send({ type: "idle", peakRssMB: peakRssMB(), ...(runner.notes ? { notes: runner.notes } : {}) });
      return;
    }
    case "gemm": {
      const results = [measureGemm("256x256x256", 256, 256, 256)];
      for (const size of job.sizes) {
        for (const cell of job.cells) {
          const G = cell.gates * size.H;
          results.push(measureGemm(`${size.name} ${cell.name} input [T·B, I]·[G, I]ᵀ`, size.T * size.B, G, size.I));
          results.push(measureGemm(`${size.name} ${cell.name} recurrent [B, H]·[G, H]ᵀ`, size.B, G, size.H));
        }
      }
      // The WebAssembly yardsticks: the f32x4 peak and the wasm backend's GEMM at the same shapes.
      const { measureWasmDwGemm, measureWasmGemm, measureWasmPeak } = await import("./wasm-gemm.ts");
      // With relaxed SIMD (the parent passes its flag where needed), the FMA build's too.
      const { relaxedSimdSupported } = await import("../../backends/wasm/support/heap.ts");
      for (const fma of relaxedSimdSupported() ? [false, true] : [false]) {
        results.push(await measureWasmPeak(fma));
        results.push(await measureWasmGemm("256x256x256", 256, 256, 256, fma));
        for (const size of job.sizes) {
          for (const cell of job.cells) {
            const G = cell.gates * size.H;
            results.push(await measureWasmGemm(`${size.name} ${cell.name} input [T·B, I]·[G, I]ᵀ`, size.T * size.B, G, size.I, fma));
            results.push(await measureWasmGemm(`${size.name} ${cell.name} recurrent [B, H]·[G, H]ᵀ`, size.B, G, size.H, fma));
            // Training's weight gradients, summed over every step's rows.
            results.push(await measureWasmDwGemm(`${size.name} ${cell.name} gradient of [G, H]: Dᵀ·H over T·B rows`, G, size.H, size.T * size.B, fma));
          }
        }
      }
      send({ type: "gemm", results });
      return;
    }
  }
}

// Exit as soon as the answer is delivered: a peer may leave handles (timers, wasm) open.
process.once("message", (job: ChildJob) => {
  handle(job)
    .catch((e: unknown) => send({ type: "error", message: e instanceof Error ? e.message : String(e) }))
    .finally(async () => {
      await lastSend;
      process.exit(0);
    });
});
