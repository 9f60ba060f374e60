// The report of `npm run bench:torch`: what torch_bench.py hands back, the statistics (median and
// spread of the rounds) and the markdown tables, one per thread count. Pure functions, unit-tested
// in test/bench-torch.test.ts.

import type { Mode } from "./config.ts";
import type { TorchCell } from "./torch-args.ts";

/** Milliseconds per call, one per round: thread count -> peer -> mode -> rounds. */
export type TorchTimes = Record<string, Record<string, Partial<Record<Mode, number[]>>>>;

export interface TorchCaseResult {
  cell: string;
  size: string;
  /** The reference against cellc's module in float64 (largest relative differences). */
  check?: { outputs: number; gradients: number };
  times?: TorchTimes;
  /** Why a peer has no times (e.g. the module did not torch.jit.script). */
  errors: Record<string, string>;
  /** Why the case was not timed at all (a failed check among them). */
  error?: string;
}

export interface BlasInfo {
  kind: string;
  libraries: string[];
  buildInfo: string;
  mkldnn: boolean;
}

export interface TorchRun {
  torch: string;
  blas: BlasInfo;
  threads: number[];
  defaultThreads: number;
  results: TorchCaseResult[];
}

/** cellc's WebAssembly kernel, timed in Node: "cell|size|threads|mode" -> ms per call, per round. */
export type WasmTimes = Record<string, number[]>;
export const wasmKey = (cell: string, size: string, threads: number, mode: Mode) => `${cell}|${size}|${threads}|${mode}`;

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The median, and the spread: half the interquartile range as a fraction of the median. */
export function summarize(samples: readonly number[]): { median: number; spread: number } {
  if (samples.length === 0) return { median: NaN, spread: NaN };
  const s = [...samples].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  return { median, spread: (quantile(s, 0.75) - quantile(s, 0.25)) / 2 / median };
}

/** Milliseconds to three significant figures (at least whole milliseconds). */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return "?";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** "12.3 ±4%", or "—" with nothing measured. */
export function timeCell(samples: readonly number[] | undefined): string {
  if (!samples || samples.length === 0) return "—";
  const { median, spread } = summarize(samples);
  return `${ms(median)} ±${Math.round(spread * 100)}%`;
}

/** a's median over b's, "2.35×"; "—" when either is missing. */
export function ratio(a: readonly number[] | undefined, b: readonly number[] | undefined): string {
  if (!a?.length || !b?.length) return "—";
  return `${(summarize(a).median / summarize(b).median).toFixed(2)}×`;
}

/** A loud warning when torch's BLAS makes every figure meaningless, else undefined. */
export function blasWarning(blas: BlasInfo): string | undefined {
  if (blas.kind === "reference BLAS") {
    return `WARNING: torch runs on the reference BLAS (${blas.libraries.join(", ")}): its matrix products are unoptimized and every figure below is meaningless. Install an optimized one (Debian: apt-get install libopenblas0-pthread) and run again.`;
  }
  if (blas.kind.startsWith("none")) return `WARNING: no BLAS library is loaded into torch's process (${blas.buildInfo}); check how this torch was built before trusting the figures.`;
  return undefined;
}

/** The table at one thread count: a row per cell, size and mode; the times and ratios. */
export function torchTable(run: TorchRun, wasm: WasmTimes, threads: number, cells: readonly TorchCell[], modes: readonly Mode[]): string {
  const rows: string[] = [
    `| cell | size | step | cellc module (ms) | cellc module, jit.script (ms) | reference | reference (ms) | module ÷ ref | jit ÷ ref | cellc wasm kernel (ms) |`,
    `| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |`,
  ];
  const notes: string[] = [];
  for (const r of run.results) {
    const cell = cells.find((c) => c.name === r.cell);
    const ref = cell?.reference ?? "?";
    if (r.error !== undefined) {
      rows.push(`| ${r.cell} | ${r.size} | — | not timed: ${r.error.replace(/\|/g, "\\|").split("\n")[0]} | | ${ref} | | | | |`);
      continue;
    }
    const t = r.times?.[String(threads)] ?? {};
    for (const mode of modes) {
      const cellc = t["cellc"]?.[mode];
      const jit = t["cellc-jit"]?.[mode];
      const reference = t["ref"]?.[mode];
      const w = wasm[wasmKey(r.cell, r.size, threads, mode)];
      const step = mode === "forward" ? "forward" : "train";
      rows.push(`| ${r.cell} | ${r.size} | ${step} | ${timeCell(cellc)} | ${timeCell(jit)} | ${ref} | ${timeCell(reference)} | ${ratio(cellc, reference)} | ${ratio(jit, reference)} | ${timeCell(w)} |`);
    }
    for (const [peer, why] of Object.entries(r.errors)) notes.push(`- ${r.cell} ${r.size}, ${peer}: ${why}`);
  }
  return [...rows, ...(notes.length ? ["", ...new Set(notes)] : [])].join("\n");
}

/** Cases whose reference disagreed with cellc's module, or that failed otherwise. */
export function failures(run: TorchRun): string[] {
  return run.results.filter((r) => r.error !== undefined).map((r) => `${r.cell} ${r.size}: ${r.error}`);
}
