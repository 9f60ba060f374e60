// A Keras-style sequential model: layers in order, compile (optimizer, loss, metrics, clipping),
// fit with mini-batches / shuffling / validation / progress / callbacks, evaluate, predict,
// summary, and weight checkpoints. All randomness comes from the model's seed, so two runs with
// the same seed and data give identical numbers. Every user-supplied array is validated here
// and a mistake is reported naming the argument (x, y, validationData...).

import { loadWeights, saveWeights, type CheckpointOptions, type NamedWeight } from "./checkpoint.ts";
import { Layer, type Param, type Shape } from "./layers/layer.ts";
import { Recurrent } from "./layers/recurrent.ts";
import { checkLabels, getLoss, getMetric, type Loss, type LossName, type Metric, type MetricName } from "./losses.ts";
import { clipByGlobalNorm, getOptimizer, type Optimizer, type OptimizerName } from "./optimizers.ts";
import { ProgressBar, type Logs, type ProgressStream } from "./progress.ts";
import { describeValue } from "./describe.ts";
import { Rng } from "./rng.ts";
import { firstNonFinite, guardedUpdate, NonFiniteError, WeightBackup, type StepPlace } from "./train-guard.ts";
import { batchShapeString, concatRows, gatherRows, shapeString, sizeOf, sliceRows, toTensor, type Tensor, type TensorLike } from "./tensor.ts";

export interface SequentialOptions {
  /** Seed for initial weights, dropout masks and shuffling. Default 0. */
  seed?: number;
  name?: string;
}

export interface CompileOptions {
  optimizer: OptimizerName | Optimizer;
  loss: LossName | Loss;
  metrics?: (MetricName | Metric)[];
  /** Clip gradients by global norm to this value before each update. */
  clipNorm?: number;
}

export interface Callbacks {
  onTrainBegin?(): void | Promise<void>;
  /** `logs` holds loss, metrics and (when validating) val_loss, val_<metric>. */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Fraction (0..1) of samples, taken from the END of x / y before shuffling, held out for validation. */
  validationSplit?: number;
  validationData?: [TensorLike, TensorLike];
  /** Shuffle the training samples each epoch (default true). */
  shuffle?: boolean;
  /** 0 silent, 1 progress bar (plain lines when not a TTY), 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  callbacks?: Callbacks;
  /** Shortcut for callbacks.onEpochEnd. */
  onEpochEnd?: Callbacks["onEpochEnd"];
  /** Where progress goes; default process.stdout. */
  stream?: ProgressStream;
}

export interface History {
  /** Epoch indices (0-based) that ran. */
  epoch: number[];
  /** Per epoch: loss, each metric, and val_loss / val_<metric> when validating. */
  history: Record<string, number[]>;
  /** Training samples seen by the end of each epoch (cumulative). */
  samplesSeen: number[];
  /** Seconds since fit began at the end of each epoch. */
  seconds: number[];
}

export interface EvaluateOptions {
  batchSize?: number;
}

export interface PredictOptions {
  batchSize?: number;
  /** Recurrent layers start from, and keep, their carried state (streaming generation); see resetStates(). */
  carryState?: boolean;
}

export class Sequential {
  readonly name: string;
  readonly layers: Layer[] = [];
  /** Set to true (e.g. in onEpochEnd) to end fit after the current epoch. */
  stopTraining = false;
  inputShape: Shape | undefined;
  outputShape: Shape | undefined;
  private readonly rng: Rng;
  private shuffleRng: Rng | undefined;
  private compiled: { optimizer: Optimizer; loss: Loss; metrics: Metric[]; clipNorm: number | undefined } | undefined;
  private gradBuf: Float32Array | undefined;
  /** The weights before the current update, to undo a step that goes non-finite. */
  private readonly backup = new WeightBackup();

