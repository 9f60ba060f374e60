// A Keras-style sequential model: layers in order, each reading the previous one's output. The
// training loop (compile, fit, evaluate, predict, checkpoints) is shared with functional models
// and lives in training.ts; this file holds only what is particular to a linear stack.

import { storage, type CheckpointFs, type NamedWeight } from "./checkpoint.ts";
import type { ModelOnnxOptions } from "./interop/onnx/export-model.ts";
import { Layer, type Param, type Shape } from "./layers/layer.ts";
import { Recurrent } from "./layers/recurrent.ts";
import { backwardCall, forwardCall, type Passes } from "./passes.ts";
import { Model, type ModelOptions, type PredictOptions } from "./training.ts";
import { batchShapeString, shapeString, sizeOf, type Tensor, type TensorLike } from "./tensor.ts";

export type { CompileOptions, Callbacks, FitOptions, History, EvaluateOptions, PredictOptions, ModelData } from "./training.ts";

export type SequentialOptions = ModelOptions;

export class Sequential extends Model {
  readonly layers: Layer[] = [];
  inputShape: Shape | undefined;
  outputShape: Shape | undefined;

  constructor(layers: Layer[] = [], opts: SequentialOptions = {}) {
    super(opts, "sequential");
    for (const l of layers) this.add(l);
  }

  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new Error(`Sequential.add: expected a layer, got ${typeof layer}`);
    if (this.inputShape) throw new Error("cannot add a layer to a model that is already built");
    if (this.layers.includes(layer)) throw new Error(`layer '${layer.name}' is already in the model`);
    // A sequential model hands one tensor from layer to layer.
    if ((layer as { returnState?: unknown }).returnState === true) {
      throw new Error(`layer '${layer.label}' returns its states (returnState); a sequential model passes one tensor between layers: use a functional model (model({ inputs, outputs }))`);
    }
    layer.callOutputs(1);
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

  get built(): boolean {
    return this.inputShape !== undefined;
  }

  get inputNames(): readonly string[] {
    return ["input"];
  }

  get outputNames(): readonly string[] {
    return [this.layers[this.layers.length - 1]?.name ?? "output"];
  }

  protected override buildHint(): string {
    return "inputShape";
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
  protected async buildFrom(xs: Tensor[]): Promise<void> {
    if (this.inputShape) return;
    const per: Shape = xs[0]!.shape.slice(1);
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

  /** Checks x against the model's input shape, naming the argument. */
  protected checkInputs(xs: Tensor[], names: readonly string[]): void {
    const x = xs[0]!;
    const name = names[0]!;
    const want = this.inputShape!;
    const got = x.shape.slice(1);
    const ok = got.length === want.length && want.every((d, i) => d === null || d === got[i]);
    if (!ok) throw new Error(`${name} has shape ${shapeString(x.shape)} but the model expects ${batchShapeString(want)}`);
    if (x.shape[0] === 0) throw new Error(`${name} has no samples`);
  }

  /** The model's output shape for an input batch of `x`'s shape. */
  protected outputShapesFor(xs: Tensor[]): number[][] {
    const x = xs[0]!;
    const out = this.outputShape!;
    const T = x.shape[1] ?? 1;
    return [[x.shape[0]!, ...out.map((d) => (d === null ? T : d))]];
  }

  protected *forwardAll(xs: Tensor[], training: boolean): Passes<Tensor[]> {
    let a = xs[0]!;
    const ctx = { training };
    for (const l of this.layers) a = (yield* forwardCall(l, [a], ctx))[0]!;
    return [a];
  }

  protected *backwardAll(dys: Float32Array[]): Passes<void> {
    let g: Float32Array | null = dys[0]!;
    for (let i = this.layers.length - 1; i >= 0 && g !== null; i--) g = (yield* backwardCall(this.layers[i]!, [g]))[0]!;
  }

  protected layerList(): readonly Layer[] {
    return this.layers;
  }

  protected streamingLayers(): Recurrent[] {
    return this.layers.filter((l): l is Recurrent => l instanceof Recurrent);
  }

  /** One optimisation step on a batch; returns the batch loss and the output (valid until the next call). */
  trainOnBatch(x: Tensor, y: Tensor): { loss: number; output: Tensor } {
    const { loss, outputs } = this.runNow(this.trainStep([x], [y]), "trainOnBatch", "fit");
    return { loss, output: outputs[0]! };
  }

  /** Outputs for x with dropout off, as a new tensor ([N, ...output shape]). A model with an
   *  asynchronous (WebGPU) layer needs predictAsync. */
  predict(xIn: TensorLike, opts: PredictOptions = {}): Tensor {
    return this.predictAll(xIn, opts)[0]!;
  }

  /** predict for any model, awaiting asynchronous (WebGPU) layers. */
  async predictAsync(xIn: TensorLike, opts: PredictOptions = {}): Promise<Tensor> {
    return (await this.predictAllAsync(xIn, opts))[0]!;
  }

  /** The trained model as an ONNX model (inference: dropout is off), as bytes. Inputs `input`
   *  (int64 ids under an Embedding, else float32) and, over sequences, `lengths` int32 [B]; the
   *  output is named after the last layer. Throws naming a layer that has no ONNX form. */
  async toOnnx(options: ModelOnnxOptions = {}): Promise<Uint8Array> {
    this.requireBuilt("toOnnx");
    // Loaded on first use: the ONNX schema is large, and a model that never exports needs none of it.
    const { sequentialToOnnx } = await import("./interop/onnx/export-model.ts");
    return sequentialToOnnx(this, options);
  }

  /** toOnnx() written to `path` (a .onnx file); resolves to the bytes written. */
  async exportOnnx(path: string, options: ModelOnnxOptions & { fs?: CheckpointFs } = {}): Promise<Uint8Array> {
    const bytes = await this.toOnnx(options);
    // Written through the runtime's storage: a file on Node; IndexedDB (or memory) in a browser.
    await storage(options).writeFileSynced(path, bytes);
    return bytes;
  }

  /** A table of layers, output shapes and parameter counts. */
  summary(): string {
    this.requireBuilt("summary");
    const rows: string[][] = [["Layer (type)", "Output Shape", "Param #"]];
    for (const l of this.layers) {
      rows.push([`${l.name} (${l.type})`, batchShapeString(l.outputShape ?? []), l.paramCount().toLocaleString("en-US")]);
    }
    return summaryTable(this.name, rows, [`Total params: ${this.paramCount().toLocaleString("en-US")}`, `Input shape: ${batchShapeString(this.inputShape!)}`]);
  }
}

/** The summary table: a title, the rows (first is the header; the third column is right-aligned), a footer. */
export function summaryTable(name: string, rows: readonly string[][], footer: readonly string[]): string {
  const cols = rows[0]!.length;
  const w = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)) + 3);
  const line = (r: readonly string[]) => r.map((c, i) => (i === 2 ? c.padStart(w[i]! - 3).padEnd(w[i]!) : c.padEnd(w[i]!))).join("").trimEnd();
  const width = w.reduce((a, b) => a + b, 0) - 3;
  const out = [`Model: "${name}"`, "=".repeat(width), line(rows[0]!), "-".repeat(width)];
  for (const r of rows.slice(1)) out.push(line(r));
  out.push("=".repeat(width), ...footer);
  return out.join("\n");
}

export function sequential(layers: Layer[] = [], opts: SequentialOptions = {}): Sequential {
  return new Sequential(layers, opts);
}

/** Elements per sample of a tensor (for generators and examples). */
export function perSample(t: Tensor): number {
  return t.shape[0] ? sizeOf(t.shape) / t.shape[0] : 0;
}
