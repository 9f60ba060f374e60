// Symbolic tensors: the placeholders a functional model is declared with, as in Keras and
// TensorFlow.js. input() makes one for data; layer.apply() records a call (a Node) of the layer on
// symbolic tensors and returns new ones for its outputs. Nothing is computed here and nothing is
// built: shapes of layer outputs are filled in when a model that uses them is built.
//
// A Node names its Layer and a Layer's apply() makes Nodes, so SymbolicTensor, Node and
// applyLayer are defined beside Layer (runtime/layers/layer.ts) and re-exported here: the two
// files import one way, layer.ts nothing of this one.

import { SymbolicTensor, type Shape } from "../layers/layer.ts";

export { applyLayer, SymbolicTensor, type ApplyOptions, type Node } from "../layers/layer.ts";

export interface InputOptions {
  /** Per-sample shape, without the batch axis: [null] for id sequences, [null, F] for feature
   *  sequences (null: any length), [F] for vectors. */
  shape: Shape;
  /** Default input, input_1, ... */
  name?: string;
}

let inputCount = 0;

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
