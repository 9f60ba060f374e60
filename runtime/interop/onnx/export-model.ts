// A trained Sequential or Functional model as one .onnx file. Layers in order: Embedding (Gather; the model's
// input is then int64 ids [B, T]), Dropout (identity at inference), Dense (MatMul, bias and its
// activation), Recurrent layers of any cell (the cell's own ONNX form, a Scan from the compiler's
// ONNX backend, spliced in with the layer's weights; its last valid output or every output) and
// Bidirectional wrappers (the backward copy reads each sequence reversed within its length, as the
// runtime does, with ReverseSequence), and in functional models merges (Concatenate, Add,
// Multiply, Average) and recurrent calls that take initial states or return final states.
// Sequential: inputs `input` and, for models over sequences, `lengths` int32 [B] (optional);
// output named after the last layer, as Sequential.outputNames. Functional: see functionalToOnnx.

import { Bidirectional } from "../../layers/bidirectional.ts";
import { Dense } from "../../layers/dense.ts";
import { Dropout } from "../../layers/dropout.ts";
import { Embedding } from "../../layers/embedding.ts";
import type { Layer, Shape } from "../../layers/layer.ts";
import { Merge } from "../../layers/merge.ts";
import { Recurrent } from "../../layers/recurrent.ts";
import type { Graph } from "../../functional/graph.ts";
import type { SymbolicTensor } from "../../functional/symbolic.ts";
import { InteropError } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { exportOnnx as exportFusedOnnx } from "./interop.ts";
import { attribute, DataType, encodeModel, floatTensor, int64Tensor, valueInfo, type AttrValue, type INodeProto, type ITensorProto, type IValueInfoProto } from "../../../formats/onnx/schema.ts";
import { prefixedGraph, spliceCell } from "./splice.ts";

/** What the exporter reads of a Sequential model (runtime/model.ts, which imports this file
 *  lazily: the exporter names the model by what it reads, not by its class). */
export interface SequentialModel {
  readonly name: string;
  readonly built: boolean;
  readonly layers: readonly Layer[];
  readonly inputShape: Shape | undefined;
  readonly outputShape: Shape | undefined;
  readonly outputNames: readonly string[];
}

/** What the exporter reads of a Functional model (runtime/functional/model.ts). */
export interface FunctionalModel {
  readonly name: string;
  readonly built: boolean;
  readonly graph: Graph;
  readonly outputNames: readonly string[];
}

export interface ModelOnnxOptions {
  /** For a model over sequences: take per-sample lengths, int32 [B] (default true). Without it
   *  every sample is T steps long. */
  lengths?: boolean;
  /** Model producer written in the file (default "cellc"). */
  producer?: string;
  /** Recurrent layers (by name; a bidirectional layer's copies are `<name>/forward` and
   *  `<name>/backward`) written as ONNX's own LSTM / GRU / RNN operators through their cell's
   *  mapping (loadMapping("lstm.map.json")) instead of a Scan. Such a call takes no initial states. */
  fused?: Readonly<Record<string, Mapping>>;
}

/** Nodes, initializers and unique names of the model graph. */
class ModelGraph {
  readonly nodes: INodeProto[] = [];
  readonly inits: ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly ints = new Map<string, string>();

