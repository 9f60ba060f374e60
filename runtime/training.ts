// The training loop every model shares (Sequential and functional models alike): compile
// (optimizer, one loss per output, metrics, clipping), fit with mini-batches / shuffling /
// validation / progress / callbacks, evaluate, predict, and weight checkpoints. A model type
// supplies only how it builds, runs forward and backward over lists of tensors (one per input and
// output), and its parameters. All randomness comes from the model's seed, so two runs with the
// same seed and data give identical numbers. Every user-supplied array is validated here and a
// mistake is reported naming the argument (x, y, validationData, x[1], y.target...). The passes
// (a training step, an evaluation, a prediction) are generators of layer calls (./passes.ts):
// run synchronously when every layer is, awaited where a layer is asynchronous (WebGPU kernels:
// fit awaits them; evaluateAsync and predictAsync are the asynchronous forms of evaluate and
// predict, which refuse such a model).

import { callbackList, runHook, type History } from "./callbacks.ts";
import { loadWeights, saveWeights, type CheckpointOptions, type NamedWeight } from "./checkpoint.ts";
import { describeValue } from "./describe.ts";
import { firstNonFinite, guardedUpdate, NonFiniteError, WeightBackup, type StepPlace } from "./train-guard.ts";
import type { Layer, Param } from "./layers/layer.ts";
import type { Recurrent } from "./layers/recurrent.ts";
import { checkLabels, type Loss } from "./losses.ts";
import { clipByGlobalNorm, type Optimizer } from "./optimizers.ts";
import { defaultProgressStream, LogSums, ProgressBar, type Logs, type ProgressStream } from "./progress.ts";
import { Rng } from "./rng.ts";
import { compileSettings, recordBatch, type Compiled, type CompileOptions } from "./compiled.ts";
import { toList } from "./model-data.ts";
import { runAsync, runSync, type Passes } from "./passes.ts";
import { concatRows, gatherRows, sliceRows, type Tensor, type TensorLike } from "./tensor.ts";

export interface ModelOptions {
  /** Seed for initial weights, dropout masks and shuffling. Default 0. */
  seed?: number;
  name?: string;
}

export type { History } from "./callbacks.ts";
export type { CompileOptions } from "./compiled.ts";

/** Hooks fit calls while it trains (Keras' Callback); run as runtime/callbacks.ts says. */
export interface Callbacks {
  /** Shown in errors (the built-in callbacks set it: "earlyStopping"...). */
  readonly name?: string;
  /** Called first in every fit with the model being trained (Keras' set_model). */
  setModel?(model: Model): void;
  onTrainBegin?(): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** `logs` holds loss, metrics and (when validating) val_loss, val_<metric>; a callback may add
   *  entries for the callbacks after it and the History. */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
}

/** Data for a model: one tensor for a single input (or output); for several, a list in order or
 *  an object keyed by input (output) name. */
export type ModelData = TensorLike | readonly TensorLike[] | Readonly<Record<string, TensorLike>>;

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Fraction (0..1) of samples, taken from the END of x / y before shuffling, held out for validation. */
  validationSplit?: number;
  validationData?: [ModelData, ModelData];
  /** Shuffle the training samples each epoch (default true). */
  shuffle?: boolean;
  /** 0 silent, 1 progress bar (plain lines when not a TTY), 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /** One set of hooks or a list, run in order (earlyStopping(), reduceLROnPlateau(), your own...). */
  callbacks?: Callbacks | readonly Callbacks[];
  /** Shortcut for a callback with only onEpochEnd (run after `callbacks`). */
  onEpochEnd?: Callbacks["onEpochEnd"];
  /** Where progress goes; default process.stdout (the console in a browser). */
  stream?: ProgressStream;
}

export interface EvaluateOptions {
  batchSize?: number;
}

export interface PredictOptions {
  batchSize?: number;
  /** Recurrent layers start from, and keep, their carried state (streaming generation); see resetStates(). */
  carryState?: boolean;
}

export abstract class Model {
  readonly name: string;
  /** Set to true in a callback to end fit after the current batch (onBatchEnd) or epoch. */
  stopTraining = false;
  protected readonly rng: Rng;
  protected shuffleRng: Rng | undefined;
  protected compiled: Compiled | undefined;
  private lossGrads: Float32Array[] = [];
  /** The weights before the current update, to undo a step that goes non-finite. */
  private readonly backup = new WeightBackup();

