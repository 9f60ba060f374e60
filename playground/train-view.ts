// Training in the page: the spec and a baseline (examples/specs/lstm.cell or gru.cell), each in
// its own Web Worker (train-worker.ts) on its WebAssembly kernel, drawn live on two uPlot charts
// (loss, and the task's held-out metric), with steps per second, stop/resume and a final table.

import uPlot from "uplot";
import type { Sample, TaskPlan, TrainPoint, TrainReply, TrainRequest } from "./protocol.ts";

export interface Run {
  label: string;
  worker: Worker;
  points: TrainPoint[];
  status: "starting" | "training" | "paused" | "ok" | "diverged" | "failed" | "stopped";
  message?: string;
  paramCount?: number;
  metricName?: string;
  test?: number;
  sample?: Sample;
}

const workerUrl = () => new URL("./train-worker.js", import.meta.url);

function ask<T extends TrainReply>(worker: Worker, m: TrainRequest, kind: T["kind"], id?: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (e: MessageEvent<TrainReply>) => {
      const r = e.data;
      if (r.kind !== kind || (id !== undefined && (r as { id?: number }).id !== id)) {
        if (r.kind === "done" && r.status === "failed") {
          worker.removeEventListener("message", on);
          reject(new Error(r.message));
        }
        return;
      }
      worker.removeEventListener("message", on);
      const err = (r as { error?: string }).error;
      if (err !== undefined) reject(new Error(err));
      else resolve(r as T);
    };
    worker.addEventListener("message", on);
    worker.addEventListener("error", (e) => reject(new Error(`training worker failed: ${e.message}`)), { once: true });
    worker.postMessage(m);
  });
}

/** The task's input size and defaults, asked of a training worker (which holds the tasks). */
export async function taskPlan(task: string): Promise<TaskPlan> {
  const w = new Worker(workerUrl(), { type: "module" });
  try {
    return await ask<TaskPlan>(w, { kind: "plan", task }, "plan");
  } finally {
    w.terminate();
  }
}

const fmt = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? "–" : v.toPrecision(digits));

export class Trainer {
  runs: Run[] = [];
  private charts: uPlot[] = [];
  private nextId = 1;

  constructor(
    private readonly lossHost: HTMLElement,
    private readonly metricHost: HTMLElement,
    private readonly table: HTMLElement,
    private readonly changed: () => void,
  ) {}

  start(jobs: { label: string; kernelJs: string; cellOnnx?: Uint8Array | undefined }[], task: string, units: number, budget: number): void {
    this.dispose();
    this.runs = jobs.map((j) => {
      const run: Run = { label: j.label, worker: new Worker(workerUrl(), { type: "module" }), points: [], status: "starting" };
      run.worker.onmessage = (e: MessageEvent<TrainReply>) => this.onReply(run, e.data);
      run.worker.onerror = (e) => {
        run.status = "failed";
        run.message = e.message;
        this.render();
      };
      run.worker.postMessage({ kind: "start", label: j.label, kernelJs: j.kernelJs, ...(j.cellOnnx ? { cellOnnx: j.cellOnnx } : {}), task, units, budget, seed: 1 } satisfies TrainRequest);
      return run;
    });
    this.makeCharts();
    this.render();
  }

  get training(): boolean {
    return this.runs.some((r) => r.status === "training" || r.status === "starting");
  }

  get paused(): boolean {
    return this.runs.some((r) => r.status === "paused");
  }

  stop(): void {
    for (const r of this.runs) if (r.status === "training") r.worker.postMessage({ kind: "stop" } satisfies TrainRequest);
  }

  resume(): void {
    for (const r of this.runs) {
      if (r.status === "paused") {
        r.status = "training";
        r.worker.postMessage({ kind: "resume" } satisfies TrainRequest);
      }
    }
    this.render();
  }

  async onnx(run: Run): Promise<Uint8Array> {
    return (await ask<Extract<TrainReply, { kind: "onnx" }>>(run.worker, { kind: "onnx", id: this.nextId++ }, "onnx", this.nextId - 1)).bytes!;
  }

  async checkpoint(run: Run): Promise<Record<string, Uint8Array | string>> {
    return (await ask<Extract<TrainReply, { kind: "checkpoint" }>>(run.worker, { kind: "checkpoint", id: this.nextId++ }, "checkpoint", this.nextId - 1)).files!;
  }

  dispose(): void {
    for (const r of this.runs) r.worker.terminate();
    this.runs = [];
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private onReply(run: Run, r: TrainReply): void {
    if (r.kind === "ready") {
      run.status = "training";
      run.paramCount = r.paramCount;
      run.metricName = r.metricName;
    } else if (r.kind === "point") run.points.push(r.point);
    else if (r.kind === "paused") run.status = "paused";
    else if (r.kind === "sample") run.sample = r.sample;
    else if (r.kind === "done") {
      run.status = r.status;
      if (r.message !== undefined) run.message = r.message;
      if (r.test !== undefined) run.test = r.test;
    } else return;
    this.render();
  }

  private makeCharts(): void {
    const colors = ["#7c3aed", "#059669", "#dc2626"];
    const series = this.runs.map((r, i) => ({ label: r.label, stroke: colors[i % colors.length]!, width: 2, spanGaps: true }));
    const make = (host: HTMLElement, title: string, log: boolean) =>
      new uPlot(
        { title, width: Math.max(300, host.clientWidth || 420), height: 220, scales: { x: { time: false }, y: log ? { distr: 3 } : {} }, axes: [{ label: "training sequences" }, {}], series: [{}, ...series] },
        [[], ...this.runs.map(() => [])],
        host,
      );
    this.lossHost.replaceChildren();
    this.metricHost.replaceChildren();
    this.charts = [make(this.lossHost, "loss", true), make(this.metricHost, "held-out metric", true)];
  }

  private render(): void {
    const longest = this.runs.reduce<TrainPoint[]>((a, r) => (r.points.length > a.length ? r.points : a), []);
    const xs = longest.map((p) => p.seen);
    const column = (pick: (p: TrainPoint) => number) => this.runs.map((r) => xs.map((_, i) => (r.points[i] && Number.isFinite(pick(r.points[i]!)) ? pick(r.points[i]!) : null)));
    this.charts[0]?.setData([xs, ...column((p) => p.loss)] as uPlot.AlignedData);
    this.charts[1]?.setData([xs, ...column((p) => p.metric)] as uPlot.AlignedData);
    if (this.charts[1] && this.runs[0]?.metricName) this.metricHost.querySelector(".u-title")!.textContent = `held-out ${this.runs[0].metricName}`;
    this.lossHost.dataset["points"] = this.runs.map((r) => r.points.length).join(" ");
    const head = ["run", "params", "sequences", "steps/s", "loss", this.runs[0]?.metricName ?? "metric", "test", "status"];
    const rows = this.runs.map((r) => {
      const last = r.points.at(-1);
      return [r.label, String(r.paramCount ?? "–"), String(last?.seen ?? 0), fmt(last?.stepsPerSecond, 3), fmt(last?.loss), fmt(last?.metric), fmt(r.test), r.message ?? r.status];
    });
    const tr = (cells: string[], tag: "th" | "td") => `<tr>${cells.map((c) => `<${tag}>${c.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`)}</${tag}>`).join("")}</tr>`;
    this.table.innerHTML = `<thead>${tr(head, "th")}</thead><tbody>${rows.map((r) => tr(r, "td")).join("")}</tbody>`;
    this.changed();
  }
}