  /** Names made elsewhere (a spliced cell's) that must not be made again. */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.used.add(n);
  }

  name(hint: string): string {
    let n = hint;
    for (let i = 1; this.used.has(n); i++) n = `${hint}_${i}`;
    this.used.add(n);
    return n;
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const o = out ?? this.name(op.toLowerCase());
    this.nodes.push({ opType: op, name: this.name(`${op}_node`), input: [...inputs], output: [o], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return o;
  }

  int64(v: readonly number[], scalar = false): string {
    const key = `${scalar ? "s" : "v"}${v.join(",")}`;
    let n = this.ints.get(key);
    if (!n) {
      n = this.name(`ints_${v.join("_").replace(/-/g, "m")}`);
      this.inits.push(int64Tensor(n, scalar ? [] : [v.length], v));
      this.ints.set(key, n);
    }
    return n;
  }

  float(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    const n = this.name(name);
    this.inits.push(floatTensor(n, dims, data));
    return n;
  }
}

const noForm = (l: Layer, why: string) => new InteropError(`layer '${l.name}' (${l.type}) has no ONNX form: ${why}`);

/** A model input's time axis: its step count T (int64 [1]) and per-sample lengths (int32 and int64 [B]). */
interface Timing {
  /** The time axis's name in the graph's shapes (dim_param). */
  axis: string;
  T1: string;
  len32: string;
  len64: string;
}

class Exporter {
  readonly g = new ModelGraph();
  B1 = "";
  constructor(private readonly o: ModelOnnxOptions) {}

  /** A batch-sized shape [B, ...dims] (int64 vector). */
  batchShape(dims: readonly number[]): string {
    return this.g.op("Concat", [this.B1, this.g.int64(dims)], { axis: 0 });
  }

  /** Runs a recurrent layer's cell over xTB [T, B, F] (from initial states [B, n] when given);
   *  returns its first output [T, B, H] and its final states [B, n]. */
  async cell(l: Recurrent, xTB: string, t: Timing, given?: readonly string[]): Promise<{ y: string; finals: string[] }> {
    if (l.stateful) throw noForm(l, "it is stateful (it carries state between calls); export a copy that is not");
    const mapping = this.o.fused?.[l.name];
    if (mapping) return this.fusedCell(l, mapping, xTB, t, given);
    const k = l.kernel!;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await l.onnxCell();
    } catch (e) {
      throw noForm(l, (e as Error).message);
    }
    if (!bytes) throw noForm(l, "its kernel was given as an object, without the spec it came from; make the layer with rnn({ spec }) (or pass the onnx option)");
    const meta = k.meta;
    const g = this.g;
    const c = spliceCell(bytes, meta, l.kernelParams(), `${l.name}/`);
    g.reserve([...c.inputs, c.lengths, ...c.initial, ...c.initializers.map((t) => t.name!), ...c.nodes.flatMap((n) => [...(n.output ?? []), n.name ?? ""])]);
    let off = 0;
    meta.inputs.forEach((v, i) => {
      g.op("Slice", [xTB, g.int64([off]), g.int64([off + v.size]), g.int64([-1])], {}, c.inputs[i]);
      off += v.size;
    });
    g.op("Identity", [t.len32], {}, c.lengths);
    meta.states.forEach((s, i) => {
      if (given) {
        g.op("Identity", [given[i]!], {}, c.initial[i]);
        return;
      }
      const init = l.initialState?.[s.name];
      if (init && init.length !== s.size) throw noForm(l, `its initialState '${s.name}' is per sample; an exported model starts every sample from one state [${s.size}]`);
      const v = init ? g.float(`${l.name}/initial_${s.name}`, [s.size], init) : g.float(`${l.name}/zeros_${s.name}`, [], [0]);
      g.op("Expand", [v, this.batchShape([s.size])], {}, c.initial[i]);
    });
    g.nodes.push(...c.nodes);
    g.inits.push(...c.initializers);
    return { y: c.outputs[0]!, finals: c.finals };
  }

  /** A standard cell as ONNX's LSTM / GRU / RNN node(s) (runtime/interop/onnx): X [T, B, F] and
   *  sequence_lens in, Y [T, B, H] and the last node's Y_h (Y_c) [1, B, H] out. */
  fusedCell(l: Recurrent, mapping: Mapping, xTB: string, t: Timing, given: readonly string[] | undefined): { y: string; finals: string[] } {
    const g = this.g;
    const meta = l.kernel!.meta;
    if (given) throw noForm(l, "a fused LSTM/GRU/RNN export takes no initial states (leave the layer out of `fused`)");
    if (l.initialState) throw noForm(l, "a fused LSTM/GRU/RNN export starts from zero states, but the layer has an initialState");
    let bytes: Uint8Array;
    try {
      bytes = exportFusedOnnx(meta, mapping, l.kernelParams(), { sequenceLengths: true, states: true, opset: 17 });
    } catch (e) {
      throw noForm(l, `as a fused ONNX operator: ${(e as Error).message}`);
    }
    const prefix = `${l.name}/`;
    const graph = prefixedGraph(bytes, prefix, `the fused ONNX form of layer '${l.name}'`);
    g.reserve([`${prefix}X`, `${prefix}sequence_lens`, ...(graph.node ?? []).flatMap((n) => [...(n.output ?? []), n.name ?? ""]), ...(graph.initializer ?? []).map((i) => i.name!)]);
    g.op("Identity", [xTB], {}, `${prefix}X`);
    g.op("Identity", [t.len32], {}, `${prefix}sequence_lens`);
    g.nodes.push(...(graph.node ?? []));
    g.inits.push(...(graph.initializer ?? []));
    // The operator's final states, [num_directions = 1, B, H], by the spec's state names.
    const outs = new Map((graph.output ?? []).map((o) => [o.name!.slice(prefix.length), o.name!]));
    const finals = meta.states.map((s) => {
      const name = meta.states.length === 1 ? "Y_h" : s.name === "h" ? "Y_h" : s.name === "c" ? "Y_c" : undefined;
      const out = name && outs.get(name);
      return out ? g.op("Squeeze", [out, g.int64([0])]) : "";
    });
    if (l.returnState && (finals.includes("") || mapping.kind === "stack")) throw noForm(l, "its fused form's final states (Y_h, Y_c of the last node) are not its cell's states; leave it out of `fused` to return them");
    return { y: `${prefix}Y`, finals };
  }

  /** [T, B, H] -> each sample's output at its last valid step, [B, H] (zeros for length 0). */
  lastValid(y: string, t: Timing): string {
    const g = this.g;
    const steps = g.op("Unsqueeze", [g.op("Range", [g.int64([0], true), g.op("Squeeze", [t.T1, g.int64([0])]), g.int64([1], true)]), g.int64([1, 2])]);
    const last = g.op("Reshape", [g.op("Sub", [t.len64, g.int64([1], true)]), g.int64([1, -1, 1])]);
    const pick = g.op("Cast", [g.op("Equal", [steps, last])], { to: DataType.FLOAT });
    return g.op("ReduceSum", [g.op("Mul", [y, pick]), g.int64([0])], { keepdims: 0 });
  }

  /** A recurrent layer's output from its [T, B, H] sequence: [B, T, H] or the last valid step. */
  finish(l: Recurrent, yTB: string, t: Timing): string {
    return l.returnSequences ? this.g.op("Transpose", [yTB], { perm: { ints: [1, 0, 2] } }) : this.lastValid(yTB, t);
  }

  /** One call of a layer: its inputs' names (the first one's time axis is `t`) -> its outputs'. */
  async call(l: Layer, xs: readonly string[], t: Timing | undefined): Promise<string[]> {
    const g = this.g;
    const x = xs[0]!;
    const needTime = (): Timing => {
      if (!t) throw noForm(l, "its input has no time axis");
      return t;
    };
    if (l instanceof Merge) {
      switch (l.mode) {
        case "concat":
          return [g.op("Concat", xs, { axis: -1 })];
        case "sum":
          return [xs.slice(1).reduce((a, b) => g.op("Add", [a, b]), x)];
        case "mul":
          return [xs.slice(1).reduce((a, b) => g.op("Mul", [a, b]), x)];
        case "ave":
          return [g.op("Mul", [xs.slice(1).reduce((a, b) => g.op("Add", [a, b]), x), g.float("scale", [], [1 / xs.length])])];
      }
    }
    if (l instanceof Recurrent) {
      const tt = needTime();
      const xTB = g.op("Transpose", [x], { perm: { ints: [1, 0, 2] } });
      const r = await this.cell(l, xTB, tt, xs.length > 1 ? xs.slice(1) : undefined);
      return [this.finish(l, r.y, tt), ...(l.returnState ? r.finals : [])];
    }
    if (l instanceof Bidirectional) return this.bidirectional(l, xs, t);
    if (xs.length !== 1) throw noForm(l, `cellc exports calls of it with one input, not ${xs.length}`);
    return [await this.layer(l, x, t)];
  }

  /** A bidirectional call: the forward copy over x, the backward copy over x reversed within each
   *  sample's length; [merged output, ...forward final states, ...backward final states] (the
   *  states with returnState), from initial states [...forward, ...backward] when given. */
  async bidirectional(l: Bidirectional, xs: readonly string[], t: Timing | undefined): Promise<string[]> {
    const g = this.g;
    if (!t) throw noForm(l, "its input has no time axis");
    const nf = xs.length > 1 ? (xs.length - 1) / 2 : 0;
    const xTB = g.op("Transpose", [xs[0]!], { perm: { ints: [1, 0, 2] } });
    const fr = await this.cell(l.forwardLayer, xTB, t, nf ? xs.slice(1, 1 + nf) : undefined);
    const f = this.finish(l.forwardLayer, fr.y, t);
    const reverse = (v: string) => g.op("ReverseSequence", [v, t.len64], { batch_axis: 1, time_axis: 0 });
    const br = await this.cell(l.backwardLayer, reverse(xTB), t, nf ? xs.slice(1 + nf) : undefined);
    const b = l.returnSequences ? this.finish(l.backwardLayer, reverse(br.y), t) : this.lastValid(br.y, t);
    let y: string;
    switch (l.mergeMode) {
      case "concat":
        y = g.op("Concat", [f, b], { axis: -1 });
        break;
      case "sum":
        y = g.op("Add", [f, b]);
        break;
      case "mul":
        y = g.op("Mul", [f, b]);
        break;
      case "ave":
        y = g.op("Mul", [g.op("Add", [f, b]), g.float("half", [], [0.5])]);
        break;
    }
    return l.returnState ? [y, ...fr.finals, ...br.finals] : [y];
  }

  async layer(l: Layer, x: string, t: Timing | undefined): Promise<string> {
    const g = this.g;
    if (l instanceof Dropout) return x;
    if (l instanceof Embedding) {
      const [table] = l.params();
      return g.op("Gather", [g.float(`${l.name}/embeddings`, table!.shape, table!.value), x], { axis: 0 });
    }
    if (l instanceof Dense) {
      const [W, b] = l.params();
      let y = g.op("MatMul", [x, g.op("Transpose", [g.float(`${l.name}/W`, W!.shape, W!.value)], { perm: { ints: [1, 0] } })]);
      if (b) y = g.op("Add", [y, g.float(`${l.name}/b`, b.shape, b.value)]);
      switch (l.activation) {
        case "linear":
          return y;
        case "relu":
          return g.op("Relu", [y]);
        case "sigmoid":
          return g.op("Sigmoid", [y]);
        case "tanh":
          return g.op("Tanh", [y]);
        case "softmax":
          return g.op("Softmax", [y], { axis: -1 });
      }
    }
    if (l instanceof Recurrent) return (await this.call(l, [x], t))[0]!;
    if (l instanceof Bidirectional) return (await this.bidirectional(l, [x], t))[0]!;
    throw noForm(l, "cellc exports Embedding, Dropout, Dense, Recurrent and Bidirectional layers");
  }

  /** A graph input of a per-sample shape (null: the time axis), with its lengths input when it
   *  has a time axis and lengths are asked for. */
  input(name: string, perSample: readonly (number | null)[], timed: boolean, ids: boolean, lengths: string | undefined, inputs: IValueInfoProto[], axis = "T"): { x: string; t?: Timing } {
    const g = this.g;
    const x = g.name(name);
    inputs.push(valueInfo(x, ["B", ...dims(perSample, axis)], ids ? DataType.INT64 : DataType.FLOAT));
    const shape = g.op("Shape", [x]);
    if (!this.B1) this.B1 = g.op("Slice", [shape, g.int64([0]), g.int64([1])]);
    if (!timed || perSample[0] !== null) return { x };
    const T1 = g.op("Slice", [shape, g.int64([1]), g.int64([2])]);
    if (lengths !== undefined) {
      const len32 = g.name(lengths);
      inputs.push(valueInfo(len32, ["B"], DataType.INT32));
      return { x, t: { axis, T1, len32, len64: g.op("Cast", [len32], { to: DataType.INT64 }) } };
    }
    const len64 = g.op("Expand", [T1, this.B1]);
    return { x, t: { axis, T1, len32: g.op("Cast", [len64], { to: DataType.INT32 }), len64 } };
  }

  encode(name: string, inputs: IValueInfoProto[], outputs: { name: string; value: string; shape: readonly (number | null)[]; axis?: string }[], o: ModelOnnxOptions): Uint8Array {
    const g = this.g;
    const infos = outputs.map((out) => {
      const n = g.name(out.name);
      g.op("Identity", [out.value], {}, n);
      return valueInfo(n, ["B", ...dims(out.shape, out.axis)]);
    });
    return encodeModel({
      irVersion: 8,
      producerName: o.producer ?? "cellc",
      opsetImport: [{ domain: "", version: 17 }],
      graph: { name, node: g.nodes, initializer: g.inits, input: inputs, output: infos },
    });
  }

  async sequential(m: SequentialModel, o: ModelOnnxOptions): Promise<Uint8Array> {
    if (!m.built) throw new InteropError("exportOnnx: the model is not built (fit, build or predict it first)");
    const inputs: IValueInfoProto[] = [];
    const timed = m.layers.some((l) => l.sequenceInput);
    const { x, t } = this.input("input", m.inputShape!, timed, m.layers[0] instanceof Embedding, (o.lengths ?? true) ? "lengths" : undefined, inputs);
    let cur = x;
    for (const l of m.layers) cur = await this.layer(l, cur, t);
    return this.encode(m.name, inputs, [{ name: m.outputNames[0]!, value: cur, shape: m.outputShape!, ...(t ? { axis: t.axis } : {}) }], o);
  }

  async functional(m: FunctionalModel, o: ModelOnnxOptions): Promise<Uint8Array> {
    if (!m.built) throw new InteropError("exportOnnx: the model is not built (fit, build or predict it first)");
    const graph = m.graph;
    const inputs: IValueInfoProto[] = [];
    const value = new Map<SymbolicTensor, string>();
    const timing = new Map<SymbolicTensor, Timing | undefined>();
    // Inputs over sequences of their own lengths: each time axis is named after its input, so the
    // graph does not tell a runtime that two of them are equal.
    const sequences = graph.inputs.filter((t) => t.shape![0] === null).length;
    for (const t of graph.inputs) {
      const readers = graph.nodes.filter((n) => n.inputs.includes(t));
      const ids = readers.length > 0 && readers.every((n) => n.layer instanceof Embedding && n.inputs[0] === t);
      const r = this.input(t.inputName!, t.shape!, t.shape![0] === null, ids, (o.lengths ?? true) ? `${t.inputName}_lengths` : undefined, inputs, sequences > 1 ? `T_${t.inputName}` : "T");
      value.set(t, r.x);
      timing.set(t, r.t);
    }
    for (const n of graph.nodes) {
      const t = n.inputs.map((i) => timing.get(i)).find((v) => v !== undefined);
      const outs = await this.call(n.layer, n.inputs.map((i) => value.get(i)!), n.layer instanceof Merge ? t : timing.get(n.inputs[0]!));
      n.outputs.forEach((out, i) => {
        value.set(out, outs[i]!);
        timing.set(out, out.shape!.includes(null) ? t : undefined);
      });
    }
    return this.encode(
      m.name,
      inputs,
      graph.outputs.map((t, i) => {
        const axis = timing.get(t)?.axis;
        return { name: m.outputNames[i]!, value: value.get(t)!, shape: t.shape!, ...(axis ? { axis } : {}) };
      }),
      o,
    );
  }
}

/** A per-sample shape's dims for a value info: a null first axis is the time axis (`time`). */
const dims = (perSample: readonly (number | null)[], time = "T") => perSample.map((d, i) => (d === null ? (i === 0 ? time : `d${i}`) : d));

/** A built Functional model as .onnx bytes: one input per model input (and `<input>_lengths` for
 *  those over sequences), one output per model output, named as the model names them. Calls of
 *  recurrent layers may take initial states and return their final states. */
export async function functionalToOnnx(m: FunctionalModel, options: ModelOnnxOptions = {}): Promise<Uint8Array> {
  return new Exporter(options).functional(m, options);
}

/** A built Sequential model as .onnx bytes (see the header for what it holds). */
export async function sequentialToOnnx(m: SequentialModel, options: ModelOnnxOptions = {}): Promise<Uint8Array> {
  return new Exporter(options).sequential(m, options);
}
