// One run of a study: one spec, one seed, the whole budget. It runs inside a worker process (or in
// the study's own process with workers: 0) and depends only on its Job, so its numbers do not
// depend on which worker runs it or what ran there before: the kernel is a compiled module
// (pure functions), the model, its weights and its shuffling come from the seed, and the data
// from the task's seeded generators.

import type { CellKernel } from "../abi/kernel.ts";
import { adam, NonFiniteError, recurrent, rmsprop, sequential, sgd, type Optimizer, type OptimizerName } from "../runtime/index.ts";
import { loadTask } from "./tasks/index.ts";
import { makeRng } from "./data/rng.ts";
import { chunkSeed, type StudyTask, type TaskSettings } from "./task.ts";

/** Everything one run needs, as plain data (it crosses to a worker process). */
export interface Job {
  /** Position in the study's list of runs. */
  id: number;
  /** The spec's label in tables (its file name without .cell). */
  spec: string;
  /** The compiled kernel as an ES module (JavaScript). */
  kernelJs: string;
  /** URL of the task's module. */
  taskModule: string;
  settings: TaskSettings;
  seed: number;
  budget: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  clipNorm: number;
  evalEvery: number;
  /** SGD's or RMSprop's momentum (random search); absent or 0 for none. */
  momentum?: number;
  /** Standard deviation of Gaussian noise added to the training inputs (random search). */
  inputNoise?: number;
  /** The random search's setting number, when the study has one. */
  setting?: number;
}

export type RunStatus = "ok" | "diverged" | "failed";

export interface RunResult {
  id: number;
  spec: string;
  seed: number;
  /** The random search's setting number, when the study has one. */
  setting?: number;
  status: RunStatus;
  /** Why a run diverged or failed. */
  message?: string;
  /** [training sequences seen, held-out metric] after every evaluation. */
  curve: Array<[number, number]>;
  /** Training sequences seen at the first held-out evaluation that met the success criterion. */
  reachedAt?: number;
  /** The metric on the test set after the budget; NaN when the run diverged or failed. */
  final: number;
  /** Training sequences seen (the budget, unless the run stopped early). */
  seen: number;
  /** Parameters of the whole model (the cell and the task's layers). */
  modelParams: number;
  /** Wall-clock and CPU seconds of the run in its process. */
  seconds: number;
  cpuSeconds: number;
}

export type Progress = (seen: number) => void;

const kernels = new Map<string, Promise<CellKernel>>();
const tasks = new Map<string, Promise<StudyTask>>();

/** Imports a compiled kernel module (cached by its text, so each spec loads once per process). */
export function importKernel(js: string): Promise<CellKernel> {
  let k = kernels.get(js);
  if (!k) {
    k = import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`) as Promise<CellKernel>;
    kernels.set(js, k);
  }
  return k;
}

function cachedTask(module: string): Promise<StudyTask> {
  let t = tasks.get(module);
  if (!t) {
    t = loadTask(module);
    tasks.set(module, t);
  }
  return t;
}

function optimizer(name: OptimizerName, learningRate: number, momentum: number): Optimizer {
  if (name === "adam") return adam({ learningRate });
  if (name === "rmsprop") return rmsprop(momentum > 0 ? { learningRate, momentum } : { learningRate });
  return sgd(momentum > 0 ? { learningRate, momentum } : { learningRate });
}

/** Adds N(0, sd²) noise to a training batch's inputs, drawn from the run's seed and the chunk. */
function addNoise(x: Float32Array, sd: number, seed: number, chunk: number): void {
  const rng = makeRng(chunkSeed(seed, chunk, 4242));
  for (let i = 0; i < x.length; i += 2) {
    // Box-Muller: two normal draws per two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - rng())) * sd;
    const t = 2 * Math.PI * rng();
    x[i] += r * Math.cos(t);
    if (i + 1 < x.length) x[i + 1] += r * Math.sin(t);
  }
}

/** Trains one spec with one seed on the task; never throws (a failure is a result). */
export async function runJob(job: Job, progress: Progress = () => {}): Promise<RunResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result: RunResult = { id: job.id, spec: job.spec, seed: job.seed, ...(job.setting === undefined ? {} : { setting: job.setting }), status: "ok", curve: [], final: NaN, seen: 0, modelParams: 0, seconds: 0, cpuSeconds: 0 };
  try {
    const [task, kernel] = await Promise.all([cachedTask(job.taskModule), importKernel(job.kernelJs)]);
    const s = job.settings;
    const cell = recurrent({ kernel, type: job.spec, returnSequences: task.returnSequences });
    const model = sequential(task.layers(cell, s), { seed: job.seed });
    const compileOpts = { optimizer: optimizer(job.optimizer, job.learningRate, job.momentum ?? 0), loss: task.loss };
    model.compile(job.clipNorm > 0 ? { ...compileOpts, clipNorm: job.clipNorm } : compileOpts);
    await model.build(task.inputShape(s));
    result.modelParams = model.paramCount();
    const data = task.data(s, job.seed);
    const chunks = Math.ceil(job.budget / job.evalEvery);
    try {
      for (let c = 0; c < chunks; c++) {
        const n = Math.min(job.evalEvery, job.budget - result.seen);
        const b = data.train(c, n);
        if ((job.inputNoise ?? 0) > 0) addNoise(b.x.data, job.inputNoise!, job.seed, c);
        await model.fit(b.x, b.y, { epochs: 1, batchSize: job.batchSize, verbose: 0 });
        result.seen += n;
        const e = task.evaluate(model, data.heldOut, s);
        result.curve.push([result.seen, e.metric]);
        if (e.success && result.reachedAt === undefined) result.reachedAt = result.seen;
        progress(result.seen);
      }
      result.final = task.evaluate(model, data.test, s).metric;
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      result.status = "diverged";
      // The error counts batches within this chunk; say where in the run it was instead.
      const at = result.seen + (e.batch ?? 0) * job.batchSize;
      const what = e.message.split(";")[0]!.split(" at epoch")[0]!;
      result.message = `${what} after ${at.toLocaleString("en-US")} training sequences`;
    }
  } catch (e) {
    result.status = "failed";
    result.message = e instanceof Error ? e.message : String(e);
  }
  result.seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return result;
}
