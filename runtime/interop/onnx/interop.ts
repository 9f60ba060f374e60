// ONNX <-> kernel parameters. Import matches a model's recurrent nodes, in graph order, to the
// layers of a cell or stack, checks each node's operator and attributes against the mapping, and
// unpacks W, R, B, P (initializers, or graph inputs whose values the caller passes); a node's
// layout (0 time-major, 1 batch-major) is free, as the weights are the same. Export packs the
// parameters and writes a runnable model. A node with direction "bidirectional" holds two cells'
// weights, num_directions = 2 first (forward, then reverse): it maps to the two directions of a
// Bidirectional layer over one cell.

import type { KernelMeta, Tensors } from "../../../abi/kernel.ts";
import { pack, unpack } from "../engine.ts";
import { InteropError, type Mapping } from "../mapping.ts";
import { planFor, type LayerPlan } from "../plan.ts";
import type { ForeignTensor, ForeignTensorInput } from "../tensor.ts";
import type { DirectionParams } from "../directions.ts";
import { ATTRIBUTE_DEFAULTS, RNN_OPS, buildRnnModel, readRnnNodes, type AttributeValue, type RnnOp, type RnnNode } from "./model.ts";

/** Attributes cellc checks by value; anything else on a node (clip, activation_alpha, ...) is refused. */
const CHECKED = new Set(["direction", "layout", "input_forget", "linear_before_reset", "activations", "hidden_size"]);

export interface OnnxImportOptions {
  /** Values of the nodes' weight inputs (W, R, B, P) that are graph inputs rather than
   *  initializers, by graph input name; a value given for an input with a default replaces it. */
  inputs?: Readonly<Record<string, ForeignTensorInput>>;
}

export function importOnnx(meta: KernelMeta, mapping: Mapping, bytes: Uint8Array, options: OnnxImportOptions = {}): Tensors {
  const plan = planFor(meta, mapping, "onnx");
  const nodes = readRnnNodes(bytes, options.inputs);
  if (nodes.length !== plan.layers.length) {
    throw new InteropError(
      `the ONNX model has ${nodes.length} recurrent node${nodes.length === 1 ? "" : "s"} (LSTM/GRU/RNN) but ${meta.name} has ${plan.layers.length} layer${plan.layers.length === 1 ? "" : "s"}`,
    );
  }
  const byTensor = new Map<string, ForeignTensor>();
  plan.layers.forEach((layer, k) => {
    const node = nodes[k]!;
    if (node.attributes["direction"] === "bidirectional") {
      throw new InteropError(`${node.name} is bidirectional (two cells' weights); import it with importOnnxBidirectional into a Bidirectional layer`);
    }
    checkNode(node, layer, meta.name);
    for (const t of layer.tensors) {
      const w = node.weights[t.localName];
      if (w) byTensor.set(t.name, w);
    }
    for (const slot of Object.keys(node.weights)) {
      if (!layer.tensors.some((t) => t.localName === slot)) {
        throw new InteropError(`${node.name}: input ${slot} has no place in ${meta.name} (its mapping has no "${slot}" tensor)`);
      }
    }
  });
  return unpack(meta, plan, (t) => byTensor.get(t.name));
}

function checkNode(node: RnnNode, layer: LayerPlan, kernel: string, direction?: string): void {
  const op = layer.op as RnnOp;
  if (!(RNN_OPS as readonly string[]).includes(op)) throw new InteropError(`the ONNX mapping names op "${layer.op}"; cellc reads ${RNN_OPS.join(", ")}`);
  if (node.op !== op) throw new InteropError(`${node.name} is an ${node.op} node but layer ${layer.layer} of ${kernel} maps to ${op}`);
  const expected: Record<string, AttributeValue> = { ...ATTRIBUTE_DEFAULTS[op], ...layer.attributes, ...(direction === undefined ? {} : { direction }) };
  for (const name of Object.keys(node.attributes)) {
    if (!CHECKED.has(name)) throw new InteropError(`${node.name}: attribute "${name}" is not supported by cellc's ${kernel}`);
  }
  // Batch-major (1) or time-major (0) data around the same weights: either imports.
  const layout = node.attributes["layout"];
  if (layout !== undefined && layout !== 0 && layout !== 1) throw new InteropError(`${node.name}: attribute layout is ${show(layout)}; ONNX defines 0 and 1`);
  delete expected["layout"];
  for (const [name, want] of Object.entries(expected)) {
    const got = node.attributes[name] ?? ATTRIBUTE_DEFAULTS[op][name];
    if (got === undefined || !sameValue(got, want)) {
      throw new InteropError(`${node.name}: attribute ${name} is ${show(got)} but ${kernel} needs ${show(want)}`);
    }
  }
  const r = layer.tensors.find((t) => t.localName === "R");
  const hidden = node.attributes["hidden_size"];
  if (r && hidden !== undefined && hidden !== r.cols) {
    throw new InteropError(`${node.name}: hidden_size is ${show(hidden)} but ${kernel}'s recurrent weights have ${r.cols} columns`);
  }
}

export interface OnnxExportOptions {
  /** Default 14. */
  opset?: number;
  /** Add an input sequence_lens (int32 [B], each sample's length). */
  sequenceLengths?: boolean;
  /** Also output the final states Y_h (and Y_c for an LSTM), [num_directions, B, H]. */
  states?: boolean;
}

