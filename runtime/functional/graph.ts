// The graph of a functional model, traced back from its outputs: every call (node) the outputs
// depend on, in an order where each node comes after the nodes it reads from (and otherwise in
// the order the calls were written). Mistakes are
// reported naming the layers: an output that needs an input the model does not list, an input no
// output uses, a cycle, two layers with one name. Layers without a name get one here (Keras style:
// dense, dense_1, ...).

import type { Layer } from "../layers/layer.ts";
import { SymbolicTensor, type Node } from "./symbolic.ts";

export interface Graph {
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  /** Every call the outputs need, each after the calls it reads from. */
  readonly nodes: readonly Node[];
  /** Each layer once, in the order of its first call. */
  readonly layers: readonly Layer[];
  /** How many times each tensor is read (by nodes, and once more per listing as a model output). */
  readonly uses: ReadonlyMap<SymbolicTensor, number>;
}

function asList(v: SymbolicTensor | readonly SymbolicTensor[], what: string): SymbolicTensor[] {
  const list = Array.isArray(v) ? [...(v as readonly SymbolicTensor[])] : [v as SymbolicTensor];
  if (list.length === 0) throw new Error(`model: ${what} is empty`);
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) throw new Error(`model: ${what}[${i}] is not a symbolic tensor (use input() and layer.apply())`);
  });
  return list;
}

export function traceGraph(inputsIn: SymbolicTensor | readonly SymbolicTensor[], outputsIn: SymbolicTensor | readonly SymbolicTensor[]): Graph {
  const inputs = asList(inputsIn, "inputs");
  const outputs = asList(outputsIn, "outputs");
  inputs.forEach((t) => {
    if (t.node) throw new Error(`model: inputs must come from input(), but '${t.describe()}' is the output of layer '${t.node.layer.label}'`);
  });
  const names = new Set<string>();
  for (const t of inputs) {
    if (names.has(t.inputName!)) throw new Error(`model: two inputs are named '${t.inputName}'`);
    names.add(t.inputName!);
  }

  const order: Node[] = [];
  const state = new Map<Node, "visiting" | "done">();
  const stack: Node[] = [];
  const usedInputs = new Set<SymbolicTensor>();
  const uses = new Map<SymbolicTensor, number>();

  const visitTensor = (t: SymbolicTensor, out: SymbolicTensor): void => {
    if (!t.node) {
      if (!inputs.includes(t)) {
        const listed = inputs.map((i) => `'${i.inputName}'`).join(", ");
        throw new Error(`model: output '${out.describe()}' cannot be computed from the model's inputs (${listed}): it depends on input '${t.inputName}', which is not one of them`);
      }
      usedInputs.add(t);
      return;
    }
    visitNode(t.node, out);
  };
  const visitNode = (n: Node, out: SymbolicTensor): void => {
    const s = state.get(n);
    if (s === "done") return;
    if (s === "visiting") {
      const loop = [...stack.slice(stack.indexOf(n)), n].map((m) => `'${m.layer.label}'`).join(" -> ");
      throw new Error(`model: the graph has a cycle: ${loop}`);
    }
    state.set(n, "visiting");
    stack.push(n);
    for (const t of n.inputs) {
      uses.set(t, (uses.get(t) ?? 0) + 1);
      visitTensor(t, out);
    }
    stack.pop();
    state.set(n, "done");
    order.push(n);
  };
  for (const o of outputs) {
    uses.set(o, (uses.get(o) ?? 0) + 1);
    visitTensor(o, o);
  }
  for (const t of inputs) {
    if (!usedInputs.has(t)) throw new Error(`model: input '${t.inputName}' is not used by any output`);
  }

  const nodes = creationOrder(order);
  const layers: Layer[] = [];
  for (const n of nodes) if (!layers.includes(n.layer)) layers.push(n.layer);
  nameLayers(layers);
  return { inputs, outputs, nodes, layers, uses };
}

/** The nodes in a dependency order that follows the order the calls were written where it can
 *  (so layers are named, and their weights drawn, in the order a reader sees them). */
function creationOrder(nodes: readonly Node[]): Node[] {
  const producers = new Map<Node, Node[]>(nodes.map((n) => [n, n.inputs.flatMap((t) => (t.node ? [t.node] : []))]));
  const done = new Set<Node>();
  const out: Node[] = [];
  while (out.length < nodes.length) {
    let next: Node | undefined;
    for (const n of nodes) {
      if (done.has(n) || !producers.get(n)!.every((p) => done.has(p))) continue;
      if (!next || n.serial < next.serial) next = n;
    }
    done.add(next!);
    out.push(next!);
  }
  return out;
}

/** Names unnamed layers uniquely; two different layers may not share a name. */
function nameLayers(layers: readonly Layer[]): void {
  const taken = new Map<string, Layer>();
  for (const l of layers) {
    if (!l.name) continue;
    const other = taken.get(l.name);
    if (other) throw new Error(`model: two layers are named '${l.name}' (${other.type} and ${l.type}); layer names must be unique`);
    taken.set(l.name, l);
  }
  for (const l of layers) {
    if (l.name) continue;
    const base = l.defaultName();
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    l.name = name;
    taken.set(name, l);
  }
}

/** Names for a model's outputs (for losses and logs): the producing layer's name, with the output
 *  index for a layer that returns several, made unique. */
export function outputNames(outputs: readonly SymbolicTensor[]): string[] {
  const seen = new Set<string>();
  return outputs.map((t) => {
    const base = !t.node ? t.inputName! : t.node.outputs.length > 1 && t.index > 0 ? `${t.node.layer.name}_${t.index}` : t.node.layer.name;
    let name = base;
    for (let i = 1; seen.has(name); i++) name = `${base}_${i}`;
    seen.add(name);
    return name;
  });
}
