// A cell's ONNX model (as backends/onnx writes it) placed inside a larger graph: every name gets the
// layer's prefix (also inside the Scan body, which reads the outer graph's names), the parameter
// initializers take the layer's trained values, and the cell's graph inputs become names the caller
// wires to its own tensors.

import type { KernelMeta, Tensors } from "../../../abi/kernel.ts";
import { InteropError } from "../mapping.ts";
import { cellOnnxNames } from "../../../formats/onnx/cell-names.ts";
import { decodeModel, floatTensor, type GraphProto, type IGraphProto, type INodeProto, type ITensorProto } from "../../../formats/onnx/schema.ts";

export interface SplicedCell {
  /** The cell's nodes, every name prefixed; its graph inputs are the names in `inputs`. */
  nodes: INodeProto[];
  initializers: ITensorProto[];
  /** Prefixed names of the cell's graph inputs, outputs, lengths, initial and final states. */
  inputs: string[];
  lengths: string;
  initial: string[];
  outputs: string[];
  finals: string[];
}

function prefixGraph(g: GraphProto, p: (s: string) => string): IGraphProto {
  return {
    name: p(g.name ?? "cell"),
    node: (g.node ?? []).map((n) => ({
      ...n,
      name: n.name ? p(n.name) : "",
      input: (n.input ?? []).map(p),
      output: (n.output ?? []).map(p),
      attribute: (n.attribute ?? []).map((a) => (a.g ? { ...a, g: prefixGraph(a.g, p) } : a)),
    })) as INodeProto[],
    initializer: (g.initializer ?? []).map((t) => ({ ...t, name: p(t.name ?? "") })) as ITensorProto[],
    input: (g.input ?? []).map((v) => ({ ...v, name: p(v.name ?? "") })),
    output: (g.output ?? []).map((v) => ({ ...v, name: p(v.name ?? "") })),
  };
}

/** The graph of the model `bytes` with every name prefixed by `prefix` (`what` names it in errors). */
export function prefixedGraph(bytes: Uint8Array, prefix: string, what: string): IGraphProto {
  let graph: GraphProto | undefined;
  try {
    graph = decodeModel(bytes).graph;
  } catch (e) {
    throw new InteropError(`${what} is not readable: ${(e as Error).message}`);
  }
  if (!graph) throw new InteropError(`${what} has no graph`);
  return prefixGraph(graph, (s) => (s === "" ? s : `${prefix}${s}`));
}

/** The cell model `bytes` with names prefixed by `prefix` and parameters set to `params`. */
export function spliceCell(bytes: Uint8Array, meta: KernelMeta, params: Readonly<Tensors>, prefix: string): SplicedCell {
  const p = (s: string) => (s === "" ? s : `${prefix}${s}`);
  const g = prefixedGraph(bytes, prefix, `the ONNX form of cell '${meta.name}'`);
  // An input's default (an initializer of its name) gives way to what the caller wires to it.
  const inputNames = new Set((g.input ?? []).map((v) => v.name!));
  const inits = (g.initializer ?? []).filter((t) => !inputNames.has(t.name!));
  const byName = new Map(inits.map((t, i) => [t.name!, i]));
  for (const m of meta.params) {
    const at = byName.get(p(m.name));
    const value = params[m.name];
    if (at === undefined || !value) throw new InteropError(`the ONNX form of cell '${meta.name}' has no parameter '${m.name}'`);
    inits[at] = floatTensor(p(m.name), m.shape, value);
  }
  const n = cellOnnxNames(meta);
  for (const name of [...n.inputs, n.lengths, ...n.initial]) {
    if (!inputNames.has(p(name))) throw new InteropError(`the ONNX form of cell '${meta.name}' has no input '${name}' (export it with lengths and initial states)`);
  }
  return {
    nodes: g.node ?? [],
    initializers: inits,
    inputs: n.inputs.map(p),
    lengths: p(n.lengths),
    initial: n.initial.map(p),
    outputs: n.outputs.map(p),
    finals: n.finals.map(p),
  };
}
