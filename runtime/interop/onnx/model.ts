// ONNX models as cellc sees them: a chain of recurrent nodes (LSTM, GRU, RNN) whose weights W, R,
// B, P are initializers, or graph inputs whose values the caller passes (ONNX's own test models
// keep them so; an input that also has an initializer takes it as its default). Reads those nodes
// out of .onnx bytes, refusing values a float32 kernel cannot hold, and writes a runnable model
// from ONNX-layout weights (each layer's Y squeezed to [T, B, H] and fed to the next layer; a
// bidirectional node's Y [T, 2, B, H] becomes [T, B, 2H], the two directions concatenated, as
// Keras and PyTorch lay them out). Optionally the model takes per-sample sequence_lens (given
// empty: all T steps) and returns the last node's final states.

import { InteropError } from "../mapping.ts";
import { notFloat32, toForeignTensor, type ForeignTensor, type ForeignTensorInput } from "../tensor.ts";
import {
  AttributeType,
  DataType,
  attribute,
  decodeModel,
  encodeModel,
  floatTensor,
  int64Tensor,
  valueInfo,
  type AttributeProto,
  type IAttributeProto,
  type IModelProto,
  type INodeProto,
  type ITensorProto,
  type ModelProto,
  type TensorProto,
} from "../../../formats/onnx/schema.ts";

export const RNN_OPS = ["LSTM", "GRU", "RNN"] as const;
export type RnnOp = (typeof RNN_OPS)[number];

/** Input positions of each operator (ONNX operator docs); "" marks inputs cellc does not read. */
const INPUT_SLOTS: Record<RnnOp, readonly string[]> = {
  LSTM: ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
  GRU: ["X", "W", "R", "B", "sequence_lens", "initial_h"],
  RNN: ["X", "W", "R", "B", "sequence_lens", "initial_h"],
};

/** Attribute defaults from the operator docs; an imported node must agree with the mapping on these. */
export const ATTRIBUTE_DEFAULTS: Record<RnnOp, Readonly<Record<string, number | string | readonly string[]>>> = {
  LSTM: { direction: "forward", layout: 0, input_forget: 0, activations: ["Sigmoid", "Tanh", "Tanh"] },
  GRU: { direction: "forward", layout: 0, linear_before_reset: 0, activations: ["Sigmoid", "Tanh"] },
  RNN: { direction: "forward", layout: 0, activations: ["Tanh"] },
};

export type AttributeValue = number | string | readonly number[] | readonly string[];

export interface RnnNode {
  readonly op: RnnOp;
  readonly name: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Weight inputs by slot name (W, R, B, P), present when the node names them. */
  readonly weights: Readonly<Record<string, ForeignTensor>>;
}

/** The recurrent nodes of a model, in graph order. `inputs` holds the values of weights that are
 *  graph inputs, by input name (they override an input's default); naming anything else is an error. */
export function readRnnNodes(bytes: Uint8Array, inputs: Readonly<Record<string, ForeignTensorInput>> = {}): RnnNode[] {
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new InteropError(`not a readable ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw new InteropError("the ONNX model has no graph");
  const inits = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t);
  const graphInputs = new Set((graph.input ?? []).map((v) => v.name ?? ""));
  const used = new Set<string>();
  const nodes: RnnNode[] = [];
  (graph.node ?? []).forEach((node, index) => {
    const op = node.opType ?? "";
    if (!(RNN_OPS as readonly string[]).includes(op) || (node.domain ?? "") !== "") return;
    const name = node.name || `${op} node #${index}`;
    const slots = INPUT_SLOTS[op as RnnOp];
    const weights: Record<string, ForeignTensor> = {};
    (node.input ?? []).forEach((inputName, pos) => {
      const slot = slots[pos];
      if (!inputName || !slot || !["W", "R", "B", "P"].includes(slot)) return;
      const what = `${name} input ${slot} ("${inputName}")`;
      if (Object.hasOwn(inputs, inputName) && graphInputs.has(inputName)) {
        used.add(inputName);
        weights[slot] = toForeignTensor(inputs[inputName]!, `inputs["${inputName}"]`);
        return;
      }
      const init = inits.get(inputName);
      if (init) weights[slot] = readTensor(init, what);
      else if (graphInputs.has(inputName)) throw new InteropError(`${what} is a graph input without a default: pass its value, importOnnx(meta, mapping, bytes, { inputs: { "${inputName}": tensor } })`);
      else throw new InteropError(`${what} is neither an initializer nor a graph input (a node computes it), so cellc cannot read its weights`);
    });
    const attributes: Record<string, AttributeValue> = {};
    for (const a of node.attribute ?? []) attributes[a.name ?? ""] = readAttribute(a, name);
    nodes.push({ op: op as RnnOp, name, attributes, weights });
  });
  for (const key of Object.keys(inputs)) {
    if (!used.has(key)) throw new InteropError(`inputs["${key}"] is not a graph input holding a recurrent node's W, R, B or P (the model's inputs: ${[...graphInputs].join(", ")})`);
  }
  return nodes;
}