  constructor(layers: Layer[] = [], opts: SequentialOptions = {}) {
    this.rng = new Rng(opts.seed ?? 0);
    this.name = opts.name ?? "sequential";
    for (const l of layers) this.add(l);
  }

  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new Error(`Sequential.add: expected a layer, got ${typeof layer}`);
    if (this.inputShape) throw new Error("cannot add a layer to a model that is already built");
    if (this.layers.includes(layer)) throw new Error(`layer '${layer.name}' is already in the model`);
    if (layer.name) {
      if (this.layers.some((l) => l.name === layer.name)) throw new Error(`two layers are named '${layer.name}'; layer names must be unique`);
    } else {
      const base = layer.defaultName();
      let name = base;
      for (let i = 1; this.layers.some((l) => l.name === name); i++) name = `${base}_${i}`;
      layer.name = name;
    }
    this.layers.push(layer);
    return this;
  }

  compile(opts: CompileOptions): this {
    if (!opts || opts.optimizer === undefined || opts.loss === undefined) throw new Error("compile needs { optimizer, loss }");
    if (opts.clipNorm !== undefined && !(typeof opts.clipNorm === "number" && opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) {
      throw new Error(`compile: clipNorm must be a positive number, got ${describeValue(opts.clipNorm)}`);
    }
    this.compiled = {
      optimizer: getOptimizer(opts.optimizer),
      loss: getLoss(opts.loss),
      metrics: (opts.metrics ?? []).map(getMetric),
      clipNorm: opts.clipNorm,
    };
    return this;
  }

  get built(): boolean {
    return this.inputShape !== undefined;
  }

  /** Builds every layer for a per-sample input shape (no batch axis; null = varies, e.g. time). */
  async build(inputShape: Shape): Promise<this> {
    if (this.inputShape) return this;
    if (this.layers.length === 0) throw new Error("the model has no layers");
    if (!Array.isArray(inputShape) || inputShape.some((d) => d !== null && !(Number.isInteger(d) && d > 0))) {
      throw new Error(`build: inputShape must list positive sizes (or null for a varying size), got ${JSON.stringify(inputShape)}`);
    }
    let shape: Shape = [...inputShape];
    // Nothing reads the first layer's input gradient: the data is not trained.
    this.layers.forEach((l, i) => (l.inputGradientNeeded = i > 0));
    for (const l of this.layers) {
      const r = this.rng.fork();
      try {
        shape = await l.build(shape, r);
      } catch (e) {
        throw new Error(`building layer '${l.name}': ${(e as Error).message}`);
      }
    }
    this.shuffleRng = this.rng.fork();
    this.inputShape = [...inputShape];
    this.outputShape = shape;
    return this;
  }

  /** Builds from a sample batch: the time axis (first per-sample axis) varies when any layer reads sequences. */
  private async buildFrom(x: Tensor): Promise<void> {
    if (this.inputShape) return;
    const per: Shape = x.shape.slice(1);
    if (per.length >= 1 && this.layers.some((l) => l.sequenceInput)) per[0] = null;
    await this.build(per);
  }

  /** All trainable parameters, in layer order. */
  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  /** Parameters named "layer/param", as checkpoints store them. */
  weights(): NamedWeight[] {
    this.requireBuilt("weights");
    return this.layers.flatMap((l) => l.params().map((p) => ({ name: `${l.name}/${p.name}`, shape: p.shape, value: p.value })));
  }

  paramCount(): number {
    return this.layers.reduce((s, l) => s + l.paramCount(), 0);
  }

  resetStates(): void {
    for (const l of this.layers) l.resetStates();
  }

  private requireBuilt(what: string): void {
    if (!this.inputShape) throw new Error(`${what}: the model is not built; call await model.build(inputShape) or fit first`);
  }

  private requireCompiled(what: string): NonNullable<Sequential["compiled"]> {
    if (!this.compiled) throw new Error(`${what}: call model.compile({ optimizer, loss }) first`);
    return this.compiled;
  }

  /** Checks x against the model's input shape, naming the argument. */
  private checkX(x: Tensor, name: string): void {
    const want = this.inputShape!;
    const got = x.shape.slice(1);
    const ok = got.length === want.length && want.every((d, i) => d === null || d === got[i]);
    if (!ok) throw new Error(`${name} has shape ${shapeString(x.shape)} but the model expects ${batchShapeString(want)}`);
    if (x.shape[0] === 0) throw new Error(`${name} has no samples`);
  }

  /** The model's output shape for an input batch of `x`'s shape. */
  private outputShapeFor(x: Tensor): number[] {
    const out = this.outputShape!;
    const T = x.shape[1] ?? 1;
    return [x.shape[0]!, ...out.map((d) => (d === null ? T : d))];
  }

  private checkXY(x: Tensor, y: Tensor, xn: string, yn: string, loss: Loss): void {
    this.checkX(x, xn);
    if (y.shape[0] !== x.shape[0]) throw new Error(`${xn} has ${x.shape[0]} samples but ${yn} has ${y.shape[0]}`);
    checkLabels(loss, this.outputShapeFor(x), y, yn);
  }

  private forward(x: Tensor, training: boolean): Tensor {
    let a = x;
    for (const l of this.layers) a = l.forward(a, { training });
    return a;
  }

  private backward(dy: Float32Array): void {
    let g: Float32Array | null = dy;
    for (let i = this.layers.length - 1; i >= 0 && g !== null; i--) g = this.layers[i]!.backward(g);
  }

  /** One optimisation step on a batch; returns the batch loss and the output (valid until the next call).
   *  A non-finite loss, gradient or update throws NonFiniteError and changes no weight. */
  trainOnBatch(x: Tensor, y: Tensor): { loss: number; output: Tensor } {
    return this.trainStep(x, y, undefined);
  }

  private trainStep(x: Tensor, y: Tensor, place: StepPlace | undefined): { loss: number; output: Tensor } {
    const c = this.requireCompiled("trainOnBatch");
    this.requireBuilt("trainOnBatch");
    const params = this.params();
    for (const p of params) p.grad.fill(0);
    const out = this.forward(x, true);
    const grad = (this.gradBuf = this.gradBuf?.length === out.data.length ? this.gradBuf : new Float32Array(out.data.length));
    const loss = c.loss.compute(out, y, grad);
    if (!Number.isFinite(loss)) throw new NonFiniteError(`the loss became ${loss}`, place);
    this.backward(grad);
    const bad = firstNonFinite(params, "grad");
    if (bad) throw new NonFiniteError(`the gradient of '${this.weightName(bad.param)}'[${bad.index}] became ${bad.value}`, place);
    if (c.clipNorm !== undefined) clipByGlobalNorm(params, c.clipNorm);
    guardedUpdate(c.optimizer, params, (i) => this.weightName(i), this.backup, place);
    return { loss, output: out };
  }

  /** "layer/param" of the i-th parameter of params(), as checkpoints and errors name it. */
  private weightName(i: number): string {
    for (const l of this.layers) {
      const ps = l.params();
      if (i < ps.length) return `${l.name}/${ps[i]!.name}`;
      i -= ps.length;
    }
    return `#${i}`;
  }

  async fit(xIn: TensorLike, yIn: TensorLike, optsIn: FitOptions = {}): Promise<History> {
    const c = this.requireCompiled("fit");
    if (typeof optsIn !== "object" || optsIn === null) throw new Error(`fit: options must be an object, got ${describeValue(optsIn)}`);
    const opts = optsIn;
    const epochs = opts.epochs ?? 1;
    const batchSize = opts.batchSize ?? 32;
    const verbose = opts.verbose ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${describeValue(epochs)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`fit: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    if (![0, 1, 2].includes(verbose)) throw new Error(`fit: verbose must be 0, 1 or 2, got ${describeValue(verbose)}`);
    let x = toTensor(xIn, "x");
    let y = toTensor(yIn, "y");
    await this.buildFrom(x);
    this.checkXY(x, y, "x", "y", c.loss);

    let val: [Tensor, Tensor] | undefined;
    if (opts.validationData) {
      if (!Array.isArray(opts.validationData) || opts.validationData.length !== 2) throw new Error("fit: validationData must be [x, y]");
      val = [toTensor(opts.validationData[0], "validationData[0]"), toTensor(opts.validationData[1], "validationData[1]")];
      this.checkXY(val[0], val[1], "validationData[0]", "validationData[1]", c.loss);
    } else if (opts.validationSplit !== undefined) {
      const s = opts.validationSplit;
      if (!(typeof s === "number" && s > 0 && s < 1)) throw new Error(`fit: validationSplit must be in (0, 1), got ${describeValue(s)}`);
      const N = x.shape[0]!;
      const nVal = Math.floor(N * s);
      if (nVal < 1 || nVal >= N) throw new Error(`fit: validationSplit ${s} of ${N} samples leaves ${nVal} for validation and ${N - nVal} for training`);
      val = [sliceRows(x, N - nVal, N), sliceRows(y, N - nVal, N)];
      x = sliceRows(x, 0, N - nVal);
      y = sliceRows(y, 0, N - nVal);
    }

    const N = x.shape[0]!;
    const nBatches = Math.ceil(N / batchSize);
    const cb: Callbacks = { ...opts.callbacks };
    if (opts.onEpochEnd) cb.onEpochEnd = opts.onEpochEnd;
    const bar = verbose > 0 ? new ProgressBar({ stream: opts.stream ?? process.stdout, epochs, batches: nBatches, verbose: verbose as 1 | 2 }) : undefined;
    const history: History = { epoch: [], history: {}, samplesSeen: [], seconds: [] };
    const t0 = performance.now();
    let seen = 0;
    this.stopTraining = false;
    await cb.onTrainBegin?.();

    const order = new Int32Array(N);
    for (let epoch = 0; epoch < epochs && !this.stopTraining; epoch++) {
      for (let i = 0; i < N; i++) order[i] = i;
      if (opts.shuffle ?? true) this.shuffleRng!.shuffle(order);
      bar?.epochStart(epoch);
      let lossSum = 0;
      const mSum = c.metrics.map(() => ({ s: 0, n: 0 }));
      for (let bi = 0; bi < nBatches; bi++) {
        const start = bi * batchSize;
        const end = Math.min(N, start + batchSize);
        const xb = gatherRows(x, order, start, end);
        const yb = gatherRows(y, order, start, end);
        const { loss, output } = this.trainStep(xb, yb, { epoch, epochs, batch: bi, batches: nBatches });
        lossSum += loss * (end - start);
        c.metrics.forEach((m, i) => {
          const r = m.compute(output, yb, c.loss.sparse);
          mSum[i]!.s += r.value * r.count;
          mSum[i]!.n += r.count;
        });
        seen += end - start;
        const logs: Logs = { loss: lossSum / end };
        c.metrics.forEach((m, i) => (logs[m.name] = mSum[i]!.n > 0 ? mSum[i]!.s / mSum[i]!.n : 0));
        bar?.batchEnd(bi + 1, logs);
        await cb.onBatchEnd?.(bi, logs);
      }
      const logs: Logs = { loss: lossSum / N };
      c.metrics.forEach((m, i) => (logs[m.name] = mSum[i]!.n > 0 ? mSum[i]!.s / mSum[i]!.n : 0));
      if (val) {
        const v = this.evaluateTensors(val[0], val[1], batchSize);
        for (const [k, value] of Object.entries(v)) logs[`val_${k}`] = value;
      }
      bar?.epochEnd(logs);
      history.epoch.push(epoch);
      for (const [k, value] of Object.entries(logs)) (history.history[k] ??= []).push(value);
      history.samplesSeen.push(seen);
      history.seconds.push((performance.now() - t0) / 1000);
      await cb.onEpochEnd?.(epoch, logs);
    }
    await cb.onTrainEnd?.(history);
    return history;
  }

  /** Loss and metrics over (x, y) with dropout off: { loss, <metric>: value }. */
  evaluate(xIn: TensorLike, yIn: TensorLike, opts: EvaluateOptions = {}): Logs {
    const c = this.requireCompiled("evaluate");
    this.requireBuilt("evaluate");
    const x = toTensor(xIn, "x");
    const y = toTensor(yIn, "y");
    this.checkXY(x, y, "x", "y", c.loss);
    return this.evaluateTensors(x, y, opts.batchSize ?? 32);
  }

  private evaluateTensors(x: Tensor, y: Tensor, batchSize: number): Logs {
    const c = this.compiled!;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    const N = x.shape[0]!;
    let lossSum = 0;
    let lossN = 0;
    const mSum = c.metrics.map(() => ({ s: 0, n: 0 }));
    for (let start = 0; start < N; start += batchSize) {
      const end = Math.min(N, start + batchSize);
      const xb = sliceRows(x, start, end);
      const yb = sliceRows(y, start, end);
      const out = this.forward(xb, false);
      lossSum += c.loss.compute(out, yb) * (end - start);
      lossN += end - start;
      c.metrics.forEach((m, i) => {
        const r = m.compute(out, yb, c.loss.sparse);
        mSum[i]!.s += r.value * r.count;
        mSum[i]!.n += r.count;
      });
    }
    const logs: Logs = { loss: lossSum / lossN };
    c.metrics.forEach((m, i) => (logs[m.name] = mSum[i]!.n > 0 ? mSum[i]!.s / mSum[i]!.n : 0));
    return logs;
  }

  /** Outputs for x with dropout off, as a new tensor ([N, ...output shape]). */
  predict(xIn: TensorLike, opts: PredictOptions = {}): Tensor {
    this.requireBuilt("predict");
    const x = toTensor(xIn, "x");
    this.checkX(x, "x");
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`predict: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    const recurrent = this.layers.filter((l): l is Recurrent => l instanceof Recurrent);
    const carry = opts.carryState ?? false;
    if (carry && x.shape[0]! > batchSize) throw new Error(`predict with carryState needs all ${x.shape[0]} samples in one batch; raise batchSize`);
    for (const r of recurrent) r.carryState = carry;
    try {
      const N = x.shape[0]!;
      const parts: Tensor[] = [];
      for (let start = 0; start < N; start += batchSize) {
        const out = this.forward(sliceRows(x, start, Math.min(N, start + batchSize)), false);
        const part: Tensor = { data: Float32Array.from(out.data), shape: [...out.shape] };
        if (out.lengths) part.lengths = Int32Array.from(out.lengths);
        parts.push(part);
      }
      return parts.length === 1 ? parts[0]! : concatRows(parts);
    } finally {
      for (const r of recurrent) r.carryState = false;
    }
  }

  /** A table of layers, output shapes and parameter counts. */
  summary(): string {
    this.requireBuilt("summary");
    const rows: [string, string, string][] = [["Layer (type)", "Output Shape", "Param #"]];
    for (const l of this.layers) {
      rows.push([`${l.name} (${l.type})`, batchShapeString(l.outputShape ?? []), l.paramCount().toLocaleString("en-US")]);
    }
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)) + 3);
    const line = (r: [string, string, string]) => (r[0].padEnd(w[0]!) + r[1].padEnd(w[1]!) + r[2].padStart(w[2]! - 3)).trimEnd();
    const width = w[0]! + w[1]! + w[2]! - 3;
    const out = [`Model: "${this.name}"`, "=".repeat(width), line(rows[0]!), "-".repeat(width)];
    for (const r of rows.slice(1)) out.push(line(r));
    out.push("=".repeat(width), `Total params: ${this.paramCount().toLocaleString("en-US")}`, `Input shape: ${batchShapeString(this.inputShape!)}`);
    return out.join("\n");
  }

  /** Writes the weights atomically (see checkpoint.ts); returns the header path. */
  async save(file: string, opts: CheckpointOptions = {}): Promise<string> {
    return saveWeights(this.weights(), file, opts);
  }

  /** Loads weights saved by save(); errors name the first weight that does not fit. */
  async load(file: string, opts: CheckpointOptions = {}): Promise<void> {
    await loadWeights(this.weights(), file, opts);
  }
}

export function sequential(layers: Layer[] = [], opts: SequentialOptions = {}): Sequential {
  return new Sequential(layers, opts);
}

/** Elements per sample of a tensor (for generators and examples). */
export function perSample(t: Tensor): number {
  return t.shape[0] ? sizeOf(t.shape) / t.shape[0] : 0;
}
