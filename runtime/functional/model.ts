// A functional model, in the style of Keras' Model(inputs, outputs) and tf.model(): layers applied
// to symbolic tensors form a graph with any number of inputs and outputs, layers may be shared
// (called at several places, or in several models, with one set of weights), and recurrent layers
// can pass their final states to another layer's initial state. Training, evaluation, prediction
// and checkpoints are the shared loop of training.ts; this file builds the graph (checking each
// call's shapes, errors naming the layers) and runs it forward and backward.
//
//   const src = input({ shape: [null], name: "source" });
//   const [, h, c] = lstm(64, { returnState: true }).applyAll(embedding(V, 32).apply(src));
//   const tgt = input({ shape: [null], name: "target" });
//   const seq = lstm(64, { returnSequences: true }).apply(embedding(W, 32).apply(tgt), { initialState: [h, c] });
//   const m = model({ inputs: [src, tgt], outputs: dense(W, { activation: "softmax" }).apply(seq) });

import type { ModelOnnxOptions } from "../interop/onnx/export-model.ts";
import { storage, type CheckpointFs, type NamedWeight } from "../checkpoint.ts";
import { shapesCompatible, type Layer, type Param } from "../layers/layer.ts";
import { Recurrent } from "../layers/recurrent.ts";
import { summaryTable } from "../model.ts";
import { batchShapeString, shapeString, type Tensor } from "../tensor.ts";
import { backwardCall, forwardCall, type Passes } from "../passes.ts";
import { Model, type ModelData, type ModelOptions, type PredictOptions } from "../training.ts";
import { outputNames, traceGraph, type Graph } from "./graph.ts";
import type { Node, SymbolicTensor } from "./symbolic.ts";

export interface FunctionalOptions extends ModelOptions {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
}

export class Functional extends Model {
  readonly graph: Graph;
  private readonly outNames: string[];
  /** The layer (or a twin of it) that runs each node, once built. */
  private runners: Layer[] = [];
  private isBuilt = false;
  private building: Promise<void> | undefined;
  /** For each tensor with a varying (null) size: the model input whose time axis gives it. */
  private readonly timeFrom = new Map<SymbolicTensor, number>();
  private values = new Map<SymbolicTensor, Tensor>();
  private readonly tensorGrads = new Map<SymbolicTensor, Float32Array>();

  constructor(opts: FunctionalOptions) {
    super(opts, "model");
    if (!opts || opts.inputs === undefined || opts.outputs === undefined) throw new Error("model: { inputs, outputs } are required");
    this.graph = traceGraph(opts.inputs, opts.outputs);
    this.outNames = outputNames(this.graph.outputs);
  }

  get built(): boolean {
    return this.isBuilt;
  }

  get inputNames(): readonly string[] {
    return this.graph.inputs.map((t) => t.inputName!);
  }

  get outputNames(): readonly string[] {
    return this.outNames;
  }

  /** The model's layers, each once, in the order of their first call. */
  get layers(): readonly Layer[] {
    return this.graph.layers;
  }

  /** Builds every layer (compiling spec kernels) and checks every call's shapes. */
  async build(): Promise<this> {
    this.building ??= this.buildGraph();
    try {
      await this.building;
    } catch (e) {
      this.building = undefined;
      throw e;
    }
    return this;
  }

  private async buildGraph(): Promise<void> {
    const g = this.graph;
    g.inputs.forEach((t, i) => {
      if (t.shape!.length > 0 && t.shape![0] === null) this.timeFrom.set(t, i);
    });
    const builtHere = new Set<Layer>();
    for (const n of g.nodes) {
      const shapes = n.inputs.map((t) => t.shape!);
      let outs;
      try {
        if (!n.layer.built && !builtHere.has(n.layer)) {
          builtHere.add(n.layer);
          outs = await n.layer.buildCall(shapes, this.rng.fork());
        } else {
          outs = n.layer.checkCall(shapes);
        }
      } catch (e) {
        const from = n.inputs.map((t) => `'${t.describe()}' ${batchShapeString(t.shape!)}`).join(", ");
        throw new Error(`building layer '${n.layer.name}' (${n.layer.type}), applied to ${from}: ${(e as Error).message}`);
      }
      if (outs.length !== n.outputs.length) throw new Error(`layer '${n.layer.name}' gave ${outs.length} outputs when built, ${n.outputs.length} when applied`);
      const time = n.inputs.map((t) => this.timeFrom.get(t)).find((v) => v !== undefined);
      n.outputs.forEach((t, i) => {
        const s = outs[i]!;
        if (t.shape && !shapesCompatible(t.shape, s)) throw new Error(`layer '${n.layer.name}' output ${i} is ${batchShapeString(s)} in this model but ${batchShapeString(t.shape)} in another`);
        t.shape = [...s];
        if (time !== undefined && s.includes(null)) this.timeFrom.set(t, time);
      });
    }
    // The first call of a layer runs on the layer itself, further calls on twins sharing its weights.
    const seen = new Set<Layer>();
    this.runners = g.nodes.map((n) => {
      if (seen.has(n.layer)) return n.layer.twin();
      seen.add(n.layer);
      return n.layer;
    });
    this.shuffleRng = this.rng.fork();
    this.isBuilt = true;
  }