function readTensor(t: TensorProto, what: string): ForeignTensor {
  const shape = t.dims ?? [];
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new InteropError(`${what}: tensor data stored outside the .onnx file is not supported; save the model with its weights inside`);
  }
  const type = t.dataType ?? 0;
  let data: Float32Array;
  if (type === DataType.FLOAT || type === DataType.DOUBLE) {
    const width = type === DataType.FLOAT ? 4 : 8;
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== size * width) {
        throw new InteropError(`${what}: raw data has ${t.rawData.length} bytes, shape [${shape.join(", ")}] needs ${size * width}`);
      }
      const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      data = float32Values(size, (i) => (width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true)), what);
    } else {
      const list = (type === DataType.FLOAT ? t.floatData : t.doubleData) ?? [];
      if (list.length !== size) {
        throw new InteropError(`${what}: has ${list.length} values, shape [${shape.join(", ")}] needs ${size}`);
      }
      data = float32Values(size, (i) => list[i]!, what);
    }
  } else {
    throw new InteropError(`${what}: element type ${type} is not supported (float or double weights only)`);
  }
  return { shape, data };
}

/** The values as float32, refusing NaN, ±Infinity and doubles beyond float32's range by index. */
function float32Values(size: number, at: (i: number) => number, what: string): Float32Array {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const x = at(i);
    const bad = notFloat32(x);
    if (bad) throw new InteropError(`${what}: value ${i} ${bad}; weights must be finite float32 numbers`);
    data[i] = x;
  }
  return data;
}

function readAttribute(a: AttributeProto, node: string): AttributeValue {
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  switch (a.type) {
    case AttributeType.INT:
      return a.i ?? 0;
    case AttributeType.FLOAT:
      return a.f ?? 0;
    case AttributeType.STRING:
      return text(a.s ?? new Uint8Array());
    case AttributeType.INTS:
      return a.ints ?? [];
    case AttributeType.FLOATS:
      return a.floats ?? [];
    case AttributeType.STRINGS:
      return (a.strings ?? []).map(text);
    default:
      throw new InteropError(`${node}: attribute "${a.name}" has a type (${a.type}) cellc does not read`);
  }
}

export interface RnnLayerSpec {
  readonly op: RnnOp;
  readonly hiddenSize: number;
  /** ONNX-layout weights by slot: W [D, G*H, in], R [D, G*H, H], B [D, 2*G*H], P [D, 3H], where D
   *  (num_directions) is 2 when attributes.direction is "bidirectional", else 1. */
  readonly weights: Readonly<Partial<Record<"W" | "R" | "B" | "P", ForeignTensor>>>;
  readonly attributes?: Readonly<Record<string, number | string | readonly string[]>>;
}

export interface BuildOptions {
  /** Size of X's last axis. */
  readonly inputSize: number;
  /** Default 14. */
  readonly opset?: number;
  readonly producer?: string;
  /** Add an input sequence_lens (int32 [B]) fed to every node; given empty ([0]), every sample
   *  runs all T steps. */
  readonly sequenceLengths?: boolean;
  /** Also output the last node's final states: Y_h (and Y_c for LSTM), [D, B, H]. */
  readonly states?: boolean;
}

