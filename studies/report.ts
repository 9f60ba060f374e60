// A study's tables and its report: the per-spec table (printed and in the markdown), the per-seed
// table, the markdown report with the settings and the machine it ran on, the SVG learning curves,
// and results.json with every run's numbers for anyone who wants to plot them differently.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { table } from "./table.ts";
import { bandChartSvg, bandPanelsSvg } from "./chart.ts";
import type { PreparedSpec } from "./prepare.ts";
import type { RunResult } from "./run.ts";
import type { SpecSummary } from "./summary.ts";
import type { StudyTask, TaskSettings } from "./task.ts";

/** What the report states about how the study was run. */
export interface StudySetup {
  task: StudyTask;
  settings: TaskSettings;
  seeds: number[];
  budget: number;
  units: number;
  batchSize: number;
  optimizer: string;
  learningRate: number;
  clipNorm: number;
  evalEvery: number;
  workers: number;
  /** The queue the runs went through (`--queue`, password left out), when they did. */
  queue?: string;
  command?: string;
}

export interface StudyTiming {
  /** Seconds compiling specs, training (all runs, on all workers), and in all. */
  compileSeconds: number;
  trainSeconds: number;
  totalSeconds: number;
  /** CPU seconds of all runs together. */
  cpuSeconds: number;
  loadStart: number[];
  loadEnd: number[];
  cores: number;
  cpuModel: string;
  node: string;
}

const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** A metric value as the task shows it. */
export function formatMetric(v: number, task: StudyTask): string {
  if (!Number.isFinite(v)) return String(v);
  if (task.metric.percent) return `${(100 * v).toFixed(1)}%`;
  return v.toPrecision(task.metric.digits ?? 3);
}

/** A spread in the metric's units (percentage points for a percentage). */
function formatSpread(v: number, task: StudyTask): string {
  if (task.metric.percent) return (100 * v).toFixed(1);
  return v.toPrecision(2);
}