  protected async buildFrom(_xs: Tensor[]): Promise<void> {
    await this.build();
  }

  params(): Param[] {
    const out: Param[] = [];
    const seen = new Set<Param>();
    for (const l of this.graph.layers) {
      for (const p of l.params()) {
        if (!seen.has(p)) out.push(p);
        seen.add(p);
      }
    }
    return out;
  }

  weights(): NamedWeight[] {
    this.requireBuilt("weights");
    const seen = new Set<Param>();
    return this.graph.layers.flatMap((l) =>
      l.params().flatMap((p) => {
        if (seen.has(p)) return [];
        seen.add(p);
        return [{ name: `${l.name}/${p.name}`, shape: p.shape, value: p.value }];
      }),
    );
  }

  paramCount(): number {
    return this.params().reduce((s, p) => s + p.value.length, 0);
  }

  resetStates(): void {
    for (const r of this.runners) r.resetStates();
  }

  protected checkInputs(xs: Tensor[], names: readonly string[]): void {
    this.graph.inputs.forEach((t, i) => {
      const x = xs[i]!;
      const want = t.shape!;
      const got = x.shape.slice(1);
      const ok = got.length === want.length && want.every((d, j) => d === null || d === got[j]);
      if (!ok) throw new Error(`${names[i]} has shape ${shapeString(x.shape)} but the model's input '${t.inputName}' is ${batchShapeString(want)}`);
      if (x.shape[0] === 0) throw new Error(`${names[i]} has no samples`);
    });
  }

  protected outputShapesFor(xs: Tensor[]): number[][] {
    const N = xs[0]!.shape[0]!;
    return this.graph.outputs.map((t) => {
      const src = this.timeFrom.get(t);
      const T = src === undefined ? 1 : (xs[src]!.shape[1] ?? 1);
      return [N, ...t.shape!.map((d) => (d === null ? T : d))];
    });
  }

  protected *forwardAll(xs: Tensor[], training: boolean): Passes<Tensor[]> {
    const g = this.graph;
    const vals = (this.values = new Map());
    g.inputs.forEach((t, i) => vals.set(t, xs[i]!));
    const ctx = { training };
    for (const [k, n] of g.nodes.entries()) {
      const r = this.runners[k]!;
      // Data needs no gradient: a call whose main input is a model input skips computing it.
      r.inputGradientNeeded = n.inputs[0]!.node !== undefined;
      const outs = yield* forwardCall(r, n.inputs.map((t) => vals.get(t)!), ctx);
      n.outputs.forEach((t, i) => vals.set(t, outs[i]!));
    }
    return g.outputs.map((t) => vals.get(t)!);
  }

  protected *backwardAll(dys: Float32Array[]): Passes<void> {
    const g = this.graph;
    const grads = new Map<SymbolicTensor, Float32Array>();
    const add = (t: SymbolicTensor, d: Float32Array): void => {
      const have = grads.get(t);
      if (!have) {
        // A tensor read once takes the gradient as it comes; several reads are summed in a buffer of its own.
        if ((g.uses.get(t) ?? 0) <= 1) grads.set(t, d);
        else {
          const own = this.ownBuffer(t, d.length);
          own.set(d);
          grads.set(t, own);
        }
        return;
      }
      for (let i = 0; i < have.length; i++) have[i]! += d[i]!;
    };
    g.outputs.forEach((t, i) => add(t, dys[i]!));
    for (let k = g.nodes.length - 1; k >= 0; k--) {
      const n: Node = g.nodes[k]!;
      if (!n.outputs.some((t) => grads.has(t))) continue;
      const dOut = n.outputs.map((t) => grads.get(t) ?? this.ownBuffer(t, this.values.get(t)!.data.length).fill(0));
      const dIn = yield* backwardCall(this.runners[k]!, dOut);
      n.inputs.forEach((t, i) => {
        const d = dIn[i];
        if (d && t.node) add(t, d);
      });
    }
  }

