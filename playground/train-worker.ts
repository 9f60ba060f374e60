// One training run of the playground, in its own Web Worker: a kernel (a WebAssembly module
// compiled by the compiler worker, as JavaScript) inside a study task's model (studies/tasks),
// trained chunk by chunk with the browser runtime, one point of the curve per chunk. Between
// chunks the worker reads its messages, so stop, resume and downloads never wait for the run.

import { adam, memoryCheckpointFs, NonFiniteError, recurrent, sequential, tensor, type CellKernel, type Sequential } from "../runtime/browser.ts";
import type { StudyTask, TaskSettings } from "../studies/task.ts";
import adding from "../studies/tasks/adding.ts";
import copy from "../studies/tasks/copy.ts";
import reber from "../studies/tasks/reber.ts";
import charlm from "../studies/tasks/charlm.ts";
import type { TrainReply, TrainRequest, TrainStart } from "./protocol.ts";

const TASKS: Record<string, StudyTask> = { adding, copy, reber, charlm };
/** Training sequences per point of the curve. */
const CHUNK = 128;

const post = (m: TrainReply, transfer: Transferable[] = []) => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);

let model: Sequential | undefined;
let paused = false;
let resume: (() => void) | undefined;

/** Settings a playground run uses: the task's shortest sequences, so a run shows progress in a minute. */
export function playgroundSettings(task: StudyTask): TaskSettings {
  return { T: task.T ? Math.max(task.T.min, Math.min(task.T.default, 20)) : undefined };
}

async function run(m: TrainStart): Promise<void> {
  const task = TASKS[m.task];
  if (!task) throw new Error(`unknown task '${m.task}'`);
  const url = URL.createObjectURL(new Blob([m.kernelJs], { type: "text/javascript" }));
  const kernel = (await import(/* @vite-ignore */ url)) as CellKernel;
  URL.revokeObjectURL(url);
  const s = playgroundSettings(task);
  const d = task.defaults;
  model = sequential(task.layers(recurrent({ kernel, returnSequences: task.returnSequences, ...(m.cellOnnx ? { onnx: () => m.cellOnnx! } : {}) }), s), { seed: m.seed });
  model.compile({ optimizer: adam({ learningRate: d.learningRate }), loss: task.loss, ...(d.clipNorm > 0 ? { clipNorm: d.clipNorm } : {}) });
  const inputShape = task.inputShape(s);
  await model.build(inputShape);
  post({ kind: "ready", paramCount: model.paramCount(), metricName: task.metric.name, better: task.metric.better, inputShape: [...inputShape] });
  const data = task.data(s, m.seed);
  const t0 = performance.now();
  let seen = 0;
  let steps = 0;
  let busy = 0;
  try {
    for (let c = 0; seen < m.budget; c++) {
      await new Promise((r) => setTimeout(r, 0)); // let stop and download requests in
      if (paused) {
        post({ kind: "paused" });
        await new Promise<void>((r) => (resume = r));
      }
      const n = Math.min(CHUNK, m.budget - seen);
      const b = data.train(c, n);
      const t = performance.now();
      const h = await model.fit(b.x, b.y, { epochs: 1, batchSize: d.batchSize, verbose: 0 });
      busy += performance.now() - t;
      seen += n;
      steps += Math.ceil(n / d.batchSize);
      const e = task.evaluate(model, data.heldOut, s);
      post({ kind: "point", point: { seen, steps, loss: h.history["loss"]!.at(-1)!, metric: e.metric, stepsPerSecond: steps / (busy / 1000) } });
    }
    const test = task.evaluate(model, data.test, s).metric;
    postSample(data.heldOut.x);
    post({ kind: "done", status: "ok", test, seen, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    post({ kind: "done", status: "diverged", message: `diverged: ${e.message.split(";")[0]} after ${seen} training sequences`, seen, seconds: (performance.now() - t0) / 1000 });
  }
}

/** The first held-out sequence and the model's output on it. */
function postSample(x: { data: Float32Array; shape: readonly number[]; lengths?: ArrayLike<number> | undefined }): void {
  // A padded batch (adding's sequences differ in length): the first sequence without its padding.
  const steps = x.shape.length === 3 && x.lengths ? x.lengths[0]! : x.shape[1]!;
  const shape = [1, steps, ...x.shape.slice(2)];
  const one = Array.from(x.data.subarray(0, shape.reduce((a, b) => a * b, 1)));
  const y = model!.predict(tensor(new Float32Array(one), shape));
  post({ kind: "sample", sample: { x: one, shape, y: [...y.data] } });
}

function plan(taskName: string): void {
  const task = TASKS[taskName];
  if (!task) throw new Error(`unknown task '${taskName}'`);
  const s = playgroundSettings(task);
  post({ kind: "plan", I: task.cellInput(s).size, units: task.defaults.units, budget: 4096, summary: task.summary });
}

async function onnx(id: number): Promise<void> {
  if (!model) throw new Error("nothing trained yet");
  const bytes = await model.toOnnx();
  post({ kind: "onnx", id, bytes }, [bytes.buffer]);
}

async function checkpoint(id: number): Promise<void> {
  if (!model) throw new Error("nothing trained yet");
  const fs = memoryCheckpointFs();
  await model.save("model", { fs });
  post({ kind: "checkpoint", id, files: Object.fromEntries(fs.files) });
}

function predict(id: number, x: number[], shape: number[]): void {
  if (!model) throw new Error("nothing trained yet");
  const y = model.predict(tensor(new Float32Array(x), shape));
  post({ kind: "predict", id, y: [...y.data] });
}

self.onmessage = (e: MessageEvent<TrainRequest>) => {
  const m = e.data;
  const failed = (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (m.kind === "start" || m.kind === "plan") post({ kind: "done", status: "failed", message, seen: 0, seconds: 0 });
    else if (m.kind === "onnx" || m.kind === "checkpoint" || m.kind === "predict") post({ kind: m.kind, id: m.id, error: message });
  };
  try {
    if (m.kind === "plan") plan(m.task);
    else if (m.kind === "start") run(m).catch(failed);
    else if (m.kind === "stop") paused = true;
    else if (m.kind === "resume") {
      paused = false;
      resume?.();
      resume = undefined;
    } else if (m.kind === "onnx") onnx(m.id).catch(failed);
    else if (m.kind === "checkpoint") checkpoint(m.id).catch(failed);
    else predict(m.id, m.x, m.shape);
  } catch (err) {
    failed(err);
  }
};
