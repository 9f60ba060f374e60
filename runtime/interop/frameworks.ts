// Keras / TensorFlow.js and PyTorch weight containers <-> kernel parameters. Keras hands weights
// over as an ordered list (layer.getWeights()); PyTorch as a state_dict keyed by name. Both are
// thin adapters over the generic plan + engine; the layout itself comes from the mapping file.

import type { KernelMeta, Tensors } from "../../abi/kernel.ts";
import { pack, unpack } from "./engine.ts";
import { InteropError, type Mapping } from "./mapping.ts";
import { planFor, type TensorPlan } from "./plan.ts";
import { toForeignTensor, toNested, type ForeignTensor, type ForeignTensorInput, type NestedArray } from "./tensor.ts";

export interface NamedTensor extends ForeignTensor {
  readonly name: string;
}

/** Keras / tfjs weights: the list layer.getWeights() returns (tf.Tensors or nested arrays, in
 *  order), an object keyed by weight name ("kernel", or "l0/kernel" in a stack), or JSON of either. */
export type KerasWeights = string | readonly ForeignTensorInput[] | Readonly<Record<string, ForeignTensorInput>>;

export function importKeras(meta: KernelMeta, mapping: Mapping, weights: KerasWeights): Tensors {
  const plan = planFor(meta, mapping, "keras");
  const value = typeof weights === "string" ? parseJson(weights, "Keras weights JSON") : weights;
  if (Array.isArray(value)) {
    const list = value as readonly unknown[];
    const expected = plan.tensors.map((t) => t.name);
    if (list.length !== expected.length) {
      throw new InteropError(
        `${meta.name} takes ${expected.length} Keras weights (${expected.join(", ")}), in that order, but ${list.length} were given`,
      );
    }
    const byPlan = new Map<TensorPlan, ForeignTensor>();
    plan.tensors.forEach((t, i) => {
      const entry = list[i] as ForeignTensorInput & { name?: unknown };
      // A named entry ("lstm/kernel", "rnn/lstm_cell_1/bias:0") must be the weight this position holds.
      const named = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? entry.name : undefined;
      if (typeof named === "string" && named.length > 0) {
        const base = named.replace(/:\d+$/, "").split("/").pop()!.replace(/_\d+$/, "");
        if (base !== t.localName.replace(/_\d+$/, "")) {
          throw new InteropError(`Keras weight ${i} is named "${named}" but ${meta.name} expects "${t.localName}" in that position (order: ${expected.join(", ")})`);
        }
      }
      byPlan.set(t, toForeignTensor(entry, `Keras weight ${i} (${t.name})`));
    });
    return unpack(meta, plan, (t) => byPlan.get(t));
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, ForeignTensorInput>;
    rejectUnknown(Object.keys(record), plan.tensors, "Keras weight", meta.name);
    return unpack(meta, plan, (t) => (t.name in record ? toForeignTensor(record[t.name]!, `Keras weight "${t.name}"`) : undefined));
  }
  throw new InteropError("Keras weights must be a list of tensors, an object keyed by weight name, or JSON of either");
}

/** The Keras / tfjs weight list for `params`, in layer.setWeights() order. */
export function exportKeras(meta: KernelMeta, mapping: Mapping, params: Tensors): NamedTensor[] {
  const plan = planFor(meta, mapping, "keras");
  return pack(meta, plan, params).map((t, i) => ({ name: plan.tensors[i]!.name, ...t }));
}

/** JSON of a Keras weight list: [{ "name", "shape", "data": nested arrays }, ...]; importKeras reads it back. */
export function kerasWeightsToJson(weights: readonly NamedTensor[]): string {
  return JSON.stringify(weights.map((w) => ({ name: w.name, shape: w.shape, data: toNested(w) })));
}

export interface PytorchOptions {
  /** Key prefix of the RNN module inside a larger state_dict, e.g. "encoder.rnn.". Keys outside it are ignored. */
  prefix?: string;
}

/** A PyTorch state_dict: { "weight_ih_l0": nested arrays, ... } or its JSON text. */
export type StateDict = string | Readonly<Record<string, ForeignTensorInput>>;

export function importPytorch(meta: KernelMeta, mapping: Mapping, stateDict: StateDict, options: PytorchOptions = {}): Tensors {
  const plan = planFor(meta, mapping, "pytorch");
  const value = typeof stateDict === "string" ? parseJson(stateDict, "PyTorch state_dict JSON") : stateDict;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InteropError("a PyTorch state_dict must be an object keyed by parameter name (or its JSON)");
  }
  const prefix = options.prefix ?? "";
  const record: Record<string, ForeignTensorInput> = {};
  for (const [k, v] of Object.entries(value as Record<string, ForeignTensorInput>)) {
    if (k.startsWith(prefix)) record[k.slice(prefix.length)] = v;
  }
  rejectUnknown(Object.keys(record), plan.tensors, "state_dict key", meta.name, prefix);
  return unpack(meta, plan, (t) => (t.name in record ? toForeignTensor(record[t.name]!, `state_dict["${prefix}${t.name}"]`) : undefined));
}

/** A JSON-ready state_dict (nested arrays) for `params`. */
export function exportPytorch(
  meta: KernelMeta,
  mapping: Mapping,
  params: Tensors,
  options: PytorchOptions = {},
): Record<string, NestedArray> {
  const plan = planFor(meta, mapping, "pytorch");
  const out: Record<string, NestedArray> = {};
  pack(meta, plan, params).forEach((t, i) => {
    out[(options.prefix ?? "") + plan.tensors[i]!.name] = toNested(t);
  });
  return out;
}

function rejectUnknown(keys: readonly string[], tensors: readonly TensorPlan[], what: string, kernel: string, prefix = ""): void {
  const known = new Set(tensors.map((t) => t.name));
  for (const k of keys) {
    if (!known.has(k)) {
      throw new InteropError(`${what} "${prefix}${k}" is not part of ${kernel}'s layout (expected: ${[...known].map((n) => prefix + n).join(", ")})`);
    }
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InteropError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}
