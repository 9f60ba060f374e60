// The random search's part of a study's report (studies/search.ts), as Greff et al. report theirs:
// per variant the best setting, the distribution of its settings' final test scores (a box plot:
// quartiles, median, whiskers to the extremes, every setting as a dot) and the mean of its best
// 10% of settings, and per hyperparameter its share of the score's variance (search.ts's
// importance). A setting's score is its final test metric, averaged over seeds; a setting that
// diverged on any seed counts as diverged (left out of the box, counted beside it).

import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logTicks, niceTicks } from "./plot.ts";
import { formatMetric } from "./report.ts";
import type { RunResult } from "./run.ts";
import { importance, varied, type Searchable, type SearchSpace, type Setting } from "./search.ts";
import { table as textTable } from "./table.ts";
import type { StudyTask } from "./task.ts";

export interface VariantSearch {
  spec: string;
  /** Per setting: its mean final score over seeds (NaN if any seed diverged or failed). */
  scores: number[];
  best: number;
  bestScore: number;
  top10Mean: number;
  diverged: number;
  importance: Map<Searchable, number>;
}

export interface SearchReport {
  settings: Setting[];
  variants: VariantSearch[];
  varied: Searchable[];
  markdown: string;
  text: string;
  svg: string;
  json: unknown;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
}

function show(name: Searchable, x: Setting): string {
  const v = x[name];
  if (name === "learningRate") return `lr ${Number(v).toPrecision(2)}`;
  if (name === "units") return `H ${v}`;
  if (name === "batchSize") return `batch ${v}`;
  if (name === "optimizer") return String(v);
  if (name === "momentum") return x.optimizer === "adam" ? "no momentum (adam)" : `momentum ${Number(v).toFixed(2)}`;
  if (name === "inputNoise") return `noise ${Number(v).toFixed(3)}`;
  return `clip ${Number(v).toPrecision(2)}`;
}

export function searchReport(task: StudyTask, space: SearchSpace, settings: Setting[], specs: readonly string[], runs: readonly RunResult[]): SearchReport {
  const lower = task.metric.better === "lower";
  const names = varied(space);
  const variants: VariantSearch[] = specs.map((spec) => {
    const scores = settings.map((_, k) => {
      const mine = runs.filter((r) => r.spec === spec && r.setting === k);
      return mine.length > 0 && mine.every((r) => r.status === "ok") ? mean(mine.map((r) => r.final)) : NaN;
    });
    const finite = scores.map((s, k) => [s, k] as const).filter(([s]) => Number.isFinite(s));
    finite.sort((a, b) => (lower ? a[0] - b[0] : b[0] - a[0]));
    const top = finite.slice(0, Math.max(1, Math.ceil(finite.length / 10)));
    return {
      spec,
      scores,
      best: finite[0]?.[1] ?? -1,
      bestScore: finite[0]?.[0] ?? NaN,
      top10Mean: top.length > 0 ? mean(top.map(([s]) => s)) : NaN,
      diverged: scores.length - finite.length,
      importance: importance(settings, scores, names),
    };
  });
  const fmt = (v: number) => formatMetric(v, task);
  const head = ["spec", "settings", "best", "top-10% mean", "median", "diverged", "best setting"];
  const rows = variants.map((v) => {
    const sorted = v.scores.filter(Number.isFinite).sort((a, b) => a - b);
    return [v.spec, String(v.scores.length), fmt(v.bestScore), fmt(v.top10Mean), sorted.length > 0 ? fmt(quantile(sorted, 0.5)) : "-", String(v.diverged), v.best < 0 ? "-" : shownSetting(names, settings[v.best]!)];
  });
  const impHead = ["spec", ...names];
  const impRows = variants.map((v) => [v.spec, ...names.map((n) => (v.importance.has(n) ? `${(100 * v.importance.get(n)!).toFixed(0)}%` : "-"))]);
  const text =
    `random search: ${settings.length} settings per spec (${task.metric.name}, ${task.metric.better} is better; a setting's score is its mean over seeds)\n` +
    textTable(head, rows) +
    `\n\nshare of the score's variance explained by each hyperparameter alone (η², binned):\n` +
    textTable(impHead, impRows);
  const md = [
    "",
    "## Random search",
    "",
    `${settings.length} hyperparameter settings per spec, drawn at random (the same settings for every spec) from ${names.length > 0 ? names.join(", ") : "nothing varied"}; ` +
      `a setting's score is its final test ${task.metric.name} (${task.metric.better} is better), averaged over its seeds. Box plot: [search.svg](search.svg); every setting: search.json.`,
    "",
    mdTable(head, rows),
    "",
    "### Hyperparameter importance",
    "",
    "Each hyperparameter's share of the variance of the score across settings, from that hyperparameter alone: the correlation ratio η² (between-group over total variance), grouping settings by its value (a list) or by quartile of its value (a range). " +
      "This is the first-order term fANOVA reports, estimated by binning instead of through a random-forest model, which a few dozen runs cannot support; it leaves interactions out, and with few settings it overstates every share (noise alone explains some variance).",
    "",
    mdTable(impHead, impRows),
    "",
  ].join("\n");
  const json = {
    settings,
    variants: variants.map((v) => ({ ...v, importance: Object.fromEntries(v.importance) })),
  };
  return { settings, variants, varied: names, markdown: md, text, svg: boxPlotSvg(task, variants), json };
}

