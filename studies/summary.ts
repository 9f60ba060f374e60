// From runs to the figures a study reports per spec: the final metric's mean and standard
// deviation over the seeds that finished, how many training sequences the seeds needed to meet the
// success criterion, and the learning curve's mean and spread at every evaluation point.

import type { RunResult } from "./run.ts";

export interface SpecSummary {
  label: string;
  /** Parameters of the cell alone and of the whole model. */
  cellParams: number;
  modelParams: number;
  runs: RunResult[];
  /** Final metric over the runs that finished (status ok). */
  finalMean: number;
  /** Sample standard deviation (n - 1); NaN with fewer than two finished runs. */
  finalStd: number;
  finished: number;
  diverged: number;
  failed: number;
  /** Runs that met the success criterion, and the mean sequences they needed. */
  reached: number;
  reachedMean: number;
  /** Mean wall and CPU seconds per run. */
  seconds: number;
  cpuSeconds: number;
  /** [sequences, mean, lowest, highest] over the seeds with a value at that point. */
  curve: Array<[number, number, number, number]>;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (divides by n - 1). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1));
}

export function summarize(label: string, cellParams: number, runs: readonly RunResult[]): SpecSummary {
  const ok = runs.filter((r) => r.status === "ok");
  const finals = ok.map((r) => r.final).filter(Number.isFinite);
  const reached = runs.filter((r) => r.reachedAt !== undefined).map((r) => r.reachedAt!);
  const points = new Map<number, number[]>();
  for (const r of runs) {
    for (const [x, y] of r.curve) {
      if (!Number.isFinite(y)) continue;
      let ys = points.get(x);
      if (!ys) points.set(x, (ys = []));
      ys.push(y);
    }
  }
  const curve = [...points.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([x, ys]) => [x, mean(ys), Math.min(...ys), Math.max(...ys)] as [number, number, number, number]);
  return {
    label,
    cellParams,
    modelParams: runs.find((r) => r.modelParams > 0)?.modelParams ?? 0,
    runs: [...runs],
    finalMean: mean(finals),
    finalStd: std(finals),
    finished: ok.length,
    diverged: runs.filter((r) => r.status === "diverged").length,
    failed: runs.filter((r) => r.status === "failed").length,
    reached: reached.length,
    reachedMean: mean(reached),
    seconds: mean(runs.map((r) => r.seconds)),
    cpuSeconds: mean(runs.map((r) => r.cpuSeconds)),
    curve,
  };
}