function buildOptions(inputSize: number, o: OnnxExportOptions) {
  return {
    inputSize,
    ...(o.opset === undefined ? {} : { opset: o.opset }),
    ...(o.sequenceLengths ? { sequenceLengths: true } : {}),
    ...(o.states ? { states: true } : {}),
  };
}

/** A runnable .onnx model (input X [T, B, I], output Y [T, B, H]) holding `params`. */
export function exportOnnx(meta: KernelMeta, mapping: Mapping, params: Tensors, options: OnnxExportOptions = {}): Uint8Array {
  const plan = planFor(meta, mapping, "onnx");
  const packed = pack(meta, plan, params);
  const byName = new Map(plan.tensors.map((t, i) => [t.name, packed[i]!]));
  const layers = plan.layers.map((layer) => {
    const weights: Partial<Record<"W" | "R" | "B" | "P", ForeignTensor>> = {};
    for (const t of layer.tensors) {
      if (!["W", "R", "B", "P"].includes(t.localName)) {
        throw new InteropError(`${plan.source}: ONNX tensor "${t.localName}" is not one of W, R, B, P`);
      }
      weights[t.localName as "W" | "R" | "B" | "P"] = byName.get(t.name)!;
    }
    const r = layer.tensors.find((t) => t.localName === "R");
    const w = layer.tensors.find((t) => t.localName === "W");
    if (!r || !w) throw new InteropError(`${plan.source}: an ONNX layout needs W and R tensors`);
    return { op: layer.op as RnnOp, hiddenSize: r.cols, weights, attributes: layer.attributes, inputSize: w.cols };
  });
  return buildRnnModel(layers, buildOptions(layers[0]!.inputSize, options));
}

function singleCell(meta: KernelMeta, what: string): void {
  if (meta.kind === "stack") {
    throw new InteropError(`${meta.name} is a stack; a bidirectional ${what} layer is one cell per direction (for several layers, use one Bidirectional layer per cell)`);
  }
}

/** The two directions of a bidirectional LSTM / GRU / RNN node (W [2, G*H, I], ...) as the
 *  forward and backward parameters of one cell. */
export function importOnnxBidirectional(meta: KernelMeta, mapping: Mapping, bytes: Uint8Array, options: OnnxImportOptions = {}): DirectionParams {
  singleCell(meta, "ONNX");
  const plan = planFor(meta, mapping, "onnx");
  const nodes = readRnnNodes(bytes, options.inputs);
  if (nodes.length !== 1) throw new InteropError(`the ONNX model has ${nodes.length} recurrent nodes; a bidirectional ${meta.name} reads exactly one`);
  const node = nodes[0]!;
  const layer = plan.layers[0]!;
  checkNode(node, layer, meta.name, "bidirectional");
  for (const slot of Object.keys(node.weights)) {
    if (!layer.tensors.some((t) => t.localName === slot)) throw new InteropError(`${node.name}: input ${slot} has no place in ${meta.name} (its mapping has no "${slot}" tensor)`);
  }
  const direction = (d: 0 | 1): Tensors =>
    unpack(meta, plan, (t) => {
      const w = node.weights[t.localName];
      if (!w) return undefined;
      if (w.shape[0] !== 2) throw new InteropError(`${node.name}: input ${t.localName} has shape [${w.shape.join(", ")}]; a bidirectional node's weights start with num_directions 2`);
      const per = w.data.length / 2;
      return { shape: [1, ...w.shape.slice(1)], data: w.data.subarray(d * per, (d + 1) * per) };
    });
  return { forward: direction(0), backward: direction(1) };
}

/** A runnable bidirectional .onnx model (X [T, B, I] -> Y [T, B, 2H], forward outputs then backward). */
export function exportOnnxBidirectional(meta: KernelMeta, mapping: Mapping, params: DirectionParams, options: OnnxExportOptions = {}): Uint8Array {
  singleCell(meta, "ONNX");
  const plan = planFor(meta, mapping, "onnx");
  const f = pack(meta, plan, params.forward);
  const b = pack(meta, plan, params.backward);
  const layer = plan.layers[0]!;
  const weights: Partial<Record<"W" | "R" | "B" | "P", ForeignTensor>> = {};
  layer.tensors.forEach((t, i) => {
    if (!["W", "R", "B", "P"].includes(t.localName)) throw new InteropError(`${plan.source}: ONNX tensor "${t.localName}" is not one of W, R, B, P`);
    const data = new Float32Array(2 * t.size);
    data.set(f[i]!.data, 0);
    data.set(b[i]!.data, t.size);
    weights[t.localName as "W" | "R" | "B" | "P"] = { shape: [2, ...t.shape.slice(1)], data };
  });
  const r = layer.tensors.find((t) => t.localName === "R");
  const w = layer.tensors.find((t) => t.localName === "W");
  if (!r || !w) throw new InteropError(`${plan.source}: an ONNX layout needs W and R tensors`);
  const spec = { op: layer.op as RnnOp, hiddenSize: r.cols, weights, attributes: { ...layer.attributes, direction: "bidirectional" } };
  return buildRnnModel([spec], buildOptions(w.cols, options));
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => norm(x) === norm(b[i]));
  }
  return norm(a as number | string) === norm(b as number | string);
}

/** ONNX activation names are case-sensitive in the spec, but exporters vary; compare loosely. */
function norm(v: number | string): number | string {
  return typeof v === "string" ? v.toLowerCase() : v;
}

function show(v: AttributeValue | undefined): string {
  return v === undefined ? "absent" : JSON.stringify(v);
}
