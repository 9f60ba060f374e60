// ONNX <-> kernel parameters. Import matches a model's recurrent nodes, in graph order, to the
// layers of a cell or stack, checks each node's operator and attributes against the mapping, and
// unpacks W, R, B, P; export packs the parameters and writes a runnable model.

import type { KernelMeta, Tensors } from "../../../abi/kernel.ts";
import { pack, unpack } from "../engine.ts";
import { InteropError, type Mapping } from "../mapping.ts";
import { planFor, type LayerPlan } from "../plan.ts";
import type { ForeignTensor } from "../tensor.ts";
import { ATTRIBUTE_DEFAULTS, RNN_OPS, buildRnnModel, readRnnNodes, type AttributeValue, type RnnOp, type RnnNode } from "./model.ts";

/** Attributes cellc checks by value; anything else on a node (clip, activation_alpha, ...) is refused. */
const CHECKED = new Set(["direction", "layout", "input_forget", "linear_before_reset", "activations", "hidden_size"]);

export function importOnnx(meta: KernelMeta, mapping: Mapping, bytes: Uint8Array): Tensors {
  const plan = planFor(meta, mapping, "onnx");
  const nodes = readRnnNodes(bytes);
  if (nodes.length !== plan.layers.length) {
    throw new InteropError(
      `the ONNX model has ${nodes.length} recurrent node${nodes.length === 1 ? "" : "s"} (LSTM/GRU/RNN) but ${meta.name} has ${plan.layers.length} layer${plan.layers.length === 1 ? "" : "s"}`,
    );
  }
  const byTensor = new Map<string, ForeignTensor>();
  plan.layers.forEach((layer, k) => {
    const node = nodes[k]!;
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

function checkNode(node: RnnNode, layer: LayerPlan, kernel: string): void {
  const op = layer.op as RnnOp;
  if (!(RNN_OPS as readonly string[]).includes(op)) throw new InteropError(`the ONNX mapping names op "${layer.op}"; cellc reads ${RNN_OPS.join(", ")}`);
  if (node.op !== op) throw new InteropError(`${node.name} is an ${node.op} node but layer ${layer.layer} of ${kernel} maps to ${op}`);
  const expected = { ...ATTRIBUTE_DEFAULTS[op], ...layer.attributes };
  for (const name of Object.keys(node.attributes)) {
    if (!CHECKED.has(name)) throw new InteropError(`${node.name}: attribute "${name}" is not supported by cellc's ${kernel}`);
  }
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
  return buildRnnModel(layers, { inputSize: layers[0]!.inputSize, ...(options.opset === undefined ? {} : { opset: options.opset }) });
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