  constructor(opts: ModelOptions, defaultName: string) {
    this.rng = new Rng(opts.seed ?? 0);
    this.name = opts.name ?? defaultName;
  }

  // ---- What each kind of model supplies.

  abstract get built(): boolean;
  /** All trainable parameters, each once. */
  abstract params(): Param[];
  /** Parameters named "layer/param", as checkpoints store them. */
  abstract weights(): NamedWeight[];
  abstract paramCount(): number;
  abstract summary(): string;
  /** Forgets carried recurrent state (stateful layers). */
  abstract resetStates(): void;
  /** Input and output names, in order (for data given by name, and for logs). */
  abstract get inputNames(): readonly string[];
  abstract get outputNames(): readonly string[];
  /** Builds the model from the first training batch (when not built yet). */
  protected abstract buildFrom(xs: Tensor[]): Promise<void>;
  /** Checks each input against the model's input shapes; `names` name them in errors. */
  protected abstract checkInputs(xs: Tensor[], names: readonly string[]): void;
  /** Each output's shape for a batch of these inputs. */
  protected abstract outputShapesFor(xs: Tensor[]): number[][];
  /** The forward pass over the layers: returns the outputs. */
  protected abstract forwardAll(xs: Tensor[], training: boolean): Passes<Tensor[]>;
  /** Adds every parameter's gradient, given d loss / d each output of the last forwardAll. */
  protected abstract backwardAll(dys: Float32Array[]): Passes<void>;
  /** The layers the passes call, each once. */
  protected abstract layerList(): readonly Layer[];
  /** Recurrent layers that carry state under predict's carryState. */
  protected abstract streamingLayers(): Recurrent[];

  /** The compiled optimizer (undefined before compile); callbacks change its learningRate. */
  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  /** Copies of the weights, in weights() order (Keras' get_weights). */
  getWeights(): Float32Array[] {
    return this.weights().map((w) => Float32Array.from(w.value));
  }

  /** Sets every weight from a list like getWeights() returns; checks every length first. */
  setWeights(values: readonly Float32Array[]): void {
    const ws = this.weights();
    if (!Array.isArray(values) || values.length !== ws.length) {
      throw new Error(`setWeights: expected a list of ${ws.length} Float32Arrays (one per weight), got ${describeValue(values)}`);
    }
    ws.forEach((w, i) => {
      const v = values[i];
      if (!(v instanceof Float32Array) || v.length !== w.value.length) {
        throw new Error(`setWeights: weight #${i} '${w.name}' needs a Float32Array of ${w.value.length} values, got ${describeValue(v)}`);
      }
    });
    ws.forEach((w, i) => w.value.set(values[i]!));
  }

  // ---- Compiling.

  compile(opts: CompileOptions): this {
    this.compiled = compileSettings(opts, this.outputNames);
    return this;
  }

  protected requireBuilt(what: string): void {
    if (!this.built) throw new Error(`${what}: the model is not built; call await model.build(${this.buildHint()}) or fit first`);
  }

  /** What build() takes, for the message above. */
  protected buildHint(): string {
    return "";
  }

  protected requireCompiled(what: string): Compiled {
    if (!this.compiled) throw new Error(`${what}: call model.compile({ optimizer, loss }) first`);
    return this.compiled;
  }

  // ---- Data given by the user.

  protected inputs(d: unknown, what: string): { tensors: Tensor[]; labels: string[] } {
    return toList(d, this.inputNames, what, "input");
  }

  protected targets(d: unknown, what: string): { tensors: Tensor[]; labels: string[] } {
    return toList(d, this.outputNames, what, "output");
  }

  private checkXY(xs: Tensor[], ys: Tensor[], xl: string[], yl: string[], losses: Loss[]): void {
    this.checkInputs(xs, xl);
    const N = xs[0]!.shape[0]!;
    xs.forEach((x, i) => {
      if (x.shape[0] !== N) throw new Error(`${xl[0]} has ${N} samples but ${xl[i]} has ${x.shape[0]}`);
    });
    ys.forEach((y, i) => {
      if (y.shape[0] !== N) throw new Error(`${xl[0]} has ${N} samples but ${yl[i]} has ${y.shape[0]}`);
    });
    const shapes = this.outputShapesFor(xs);
    ys.forEach((y, i) => checkLabels(losses[i]!, shapes[i]!, y, yl[i]));
  }