/** A model with input X [T, B, inputSize] and output Y [T, B, H] running the layers in sequence. */
export function buildRnnModel(layers: readonly RnnLayerSpec[], options: BuildOptions): Uint8Array {
  if (layers.length === 0) throw new InteropError("an ONNX model needs at least one recurrent layer");
  const initializer: ITensorProto[] = [];
  const node: INodeProto[] = [];
  const axes = "squeeze_axes";
  initializer.push(int64Tensor(axes, [1], [1]));
  const concatShape = "concat_shape";
  if (layers.some((l) => l.attributes?.["direction"] === "bidirectional")) {
    initializer.push(int64Tensor(concatShape, [3], [0, 0, -1]));
  }
  let x = "X";
  const lens = options.sequenceLengths ? sequenceLengths(node, initializer) : "";
  const last = layers.length - 1;
  const lastDirs = layers[last]!.attributes?.["direction"] === "bidirectional" ? 2 : 1;
  layers.forEach((layer, k) => {
    const slots = INPUT_SLOTS[layer.op];
    const inputs = slots.map((slot) => {
      if (slot === "X") return x;
      if (slot === "sequence_lens") return lens;
      const t = layer.weights[slot as "W" | "R" | "B" | "P"];
      if (!t) return "";
      const name = `l${k}_${slot}`;
      initializer.push(writeTensor(name, t));
      return name;
    });
    while (inputs.length > 0 && inputs[inputs.length - 1] === "") inputs.pop();
    const attrs: IAttributeProto[] = [attribute("hidden_size", layer.hiddenSize)];
    for (const [name, value] of Object.entries(layer.attributes ?? {})) attrs.push(writeAttribute(name, value));
    const y = `l${k}_Y`;
    const outputs = [y];
    if (k === last && options.states) outputs.push("Y_h", ...(layer.op === "LSTM" ? ["Y_c"] : []));
    node.push({ opType: layer.op, name: `l${k}_${layer.op}`, input: inputs, output: outputs, attribute: attrs });
    const out = k === last ? "Y" : `l${k}_out`;
    if (layer.attributes?.["direction"] === "bidirectional") {
      // [T, 2, B, H] -> [T, B, 2, H] -> [T, B, 2H]: forward and backward outputs side by side.
      node.push({ opType: "Transpose", name: `l${k}_transpose`, input: [y], output: [`l${k}_tbdh`], attribute: [attribute("perm", { ints: [0, 2, 1, 3] })] });
      node.push({ opType: "Reshape", name: `l${k}_reshape`, input: [`l${k}_tbdh`, concatShape], output: [out] });
    } else {
      node.push({ opType: "Squeeze", name: `l${k}_squeeze`, input: [y, axes], output: [out] });
    }
    x = out;
  });
  const outSize = layers[last]!.hiddenSize * lastDirs;
  const stateInfo = (name: string) => valueInfo(name, [lastDirs, "B", layers[last]!.hiddenSize]);
  const model: IModelProto = {
    irVersion: 8,
    producerName: options.producer ?? "cellc",
    opsetImport: [{ domain: "", version: options.opset ?? 14 }],
    graph: {
      name: "cellc_rnn",
      node,
      initializer,
      input: [valueInfo("X", ["T", "B", options.inputSize]), ...(options.sequenceLengths ? [valueInfo("sequence_lens", ["B"], DataType.INT32)] : [])],
      output: [
        valueInfo("Y", ["T", "B", outSize]),
        ...(options.states ? [stateInfo("Y_h"), ...(layers[last]!.op === "LSTM" ? [stateInfo("Y_c")] : [])] : []),
      ],
    },
  };
  return encodeModel(model);
}

/** The graph input sequence_lens as the nodes' lengths: itself when it holds B values, T for every
 *  sample when it is empty. [given; T...] viewed as [-1, B] has the answer in its first row (a
 *  size that is not a multiple of B fails in the Reshape). */
function sequenceLengths(node: INodeProto[], initializer: ITensorProto[]): string {
  initializer.push(int64Tensor("sl_at0", [1], [0]), int64Tensor("sl_at1", [1], [1]), int64Tensor("sl_at2", [1], [2]), int64Tensor("sl_minus1", [1], [-1]), int64Tensor("sl_first", [], [0]));
  const op = (opType: string, input: string[], output: string, attrs: IAttributeProto[] = []) => node.push({ opType, name: `${output}_node`, input, output: [output], attribute: attrs });
  op("Shape", ["X"], "sl_shape");
  op("Slice", ["sl_shape", "sl_at0", "sl_at1"], "sl_T");
  op("Slice", ["sl_shape", "sl_at1", "sl_at2"], "sl_B");
  op("Cast", ["sl_T"], "sl_T32", [attribute("to", DataType.INT32)]);
  op("Expand", ["sl_T32", "sl_B"], "sl_full");
  op("Concat", ["sequence_lens", "sl_full"], "sl_both", [attribute("axis", 0)]);
  op("Concat", ["sl_minus1", "sl_B"], "sl_rows", [attribute("axis", 0)]);
  op("Reshape", ["sl_both", "sl_rows"], "sl_blocks");
  op("Gather", ["sl_blocks", "sl_first"], "sl_lengths", [attribute("axis", 0)]);
  return "sl_lengths";
}

function writeTensor(name: string, t: ForeignTensor): ITensorProto {
  return floatTensor(name, t.shape, t.data);
}

function writeAttribute(name: string, value: number | string | readonly string[]): IAttributeProto {
  return attribute(name, value);
}
