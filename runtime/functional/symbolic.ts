// Symbolic tensors: the placeholders a functional model is declared with, as in Keras and
// TensorFlow.js. input() makes one for data; layer.apply() records a call (a Node) of the layer on
// symbolic tensors and returns new ones for its outputs. Nothing is computed here and nothing is
// built: shapes of layer outputs are filled in when a model that uses them is built.

import type { Layer, Shape } from "../layers/layer.ts";

/** One call of a layer in a graph: what it reads and what it produces. */
export interface Node {
  readonly layer: Layer;
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  /** Order of creation; ties in graph order are broken by it, so runs repeat exactly. */
  readonly serial: number;
}

export class SymbolicTensor {
  /** The call that produced it; undefined for a model input. */
  readonly node: Node | undefined;
  /** Which output of the call it is. */
  readonly index: number;
  /** An input's name; for a layer output, set when it is first described. */
  readonly inputName: string | undefined;
  /** Per-sample shape (no batch axis; null where the size varies, e.g. time). Known for inputs from
   *  the start, for layer outputs once a model using them is built. */
  shape: Shape | undefined;

  constructor(node: Node | undefined, index: number, shape: Shape | undefined, inputName?: string) {
    this.node = node;
    this.index = index;
    this.shape = shape;
    this.inputName = inputName;
  }

  /** "x" for an input, "lstm" or "lstm[1]" (its second output) for a layer output. */
  describe(): string {
    if (!this.node) return this.inputName!;
    return this.node.outputs.length > 1 ? `${this.node.layer.label}[${this.index}]` : this.node.layer.label;
  }
}

export interface InputOptions {
  /** Per-sample shape, without the batch axis: [null] for id sequences, [null, F] for feature
   *  sequences (null: any length), [F] for vectors. */
  shape: Shape;
  /** Default input, input_1, ... */
  name?: string;
}

let inputCount = 0;
let serial = 0;

/** A symbolic input of a functional model. */
export function input(opts: InputOptions): SymbolicTensor {
  if (!opts || !Array.isArray(opts.shape)) throw new Error("input: { shape } is required, e.g. input({ shape: [null, 8] })");
  const shape = opts.shape;
  if (shape.some((d) => d !== null && !(Number.isInteger(d) && d > 0))) {
    throw new Error(`input: shape must list positive sizes (or null for a varying size), got ${JSON.stringify(shape)}`);
  }
  if (opts.name !== undefined && !/^[\w.-]+$/.test(opts.name)) throw new Error(`input: name '${opts.name}' must be letters, digits, _ . or -`);
  const name = opts.name ?? (inputCount === 0 ? "input" : `input_${inputCount}`);
  inputCount++;
  return new SymbolicTensor(undefined, 0, [...shape], name);
}

export interface ApplyOptions {
  /** Recurrent layers: the states entering step 0, one symbolic tensor per state of the cell, in
   *  the kernel's state order (e.g. another layer's returned states). */
  initialState?: readonly SymbolicTensor[];
}

/** Records a call of `layer` on symbolic tensors and returns its outputs. */
export function applyLayer(layer: Layer, x: SymbolicTensor | readonly SymbolicTensor[], opts: ApplyOptions): SymbolicTensor[] {
  const list = Array.isArray(x) ? [...(x as readonly SymbolicTensor[])] : [x as SymbolicTensor];
  if (opts.initialState !== undefined) {
    if (!Array.isArray(opts.initialState)) throw new Error(`layer '${layer.label}': initialState must be a list of symbolic tensors`);
    list.push(...opts.initialState);
  }
  if (list.length === 0) throw new Error(`layer '${layer.label}' was applied to nothing`);
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) {
      throw new Error(
        `layer '${layer.label}': apply() takes symbolic tensors (from input() or another layer's apply()), but input ${i} is ${describeValue(t)}; to run a model on data use predict()`,
      );
    }
  });
  const count = layer.callOutputs(list.length);
  const outputs: SymbolicTensor[] = [];
  const node: Node = { layer, inputs: list, outputs, serial: serial++ };
  for (let i = 0; i < count; i++) outputs.push(new SymbolicTensor(node, i, undefined));
  return [...outputs];
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && "data" in v && "shape" in v) return "a data tensor";
  return typeof v;
}