  // ---- Training.

  /** One optimisation step on a batch: returns the total and per-output losses and the outputs
   *  (valid until the next call). A non-finite loss, gradient or update throws NonFiniteError and
   *  changes no weight (nor the optimizer's state). */
  protected *trainStep(xs: Tensor[], ys: Tensor[], place?: StepPlace): Passes<{ loss: number; losses: number[]; outputs: Tensor[] }> {
    const c = this.requireCompiled("trainOnBatch");
    this.requireBuilt("trainOnBatch");
    const params = this.params();
    for (const p of params) p.grad.fill(0);
    const outs = yield* this.forwardAll(xs, true);
    const grads = outs.map((o, i) => (this.lossGrads[i] = this.lossGrads[i]?.length === o.data.length ? this.lossGrads[i]! : new Float32Array(o.data.length)));
    const losses = outs.map((o, i) => c.losses[i]!.compute(o, ys[i]!, grads[i]));
    let loss = 0;
    losses.forEach((l, i) => {
      const w = c.lossWeights[i]!;
      loss += w * l;
      if (w !== 1) for (let j = 0; j < grads[i]!.length; j++) grads[i]![j]! *= w;
    });
    if (!Number.isFinite(loss)) throw new NonFiniteError(`the loss became ${loss}`, place);
    yield* this.backwardAll(grads);
    const bad = firstNonFinite(params, "grad");
    if (bad) throw new NonFiniteError(`the gradient of '${this.weightName(bad.param)}'[${bad.index}] became ${bad.value}`, place);
    if (c.clipNorm !== undefined) clipByGlobalNorm(params, c.clipNorm);
    guardedUpdate(c.optimizer, params, (i) => this.weightName(i), this.backup, place);
    return { loss, losses, outputs: outs };
  }

  /** The first layer whose calls are asynchronous, if any (known once the model is built). */
  private asyncLayer(): Layer | undefined {
    return this.layerList().find((l) => l.asynchronous);
  }

  /** Runs passes synchronously, for `what`; a model with an asynchronous layer is refused, naming
   *  `instead`, the asynchronous form. */
  protected runNow<R>(g: Passes<R>, what: string, instead: string): R {
    const l = this.asyncLayer();
    if (l) {
      throw new Error(`${what} runs synchronously, but layer '${l.label}' returns its results asynchronously (its kernel runs on the GPU, through WebGPU): use await model.${instead}(...) instead`);
    }
    return runSync(g);
  }

  /** Runs passes synchronously when every layer is synchronous, else awaiting the asynchronous ones. */
  private run<R>(g: Passes<R>): R | Promise<R> {
    return this.asyncLayer() ? runAsync(g) : runSync(g);
  }

  /** "layer/param" of the i-th parameter of params(), as checkpoints and errors name it. */
  private weightName(i: number): string {
    const p = this.params()[i];
    return this.weights().find((w) => w.value === p?.value)?.name ?? `#${i}`;
  }