  /** A reusable buffer of n floats owned by the model for tensor t's gradient. */
  private ownBuffer(t: SymbolicTensor, n: number): Float32Array {
    let b = this.tensorGrads.get(t);
    if (!b || b.length !== n) {
      b = new Float32Array(n);
      this.tensorGrads.set(t, b);
    }
    return b;
  }

  protected layerList(): readonly Layer[] {
    return this.runners;
  }

  protected streamingLayers(): Recurrent[] {
    return this.runners.filter((l): l is Recurrent => l instanceof Recurrent);
  }

  /** One optimisation step on a batch; returns the total loss and the outputs (valid until the next call). */
  trainOnBatch(x: ModelData, y: ModelData): { loss: number; outputs: Tensor[] } {
    this.requireBuilt("trainOnBatch");
    const { loss, outputs } = this.runNow(this.trainStep(this.inputs(x, "x").tensors, this.targets(y, "y").tensors), "trainOnBatch", "fit");
    return { loss, outputs };
  }

  /** Outputs for x with dropout off: a tensor for a one-output model, else one per output. */
  predict(x: ModelData, opts: PredictOptions = {}): Tensor | Tensor[] {
    const outs = this.predictAll(x, opts);
    return outs.length === 1 ? outs[0]! : outs;
  }

  /** predict for any model, awaiting asynchronous (WebGPU) layers. */
  async predictAsync(x: ModelData, opts: PredictOptions = {}): Promise<Tensor | Tensor[]> {
    const outs = await this.predictAllAsync(x, opts);
    return outs.length === 1 ? outs[0]! : outs;
  }

  /** The trained model as an ONNX model (inference), as bytes: one input per model input (and
   *  `<input>_lengths` int32 [B] for each over sequences), one output per model output, named as
   *  the model names them. Throws naming a layer that has no ONNX form. */
  async toOnnx(options: ModelOnnxOptions = {}): Promise<Uint8Array> {
    this.requireBuilt("toOnnx");
    // Loaded on first use: the ONNX schema is large, and a model that never exports needs none of it.
    const { functionalToOnnx } = await import("../interop/onnx/export-model.ts");
    return functionalToOnnx(this, options);
  }

  /** toOnnx() written to `path`; resolves to the bytes written. */
  async exportOnnx(path: string, options: ModelOnnxOptions & { fs?: CheckpointFs } = {}): Promise<Uint8Array> {
    const bytes = await this.toOnnx(options);
    // Written through the runtime's storage: a file on Node; IndexedDB (or memory) in a browser.
    await storage(options).writeFileSynced(path, bytes);
    return bytes;
  }

  /** A table of layers (each once), their output shapes, parameter counts and what they read. */
  summary(): string {
    this.requireBuilt("summary");
    const rows: string[][] = [["Layer (type)", "Output Shape", "Param #", "Connected to"]];
    for (const t of this.graph.inputs) rows.push([`${t.inputName} (Input)`, batchShapeString(t.shape!), "0", ""]);
    for (const l of this.graph.layers) {
      const calls = this.graph.nodes.filter((n) => n.layer === l);
      const shapes = calls[0]!.outputs.map((t) => batchShapeString(t.shape!)).join(", ");
      const from = calls.map((n) => n.inputs.map((t) => t.describe()).join(", ")).join("; ");
      rows.push([`${l.name} (${l.type})`, shapes, l.paramCount().toLocaleString("en-US"), from]);
    }
    const outs = this.graph.outputs.map((t, i) => `${this.outNames[i]} ${batchShapeString(t.shape!)}`).join(", ");
    return summaryTable(this.name, rows, [`Total params: ${this.paramCount().toLocaleString("en-US")}`, `Outputs: ${outs}`]);
  }
}

/** A functional model from symbolic inputs and outputs (see input() and layer.apply()). */
export function model(opts: FunctionalOptions): Functional {
  return new Functional(opts);
}