function shownSetting(names: readonly Searchable[], x: Setting): string {
  return names.map((n) => show(n, x)).join(", ");
}

function mdTable(head: readonly string[], rows: readonly string[][]): string {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`)].join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** One box per variant: quartiles, median, whiskers to the extremes, each setting a dot. */
export function boxPlotSvg(task: StudyTask, variants: readonly VariantSearch[]): string {
  const log = task.metric.logScale === true;
  const all = variants.flatMap((v) => v.scores.filter((s) => Number.isFinite(s) && (!log || s > 0)));
  const W = 120 + 90 * Math.max(1, variants.length);
  const H = 360;
  const box = { left: 70, top: 40, width: W - 90, height: H - 100 };
  const t = (y: number) => (log ? Math.log10(y) : y);
  let lo = all.length > 0 ? Math.min(...all.map(t)) : 0;
  let hi = all.length > 0 ? Math.max(...all.map(t)) : 1;
  if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5];
  const ticks = log ? logTicks(10 ** lo, 10 ** hi) : niceTicks(lo, hi);
  const tl = ticks.map(t);
  lo = Math.min(lo, ...tl);
  hi = Math.max(hi, ...tl);
  const Y = (y: number) => box.top + box.height * (1 - (t(y) - lo) / (hi - lo));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(`${task.name}: final test ${task.metric.name} per setting (${task.metric.better} is better)`)}</text>`,
  ];
  for (const y of ticks) {
    parts.push(`<line x1="${box.left}" x2="${box.left + box.width}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${box.left - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end">${esc(formatMetric(y, task))}</text>`);
  }
  const step = box.width / Math.max(1, variants.length);
  variants.forEach((v, i) => {
    const cx = box.left + step * (i + 0.5);
    const s = v.scores.filter((x) => Number.isFinite(x) && (!log || x > 0)).sort((a, b) => a - b);
    parts.push(`<text x="${cx.toFixed(1)}" y="${box.top + box.height + 18}" text-anchor="middle">${esc(v.spec)}</text>`);
    if (v.diverged > 0) parts.push(`<text x="${cx.toFixed(1)}" y="${box.top + box.height + 34}" text-anchor="middle" fill="#a00">${v.diverged} diverged</text>`);
    if (s.length === 0) return;
    const [q1, q2, q3] = [0.25, 0.5, 0.75].map((q) => quantile(s, q)) as [number, number, number];
    const w = Math.min(50, step * 0.5);
    parts.push(`<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${Y(s[0]!).toFixed(1)}" y2="${Y(s[s.length - 1]!).toFixed(1)}" stroke="#333"/>`);
    parts.push(`<rect x="${(cx - w / 2).toFixed(1)}" y="${Y(q3).toFixed(1)}" width="${w.toFixed(1)}" height="${Math.max(1, Y(q1) - Y(q3)).toFixed(1)}" fill="#9ecae1" stroke="#333"/>`);
    parts.push(`<line x1="${(cx - w / 2).toFixed(1)}" x2="${(cx + w / 2).toFixed(1)}" y1="${Y(q2).toFixed(1)}" y2="${Y(q2).toFixed(1)}" stroke="#000" stroke-width="2"/>`);
    for (const x of s) parts.push(`<circle cx="${(cx + w * 0.7).toFixed(1)}" cy="${Y(x).toFixed(1)}" r="2.5" fill="#1f77b4" fill-opacity="0.6"/>`);
  });
  parts.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#333"/>`, "</svg>");
  return parts.join("\n") + "\n";
}

/** Writes search.svg and search.json beside the report and appends the section to report.md. */
export function writeSearchReport(dir: string, r: SearchReport): string[] {
  writeFileSync(join(dir, "search.svg"), r.svg);
  writeFileSync(join(dir, "search.json"), JSON.stringify(r.json, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 1) + "\n");
  appendFileSync(join(dir, "report.md"), r.markdown);
  return [join(dir, "search.svg"), join(dir, "search.json")];
}