  async fit(xIn: ModelData, yIn: ModelData, optsIn: FitOptions = {}): Promise<History> {
    const c = this.requireCompiled("fit");
    if (typeof optsIn !== "object" || optsIn === null) throw new Error(`fit: options must be an object, got ${describeValue(optsIn)}`);
    const opts = optsIn;
    const epochs = opts.epochs ?? 1;
    const batchSize = opts.batchSize ?? 32;
    const verbose = opts.verbose ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${describeValue(epochs)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`fit: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    if (![0, 1, 2].includes(verbose)) throw new Error(`fit: verbose must be 0, 1 or 2, got ${describeValue(verbose)}`);
    const xd = this.inputs(xIn, "x");
    const yd = this.targets(yIn, "y");
    let xs = xd.tensors;
    let ys = yd.tensors;
    await this.buildFrom(xs);
    this.checkXY(xs, ys, xd.labels, yd.labels, c.losses);

    let val: [Tensor[], Tensor[]] | undefined;
    if (opts.validationData) {
      if (!Array.isArray(opts.validationData) || opts.validationData.length !== 2) throw new Error("fit: validationData must be [x, y]");
      const vx = this.inputs(opts.validationData[0], "validationData[0]");
      const vy = this.targets(opts.validationData[1], "validationData[1]");
      this.checkXY(vx.tensors, vy.tensors, vx.labels, vy.labels, c.losses);
      val = [vx.tensors, vy.tensors];
    } else if (opts.validationSplit !== undefined) {
      const s = opts.validationSplit;
      if (!(typeof s === "number" && s > 0 && s < 1)) throw new Error(`fit: validationSplit must be in (0, 1), got ${describeValue(s)}`);
      const N = xs[0]!.shape[0]!;
      const nVal = Math.floor(N * s);
      if (nVal < 1 || nVal >= N) throw new Error(`fit: validationSplit ${s} of ${N} samples leaves ${nVal} for validation and ${N - nVal} for training`);
      val = [xs.map((t) => sliceRows(t, N - nVal, N)), ys.map((t) => sliceRows(t, N - nVal, N))];
      xs = xs.map((t) => sliceRows(t, 0, N - nVal));
      ys = ys.map((t) => sliceRows(t, 0, N - nVal));
    }

    const N = xs[0]!.shape[0]!;
    const nBatches = Math.ceil(N / batchSize);
    const cbs = callbackList<Callbacks>(opts.callbacks, opts.onEpochEnd);
    const bar = verbose > 0 ? new ProgressBar({ stream: opts.stream ?? defaultProgressStream(), epochs, batches: nBatches, verbose: verbose as 1 | 2 }) : undefined;
    const history: History = { epoch: [], history: {}, samplesSeen: [], seconds: [] };
    const t0 = performance.now();
    let seen = 0;
    this.stopTraining = false;
    await runHook(cbs, "setModel", undefined, this);
    await runHook(cbs, "onTrainBegin", undefined);

    const order = new Int32Array(N);
    for (let epoch = 0; epoch < epochs && !this.stopTraining; epoch++) {
      for (let i = 0; i < N; i++) order[i] = i;
      if (opts.shuffle ?? true) this.shuffleRng!.shuffle(order);
      await runHook(cbs, "onEpochBegin", epoch, epoch);
      bar?.epochStart(epoch);
      const sums = new LogSums();
      for (let bi = 0; bi < nBatches; bi++) {
        const start = bi * batchSize;
        const end = Math.min(N, start + batchSize);
        const xb = xs.map((t) => gatherRows(t, order, start, end));
        const yb = ys.map((t) => gatherRows(t, order, start, end));
        const { loss, losses, outputs } = await this.run(this.trainStep(xb, yb, { epoch, epochs, batch: bi, batches: nBatches }));
        recordBatch(this.compiled!, this.outputNames, sums, loss, losses, outputs, yb, end - start);
        seen += end - start;
        const logs = sums.logs();
        bar?.batchEnd(bi + 1, logs);
        await runHook(cbs, "onBatchEnd", epoch, bi, logs);
        if (this.stopTraining) break;
      }
      const logs = sums.logs();
      if (val) {
        const v = await this.run(this.evaluateTensors(val[0], val[1], batchSize));
        for (const [k, value] of Object.entries(v)) logs[`val_${k}`] = value;
      }
      bar?.epochEnd(logs);
      await runHook(cbs, "onEpochEnd", epoch, epoch, logs);
      history.epoch.push(epoch);
      for (const [k, value] of Object.entries(logs)) (history.history[k] ??= []).push(value);
      history.samplesSeen.push(seen);
      history.seconds.push((performance.now() - t0) / 1000);
    }
    await runHook(cbs, "onTrainEnd", undefined, history);
    return history;
  }

  /** Loss and metrics over (x, y) with dropout off: { loss, <metric>: value }. A model with an
   *  asynchronous (WebGPU) layer needs evaluateAsync. */
  evaluate(xIn: ModelData, yIn: ModelData, opts: EvaluateOptions = {}): Logs {
    return this.runNow(this.evaluatePasses(xIn, yIn, opts), "evaluate", "evaluateAsync");
  }

  /** evaluate for any model, awaiting asynchronous (WebGPU) layers. */
  async evaluateAsync(xIn: ModelData, yIn: ModelData, opts: EvaluateOptions = {}): Promise<Logs> {
    return runAsync(this.evaluatePasses(xIn, yIn, opts));
  }

  private *evaluatePasses(xIn: ModelData, yIn: ModelData, opts: EvaluateOptions): Passes<Logs> {
    const c = this.requireCompiled("evaluate");
    this.requireBuilt("evaluate");
    const xd = this.inputs(xIn, "x");
    const yd = this.targets(yIn, "y");
    this.checkXY(xd.tensors, yd.tensors, xd.labels, yd.labels, c.losses);
    return yield* this.evaluateTensors(xd.tensors, yd.tensors, opts.batchSize ?? 32);
  }

  private *evaluateTensors(xs: Tensor[], ys: Tensor[], batchSize: number): Passes<Logs> {
    const c = this.compiled!;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    const N = xs[0]!.shape[0]!;
    const sums = new LogSums();
    for (let start = 0; start < N; start += batchSize) {
      const end = Math.min(N, start + batchSize);
      const xb = xs.map((t) => sliceRows(t, start, end));
      const yb = ys.map((t) => sliceRows(t, start, end));
      const outs = yield* this.forwardAll(xb, false);
      const losses = outs.map((o, i) => c.losses[i]!.compute(o, yb[i]!));
      const loss = losses.reduce((s, l, i) => s + c.lossWeights[i]! * l, 0);
      recordBatch(c, this.outputNames, sums, loss, losses, outs, yb, end - start);
    }
    return sums.logs();
  }

  /** Outputs for x with dropout off, one new tensor per output ([N, ...output shape]). A model
   *  with an asynchronous (WebGPU) layer needs predictAllAsync. */
  predictAll(xIn: ModelData, opts: PredictOptions): Tensor[] {
    return this.runNow(this.predictPasses(xIn, opts), "predict", "predictAsync");
  }

  /** predictAll for any model, awaiting asynchronous (WebGPU) layers. */
  async predictAllAsync(xIn: ModelData, opts: PredictOptions): Promise<Tensor[]> {
    return runAsync(this.predictPasses(xIn, opts));
  }

  private *predictPasses(xIn: ModelData, opts: PredictOptions): Passes<Tensor[]> {
    this.requireBuilt("predict");
    const { tensors: xs, labels } = this.inputs(xIn, "x");
    this.checkInputs(xs, labels);
    const N = xs[0]!.shape[0]!;
    xs.forEach((x, i) => {
      if (x.shape[0] !== N) throw new Error(`${labels[0]} has ${N} samples but ${labels[i]} has ${x.shape[0]}`);
    });
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`predict: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    const recurrent = this.streamingLayers();
    const carry = opts.carryState ?? false;
    if (carry && N > batchSize) throw new Error(`predict with carryState needs all ${N} samples in one batch; raise batchSize`);
    for (const r of recurrent) r.carryState = carry;
    try {
      const parts: Tensor[][] = this.outputNames.map(() => []);
      for (let start = 0; start < N; start += batchSize) {
        const outs = yield* this.forwardAll(
          xs.map((x) => sliceRows(x, start, Math.min(N, start + batchSize))),
          false,
        );
        outs.forEach((out, i) => {
          const part: Tensor = { data: Float32Array.from(out.data), shape: [...out.shape] };
          if (out.lengths) part.lengths = Int32Array.from(out.lengths);
          parts[i]!.push(part);
        });
      }
      return parts.map((p) => (p.length === 1 ? p[0]! : concatRows(p)));
    } finally {
      for (const r of recurrent) r.carryState = false;
    }
  }

  // ---- Checkpoints.

  /** Writes the weights atomically (see checkpoint.ts); returns the header path. */
  async save(file: string, opts: CheckpointOptions = {}): Promise<string> {
    return saveWeights(this.weights(), file, opts);
  }

  /** Loads weights saved by save(); errors name the first weight that does not fit. */
  async load(file: string, opts: CheckpointOptions = {}): Promise<void> {
    await loadWeights(this.weights(), file, opts);
  }
}
