// Bidirectional layers in Keras / TensorFlow.js and PyTorch layouts: two sets of one cell's
// parameters, forward and backward. Keras' Bidirectional lists the forward layer's weights, then
// the backward layer's (getWeights()); PyTorch's bidirectional=True names the backward direction's
// tensors with a "_reverse" suffix (weight_ih_l0_reverse, ...). Both reuse the one-direction
// adapters; the ONNX counterpart (num_directions = 2) is in onnx/interop.ts.

import type { KernelMeta, Tensors } from "../../abi/kernel.ts";
import { exportKeras, exportPytorch, importKeras, importPytorch, type KerasWeights, type NamedTensor, type PytorchOptions, type StateDict } from "./frameworks.ts";
import { InteropError, type Mapping } from "./mapping.ts";
import type { ForeignTensorInput, NestedArray } from "./tensor.ts";

/** The parameters of the two directions of a Bidirectional layer, each in the cell's own names. */
export interface DirectionParams {
  forward: Tensors;
  backward: Tensors;
}

/** Keras / tfjs Bidirectional weights: the list getWeights() returns (forward then backward, in
 *  each direction's order), { forward, backward } with one direction's weights each, or JSON. */
export type KerasBidirectionalWeights = string | readonly ForeignTensorInput[] | { readonly forward: KerasWeights; readonly backward: KerasWeights };

export function importKerasBidirectional(meta: KernelMeta, mapping: Mapping, weights: KerasBidirectionalWeights): DirectionParams {
  const value = typeof weights === "string" ? parse(weights, "Keras weights JSON") : weights;
  if (Array.isArray(value)) {
    const list = value as readonly ForeignTensorInput[];
    if (list.length % 2 !== 0) throw new InteropError(`a bidirectional ${meta.name} takes an even number of Keras weights (forward, then backward), got ${list.length}`);
    const half = list.length / 2;
    return {
      forward: inDirection("the forward layer's weights", () => importKeras(meta, mapping, list.slice(0, half))),
      backward: inDirection("the backward layer's weights", () => importKeras(meta, mapping, list.slice(half))),
    };
  }
  if (typeof value === "object" && value !== null && "forward" in value && "backward" in value) {
    const v = value as { forward: KerasWeights; backward: KerasWeights };
    return {
      forward: inDirection("the forward layer's weights", () => importKeras(meta, mapping, v.forward)),
      backward: inDirection("the backward layer's weights", () => importKeras(meta, mapping, v.backward)),
    };
  }
  throw new InteropError("bidirectional Keras weights must be a list (forward weights, then backward), { forward, backward }, or JSON of either");
}

/** The weight list for a Keras / tfjs Bidirectional layer's setWeights(): forward, then backward. */
export function exportKerasBidirectional(meta: KernelMeta, mapping: Mapping, params: DirectionParams): NamedTensor[] {
  const tag = (dir: string, ws: NamedTensor[]) => ws.map((w) => ({ ...w, name: `${dir}/${w.name}` }));
  return [...tag("forward", exportKeras(meta, mapping, params.forward)), ...tag("backward", exportKeras(meta, mapping, params.backward))];
}

const REVERSE = "_reverse";

function singleCell(meta: KernelMeta): void {
  if (meta.kind === "stack") {
    throw new InteropError(
      `${meta.name} is a stack; PyTorch's bidirectional layers feed both directions of layer k into layer k+1, which two stacks cannot hold: use one Bidirectional layer per cell`,
    );
  }
}

/** A state_dict of nn.LSTM / nn.GRU / nn.RNN(bidirectional=True) with one layer: the forward
 *  direction's tensors and their "_reverse" twins. */
export function importPytorchBidirectional(meta: KernelMeta, mapping: Mapping, stateDict: StateDict, options: PytorchOptions = {}): DirectionParams {
  singleCell(meta);
  const value = typeof stateDict === "string" ? parse(stateDict, "PyTorch state_dict JSON") : stateDict;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InteropError("a PyTorch state_dict must be an object keyed by parameter name (or its JSON)");
  }
  const prefix = options.prefix ?? "";
  const forward: Record<string, ForeignTensorInput> = {};
  const backward: Record<string, ForeignTensorInput> = {};
  for (const [k, v] of Object.entries(value as Record<string, ForeignTensorInput>)) {
    if (!k.startsWith(prefix)) continue;
    if (k.endsWith(REVERSE)) backward[k.slice(0, -REVERSE.length)] = v;
    else forward[k] = v;
  }
  if (Object.keys(backward).length === 0) throw new InteropError(`the state_dict has no "${prefix}..._reverse" tensors; it is not bidirectional`);
  return {
    forward: importPytorch(meta, mapping, forward, options),
    backward: inDirection("the reverse direction (keys ending in _reverse)", () => importPytorch(meta, mapping, backward, options)),
  };
}

/** Runs an import for one direction, saying which direction a problem is in. */
function inDirection<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InteropError) throw new InteropError(`${what}: ${e.message}`);
    throw e;
  }
}

/** A JSON-ready state_dict for nn.LSTM / nn.GRU / nn.RNN(bidirectional=True). */
export function exportPytorchBidirectional(meta: KernelMeta, mapping: Mapping, params: DirectionParams, options: PytorchOptions = {}): Record<string, NestedArray> {
  singleCell(meta);
  const out = exportPytorch(meta, mapping, params.forward, options);
  for (const [k, v] of Object.entries(exportPytorch(meta, mapping, params.backward, options))) out[k + REVERSE] = v;
  return out;
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InteropError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}
