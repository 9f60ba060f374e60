// A trained Sequential model as one .onnx file. Layers in order: Embedding (Gather; the model's
// input is then int64 ids [B, T]), Dropout (identity at inference), Dense (MatMul, bias and its
// activation), Recurrent layers of any cell (the cell's own ONNX form, a Scan from the compiler's
// ONNX backend, spliced in with the layer's weights; its last valid output or every output) and
// Bidirectional wrappers (the backward copy reads each sequence reversed within its length, as the
// runtime does, with ReverseSequence). Inputs: `input` and, for models over sequences, `lengths`
// int32 [B] (optional). Output: named after the last layer, as Sequential.outputNames.

import { Bidirectional } from "../../layers/bidirectional.ts";
import { Dense } from "../../layers/dense.ts";
import { Dropout } from "../../layers/dropout.ts";
import { Embedding } from "../../layers/embedding.ts";
import type { Layer } from "../../layers/layer.ts";
import { Recurrent } from "../../layers/recurrent.ts";
import type { Sequential } from "../../model.ts";
import { InteropError } from "../mapping.ts";
import { attribute, DataType, encodeModel, floatTensor, int64Tensor, valueInfo, type AttrValue, type INodeProto, type ITensorProto, type IValueInfoProto } from "./schema.ts";
import { spliceCell } from "./splice.ts";

export interface ModelOnnxOptions {
  /** For a model over sequences: take per-sample lengths, int32 [B] (default true). Without it
   *  every sample is T steps long. */
  lengths?: boolean;
  /** Model producer written in the file (default "cellc"). */
  producer?: string;
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

class Exporter {
  readonly g = new ModelGraph();
  T1 = "";
  B1 = "";
  len32 = "";
  len64 = "";

  /** A batch-sized shape [B, ...dims] (int64 vector). */
  batchShape(dims: readonly number[]): string {
    return this.g.op("Concat", [this.B1, this.g.int64(dims)], { axis: 0 });
  }

  /** Runs a recurrent layer's cell over xTB [T, B, F]; returns its first output [T, B, H]. */
  async cell(l: Recurrent, xTB: string): Promise<string> {
    if (l.stateful) throw noForm(l, "it is stateful (it carries state between calls); export a copy that is not");
    const k = l.kernel!;
    const bytes = await l.onnxCell();
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
    g.op("Identity", [this.len32], {}, c.lengths);
    meta.states.forEach((s, i) => {
      const given = l.initialState?.[s.name];
      if (given && given.length !== s.size) throw noForm(l, `its initialState '${s.name}' is per sample; an exported model starts every sample from one state [${s.size}]`);
      const v = given ? g.float(`${l.name}/initial_${s.name}`, [s.size], given) : g.float(`${l.name}/zeros_${s.name}`, [], [0]);
      g.op("Expand", [v, this.batchShape([s.size])], {}, c.initial[i]);
    });
    g.nodes.push(...c.nodes);
    g.inits.push(...c.initializers);
    return c.outputs[0]!;
  }

  /** [T, B, H] -> each sample's output at its last valid step, [B, H] (zeros for length 0). */
  lastValid(y: string): string {
    const g = this.g;
    const steps = g.op("Unsqueeze", [g.op("Range", [g.int64([0], true), g.op("Squeeze", [this.T1, g.int64([0])]), g.int64([1], true)]), g.int64([1, 2])]);
    const last = g.op("Reshape", [g.op("Sub", [this.len64, g.int64([1], true)]), g.int64([1, -1, 1])]);
    const pick = g.op("Cast", [g.op("Equal", [steps, last])], { to: DataType.FLOAT });
    return g.op("ReduceSum", [g.op("Mul", [y, pick]), g.int64([0])], { keepdims: 0 });
  }

  /** A recurrent layer's output from its [T, B, H] sequence: [B, T, H] or the last valid step. */
  finish(l: Recurrent, yTB: string): string {
    return l.returnSequences ? this.g.op("Transpose", [yTB], { perm: { ints: [1, 0, 2] } }) : this.lastValid(yTB);
  }

  async layer(l: Layer, x: string): Promise<string> {
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
    if (l instanceof Recurrent) {
      const xTB = g.op("Transpose", [x], { perm: { ints: [1, 0, 2] } });
      return this.finish(l, await this.cell(l, xTB));
    }
    if (l instanceof Bidirectional) {
      const xTB = g.op("Transpose", [x], { perm: { ints: [1, 0, 2] } });
      const f = this.finish(l.forwardLayer, await this.cell(l.forwardLayer, xTB));
      const reverse = (t: string) => g.op("ReverseSequence", [t, this.len64], { batch_axis: 1, time_axis: 0 });
      const yb = await this.cell(l.backwardLayer, reverse(xTB));
      const b = l.returnSequences ? this.finish(l.backwardLayer, reverse(yb)) : this.lastValid(yb);
      switch (l.mergeMode) {
        case "concat":
          return g.op("Concat", [f, b], { axis: -1 });
        case "sum":
          return g.op("Add", [f, b]);
        case "mul":
          return g.op("Mul", [f, b]);
        case "ave":
          return g.op("Mul", [g.op("Add", [f, b]), g.float("half", [], [0.5])]);
      }
    }
    throw noForm(l, "cellc exports Embedding, Dropout, Dense, Recurrent and Bidirectional layers");
  }

  async model(m: Sequential, o: ModelOnnxOptions): Promise<Uint8Array> {
    if (!m.built) throw new InteropError("exportOnnx: the model is not built (fit, build or predict it first)");
    const g = this.g;
    const perSample = m.inputShape!;
    const ids = m.layers[0] instanceof Embedding;
    const timed = perSample.length >= 1 && m.layers.some((l) => l.sequenceInput);
    const inputs: IValueInfoProto[] = [];
    const x = g.name("input");
    inputs.push(valueInfo(x, ["B", ...perSample.map((d, i) => (d === null ? (i === 0 ? "T" : `d${i}`) : d))], ids ? DataType.INT64 : DataType.FLOAT));
    const shape = g.op("Shape", [x]);
    this.B1 = g.op("Slice", [shape, g.int64([0]), g.int64([1])]);
    if (timed) {
      this.T1 = g.op("Slice", [shape, g.int64([1]), g.int64([2])]);
      if (o.lengths ?? true) {
        this.len32 = g.name("lengths");
        inputs.push(valueInfo(this.len32, ["B"], DataType.INT32));
        this.len64 = g.op("Cast", [this.len32], { to: DataType.INT64 });
      } else {
        this.len64 = g.op("Expand", [this.T1, this.B1]);
        this.len32 = g.op("Cast", [this.len64], { to: DataType.INT32 });
      }
    }
    let cur = x;
    for (const l of m.layers) cur = await this.layer(l, cur);
    const outName = g.name(m.outputNames[0]!);
    g.op("Identity", [cur], {}, outName);
    const out = m.outputShape!;
    return encodeModel({
      irVersion: 8,
      producerName: o.producer ?? "cellc",
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: m.name,
        node: g.nodes,
        initializer: g.inits,
        input: inputs,
        output: [valueInfo(outName, ["B", ...out.map((d, i) => (d === null ? (i === 0 ? "T" : `d${i}`) : d))])],
      },
    });
  }
}

/** A built Sequential model as .onnx bytes (see the header for what it holds). */
export async function sequentialToOnnx(m: Sequential, options: ModelOnnxOptions = {}): Promise<Uint8Array> {
  return new Exporter().model(m, options);
}