function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(1)} s` : s < 600 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The final-metric cell of one spec: mean ± std (and how many seeds it is over, when not all). */
function finalCell(s: SpecSummary, task: StudyTask): string {
  if (s.finished === 0) return s.diverged > 0 ? "NaN (all diverged)" : "failed";
  const spread = Number.isFinite(s.finalStd) ? ` ± ${formatSpread(s.finalStd, task)}` : "";
  const of = s.finished < s.runs.length ? ` (${s.finished} of ${s.runs.length} seeds)` : "";
  return `${formatMetric(s.finalMean, task)}${spread}${of}`;
}

function reachedCell(s: SpecSummary): string {
  if (s.reached === 0) return "not reached";
  return `${count(s.reachedMean)} (${s.reached}/${s.runs.length})`;
}

/** Header and rows of the per-spec table, including specs that did not run. */
export function summaryRows(summaries: readonly SpecSummary[], prepared: readonly PreparedSpec[], task: StudyTask): { header: string[]; rows: string[][] } {
  const header = ["spec", "cell params", `final ${task.metric.name} (mean ± std)`, "sequences to success", "diverged", "time / run", "CPU / run"];
  const rows = prepared.map((p) => {
    const s = summaries.find((x) => x.label === p.label);
    if (!s) return [p.label, p.meta ? count(p.meta.paramCount) : "-", p.status === "misfit" ? "does not fit the task" : "did not compile", "-", "-", "-", "-"];
    const bad = s.diverged + s.failed;
    return [s.label, count(s.cellParams), finalCell(s, task), reachedCell(s), bad === 0 ? "0" : `${s.diverged}${s.failed ? ` (+${s.failed} failed)` : ""}`, seconds(s.seconds), seconds(s.cpuSeconds)];
  });
  return { header, rows };
}

/** One run's final figure in the per-seed table. */
function seedCell(r: RunResult | undefined, task: StudyTask): string {
  if (!r) return "-";
  if (r.status === "diverged") return `NaN (diverged at ${count(r.seen)})`;
  if (r.status === "failed") return "failed";
  return formatMetric(r.final, task);
}

export function seedRows(summaries: readonly SpecSummary[], seeds: readonly number[], task: StudyTask): { header: string[]; rows: string[][] } {
  return {
    header: ["spec", ...seeds.map((s) => `seed ${s}`)],
    rows: summaries.map((s) => [s.label, ...seeds.map((seed) => seedCell(s.runs.find((r) => r.seed === seed), task))]),
  };
}

/** The per-spec table and the per-seed table as plain text. */
export function textTables(summaries: readonly SpecSummary[], prepared: readonly PreparedSpec[], setup: StudySetup): string {
  const a = summaryRows(summaries, prepared, setup.task);
  const b = seedRows(summaries, setup.seeds, setup.task);
  return `${table(a.header, a.rows)}\n\nfinal ${setup.task.metric.name} per seed:\n${table(b.header, b.rows)}`;
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [`| ${header.map(cell).join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function markdownReport(summaries: readonly SpecSummary[], prepared: readonly PreparedSpec[], setup: StudySetup, timing: StudyTiming, plots: { one: string; panels: string } | undefined): string {
  const t = setup.task;
  const a = summaryRows(summaries, prepared, t);
  const b = seedRows(summaries, setup.seeds, t);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    `# Study: ${t.name}, ${prepared.length} specs × ${setup.seeds.length} seeds`,
    "",
    ...(setup.command ? ["```", setup.command, "```", ""] : []),
    `- **Task:** ${t.summary}${setup.settings.T !== undefined ? `; T = ${setup.settings.T}` : ""}.`,
    `- **Success criterion:** ${t.success}; checked on the held-out set every ${count(setup.evalEvery)} training sequences.`,
    `- **Final figure:** the ${t.metric.name} on the test set after the whole budget (${t.metric.better} is better).`,
    `- **Training:** ${count(setup.budget)} sequences per run, H = ${setup.units}, ${setup.optimizer} (learning rate ${setup.learningRate}), batch ${setup.batchSize}, ${setup.clipNorm > 0 ? `gradients clipped to global norm ${setup.clipNorm}` : "no clipping"}; seeds ${setup.seeds.join(", ")} (the same data and the same seed for every spec).`,
    `- **Machine:** ${timing.cores} cores (${timing.cpuModel}), Node ${timing.node}, ${setup.queue !== undefined ? `runs on the job queue ${setup.queue} (\`cellc worker\` processes, anywhere)` : setup.workers === 0 ? "no worker processes" : `${setup.workers} worker${setup.workers === 1 ? "" : "s"}`}; load average (1 / 5 / 15 min) ${load(timing.loadStart)} at the start, ${load(timing.loadEnd)} at the end.`,
    `- **Wall time:** ${seconds(timing.totalSeconds)} (compiling ${seconds(timing.compileSeconds)}, training ${seconds(timing.trainSeconds)}); the runs used ${seconds(timing.cpuSeconds)} of CPU time together.`,
    "",
    "## Results",
    "",
    markdownTable(a.header, a.rows),
    "",
    `Mean ± sample standard deviation over the seeds that finished${t.metric.percent ? " (the spread in percentage points)" : ""}. "Sequences to success": the mean over the seeds that met the criterion, with how many did. "Time / run" and "CPU / run": wall and CPU time of one run in its worker process (on a busy machine the first is the larger). Cell params: the recurrent cell alone (the whole model adds the task's layers).`,
    "",
    `### Final ${t.metric.name} per seed`,
    "",
    markdownTable(b.header, b.rows),
  ];
  if (plots) lines.push("", "## Learning curves", "", `Held-out ${t.metric.name} while training: the mean over seeds (line) and the seeds' range (band).`, "", `![every spec](${plots.one})`, "", `![one panel per spec](${plots.panels})`);
  const problems: string[] = [];
  for (const p of prepared) {
    if (p.status === "compile-error") problems.push(`- \`${p.file}\` did not compile:\n\n\`\`\`\n${p.problem}\n\`\`\``);
    if (p.status === "misfit") problems.push(`- \`${p.file}\` does not fit the task: ${p.problem}`);
  }
  for (const s of summaries) for (const r of s.runs) if (r.status !== "ok") problems.push(`- ${s.label}, seed ${r.seed}: ${r.status}: ${r.message ?? ""}`);
  if (problems.length > 0) lines.push("", "## Problems", "", ...problems);
  return lines.join("\n") + "\n";
}

/** Writes report.md, curves.svg, curves-panels.svg and results.json into `dir`; returns their paths. */
export function writeReport(dir: string, summaries: readonly SpecSummary[], prepared: readonly PreparedSpec[], setup: StudySetup, timing: StudyTiming): string[] {
  mkdirSync(dir, { recursive: true });
  const t = setup.task;
  const files: string[] = [];
  let plots: { one: string; panels: string } | undefined;
  const series = summaries.filter((s) => s.curve.length > 0).map((s) => ({ name: s.label, points: s.curve }));
  if (series.length > 0) {
    const chart = {
      title: `${t.name}: held-out ${t.metric.name} (mean and range over ${setup.seeds.length} seeds)`,
      xLabel: "training sequences",
      yLabel: `${t.metric.name} (${t.metric.better} is better)`,
      series,
      logY: t.metric.logScale ?? false,
      percentY: t.metric.percent ?? false,
    };
    plots = { one: "curves.svg", panels: "curves-panels.svg" };
    writeFileSync(join(dir, plots.one), bandChartSvg(chart));
    writeFileSync(join(dir, plots.panels), bandPanelsSvg(chart));
    files.push(join(dir, plots.one), join(dir, plots.panels));
  }
  writeFileSync(join(dir, "report.md"), markdownReport(summaries, prepared, setup, timing, plots));
  const json = {
    task: t.name,
    settings: setup.settings,
    setup: { ...setup, task: t.name },
    timing,
    specs: prepared.map((p) => ({ file: p.file, label: p.label, status: p.status, problem: p.problem, cellParams: p.meta?.paramCount })),
    summaries: summaries.map(({ runs: _runs, ...rest }) => rest),
    runs: summaries.flatMap((s) => s.runs),
  };
  writeFileSync(join(dir, "results.json"), JSON.stringify(json, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 1) + "\n");
  files.unshift(join(dir, "report.md"));
  files.push(join(dir, "results.json"));
  return files;
}
