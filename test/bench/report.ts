// Turns a benchmark run into its two artifacts: the JSON record (every run's time, for anyone who
// wants to re-analyse) and the markdown tables the README shows, with the machine they ran on.

import fs from "node:fs";
import os from "node:os";
import type { BuildTime } from "./build.ts";
import { SIZES, type Measurement, type Mode, type Peer } from "./config.ts";
import type { GemmMeasurement } from "./gemm.ts";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  platform: string;
  date: string;
  /** 1/5/15-minute load averages at the start and end of the run: other work on the machine. */
  loadAverage: number[];
  loadAverageEnd?: number[];
}

export interface BenchResult {
  machine: Machine;
  options: { sizes: string[]; cells: string[]; peers: Peer[]; modes: Mode[]; runs: number; warmup: number; capSeconds: number };
  /** Peak RSS (MB) of an idle child per peer: the baseline subtracted from each measurement. */
  baselines: Partial<Record<Peer, number>>;
  peerNotes: Partial<Record<Peer, string>>;
  gemm: GemmMeasurement[];
  builds: BuildTime[];
  measurements: Measurement[];
  skipped: string[];
}

export function machineInfo(): Machine {
  let cpu = os.cpus()[0]?.model ?? "unknown CPU";
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(info);
    if (model) cpu = model[1]!.trim();
  } catch {
    // not Linux: os.cpus() is what we have
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const busy = (m: Machine): boolean => Math.max(m.loadAverage[0] ?? 0, m.loadAverageEnd?.[0] ?? 0) > m.cores;
const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
const fmtRatio = (r: number): string => (r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`);

function cell(m: Measurement | undefined, what: "time" | "cpu" | "memory"): string {
  if (!m) return "—";
  if (m.error && !Number.isFinite(m.medianMs)) return "error";
  if (what === "memory") return `${m.peakMB.toFixed(0)} MB`;
  if (what === "cpu") return fmtMs(m.cpuMs);
  const flag = m.capped ? ` (n=${m.timesMs.length}, capped)` : "";
  return `${fmtMs(m.medianMs)} · ${m.gflops.toFixed(2)} GF/s${flag}`;
}

export function markdown(r: BenchResult): string {
  const { machine, options } = r;
  const peers = options.peers;
  const rows: Array<{ cellName: string; size: string; mode: Mode }> = [];
  for (const size of options.sizes) for (const c of options.cells) for (const mode of options.modes) rows.push({ cellName: c, size, mode });
  const find = (row: (typeof rows)[number], peer: Peer): Measurement | undefined =>
    r.measurements.find((m) => m.peer === peer && m.cell === row.cellName && m.size === row.size && m.mode === row.mode);
  const refGemm = r.gemm.find((g) => g.label.startsWith("256x256x256"));
  const lines: string[] = [];
  lines.push(`Measured ${machine.date} on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, Node ${machine.node} (${machine.platform}); 1-minute load average ${machine.loadAverage[0]} at start${machine.loadAverageEnd ? `, ${machine.loadAverageEnd[0]} at end` : ""}${busy(machine) ? " (above the core count: other processes competed for the CPU, so times are noisy)" : ""}.`);
  lines.push(`Median of at least ${options.runs} timed runs after at least ${options.warmup} warm-up run(s), each measurement in its own process. GF/s counts matmul FLOPs only: 2·G·(I+H)·B·T per forward (G gate rows), three times that per training step.`);
  lines.push("");
  const sizes = SIZES.filter((s) => options.sizes.includes(s.name));
  lines.push(`Sizes: ${sizes.map((s) => `${s.name} B=${s.B}, T=${s.T}, I=${s.I}, H=${s.H}`).join("; ")}.`);
  lines.push("");
  const hasCellc = peers.includes("cellc");
  const hasWasm = peers.includes("tfjs-wasm");
  const ratio = (row: (typeof rows)[number], of: (m: Measurement) => number, ours: Peer = "cellc", theirs: Peer = "tfjs-wasm"): string => {
    const c = find(row, ours), w = find(row, theirs);
    return c && w && Number.isFinite(of(c)) && Number.isFinite(of(w)) ? fmtRatio(of(w) / of(c)) : "—";
  };
  // Speed-ups of the WebAssembly kernels: how many times faster than each peer (below 1: slower).
  // [ours, theirs, header]: how many times faster ours is; the -2t rows compare two threads.
  const wasmRatios = (
    [
      ["cellc-wasm", "tfjs-wasm", "cellc-wasm vs tfjs-wasm"],
      ["cellc-wasm", "ort-web", "vs ort-web"],
      ["cellc-wasm", "ort-node", "vs ort-node"],
      ["cellc-wasm-fma", "cellc-wasm", "cellc-wasm FMA vs plain"],
      ["cellc-wasm-fma", "ort-node", "FMA vs ort-node"],
      ["cellc-wasm-2t", "cellc-wasm", "cellc-wasm 2 threads vs 1"],
      ["cellc-wasm-2t", "ort-web-2t", "2 threads vs ort-web-2t"],
      ["cellc-wasm-2t", "ort-node-2t", "2 threads vs ort-node-2t"],
    ] as [Peer, Peer, string][]
  ).filter(([a, b]) => peers.includes(a) && peers.includes(b));
  // Wall-clock time, the primary figure.
  const head = ["cell", "size", "mode", ...peers];
  if (hasCellc && hasWasm) head.push("cellc speed-up vs tfjs-wasm");
  head.push(...wasmRatios.map(([, , h]) => h));
  lines.push(`| ${head.join(" | ")} |`);
  lines.push(`| ${head.map(() => "---").join(" | ")} |`);
  for (const row of rows) {
    const cells = [row.cellName, row.size, row.mode, ...peers.map((p) => cell(find(row, p), "time"))];
    if (hasCellc && hasWasm) cells.push(ratio(row, (m) => m.medianMs));
    cells.push(...wasmRatios.map(([a, b]) => ratio(row, (m) => m.medianMs, a, b)));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  // CPU time: the same runs timed by process CPU time, steadier on a shared machine.
  lines.push("", "CPU time per run (median; user + system time of the measuring process, all its threads):", "");
  const cpuHead = ["cell", "size", "mode", ...peers];
  if (hasCellc && hasWasm) cpuHead.push("cellc speed-up vs tfjs-wasm");
  if (hasCellc && refGemm) cpuHead.push("cellc GF/s ÷ ref GEMM (both by CPU time)");
  cpuHead.push(...wasmRatios.map(([, , h]) => h));
  lines.push(`| ${cpuHead.join(" | ")} |`);
  lines.push(`| ${cpuHead.map(() => "---").join(" | ")} |`);
  for (const row of rows) {
    const cells = [row.cellName, row.size, row.mode, ...peers.map((p) => cell(find(row, p), "cpu"))];
    if (hasCellc && hasWasm) cells.push(ratio(row, (m) => m.cpuMs));
    if (hasCellc && refGemm) {
      const c = find(row, "cellc");
      const cpuGflops = c ? c.gflops * (c.medianMs / c.cpuMs) : NaN;
      cells.push(Number.isFinite(cpuGflops) ? `${((100 * cpuGflops) / refGemm.cpuGflops).toFixed(0)}%` : "—");
    }
    cells.push(...wasmRatios.map(([a, b]) => ratio(row, (m) => m.cpuMs, a, b)));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push("");
  const fallback = r.measurements.some((m) => Number.isFinite(m.peakMB) && m.workPeakMB === undefined);
  lines.push(
    fallback
      ? "Peak memory: the measuring process's peak resident set minus that of an idle process that loaded the same peer (library, backend, kernel module) and did no work."
      : "Peak memory: the highest resident set of the measuring process while it built the model and data and ran, above its resident set once the peer's code (library, backend, kernel module) was loaded (Linux peak-RSS reset after a full GC).",
  );
  lines.push("");
  lines.push(`| cell | size | mode | ${peers.join(" | ")} |`);
  lines.push(`| --- | --- | --- | ${peers.map(() => "---").join(" | ")} |`);
  for (const row of rows) {
    lines.push(`| ${[row.cellName, row.size, row.mode, ...peers.map((p) => cell(find(row, p), "memory"))].join(" | ")} |`);
  }
  const baselineText = peers.filter((p) => r.baselines[p] !== undefined).map((p) => `${p} ${r.baselines[p]!.toFixed(0)} MB`);
  if (fallback && baselineText.length) lines.push("", `Idle baselines (peak RSS): ${baselineText.join(", ")}.`);
  const notes = peers.filter((p) => r.peerNotes[p]).map((p) => `- ${p}: ${r.peerNotes[p]}`);
  if (notes.length) lines.push("", "Peers:", ...notes);

  if (r.gemm.length) {
    lines.push("", "Reference GEMM (test/bench/gemm.ts: scalar TypeScript, 4×4 register tile, packed operands), C = A·Bᵀ; then the WebAssembly yardsticks (test/bench/wasm-gemm.ts): the f32x4 peak and the wasm backend's own GEMM, with its share of the peak (by CPU time); with relaxed SIMD, the same for the FMA build (its share of the FMA peak):", "");
    const peak = r.gemm.find((g) => g.label.startsWith("f32x4 peak"));
    const fmaPeak = r.gemm.find((g) => g.label.startsWith("f32x4 FMA peak"));
    lines.push("| shape | m × n × k | ms | GFLOP/s | GFLOP/s by CPU time | of the f32x4 peak (FMA: of the FMA peak) |", "| --- | --- | --- | --- | --- | --- |");
    for (const g of r.gemm) {
      const of = g.label.startsWith("wasm FMA ") ? fmaPeak : g.label.startsWith("wasm ") ? peak : undefined;
      const share = of ? `${((100 * g.cpuGflops) / of.cpuGflops).toFixed(0)}%` : "—";
      lines.push(`| ${g.label} | ${g.m} × ${g.n} × ${g.k} | ${g.ms.toFixed(3)} | ${g.gflops.toFixed(2)} | ${g.cpuGflops.toFixed(2)} | ${share} |`);
    }
  }
  if (r.builds.length) {
    lines.push("", `Build time per example spec (compile(): check, lower, autodiff, passes, emit, prettier; dims ${Object.entries(r.builds[0]!.dims).map(([k, v]) => `${k}=${v}`).join(", ")}):`, "");
    lines.push("| spec | first build | warm build (median) |", "| --- | --- | --- |");
    for (const b of r.builds) {
      lines.push(b.error ? `| ${b.spec} | error: ${b.error.replace(/\|/g, "\\|")} | — |` : `| ${b.spec} | ${fmtMs(b.firstMs)} | ${fmtMs(b.warmMs)} |`);
    }
  }
  const errors = r.measurements.filter((m) => m.error).map((m) => `- ${m.peer} ${m.cell} ${m.size} ${m.mode}: ${m.error}`);
  if (errors.length || r.skipped.length) lines.push("", "Not measured / problems:", ...errors, ...r.skipped.map((s) => `- ${s}`));
  return lines.join("\n") + "\n";
}
