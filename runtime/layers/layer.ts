// What every layer of a Sequential model is: a shape transformer with trainable parameters, a
// forward pass over a batch and a backward pass that adds parameter gradients and returns the
// gradient for the layer below. Layers own and reuse their output buffers, so a returned
// Tensor is valid only until the layer's next forward call.

import type { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";

/** A per-sample shape (no batch axis); null marks a size that may vary per call (sequence length). */
export type Shape = (number | null)[];

/** A trainable parameter and its gradient buffer (same layout). */
export interface Param {
  /** The parameter's name inside its layer, e.g. "W" or "U_f". */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
}

export interface ForwardContext {
  /** Dropout and other training-only behaviour is on. */
  training: boolean;
}

export abstract class Layer {
  /** Unique within a model; assigned by the model (Keras style: dense, dense_1, ...) when not given. */
  name: string;
  /** The layer's type as shown by summary(), e.g. "Dense". */
  abstract readonly type: string;
  /** A layer whose first per-sample axis is time and may vary between calls. */
  readonly sequenceInput: boolean = false;
  inputShape: Shape | undefined;
  outputShape: Shape | undefined;

  constructor(name?: string) {
    this.name = name ?? "";
  }

  get built(): boolean {
    return this.outputShape !== undefined;
  }

  /** Base for automatic names. */
  abstract defaultName(): string;

  /** Creates parameters for `inputShape`, drawing initial values from `rng`; returns the output shape. */
  abstract build(inputShape: Shape, rng: Rng): Shape | Promise<Shape>;

  params(): Param[] {
    return [];
  }

  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;

  /** Given d loss / d output of the last forward, ADDS parameter gradients into each Param.grad and
   *  returns d loss / d input (same layout as that forward's input), or null when the input is not
   *  differentiable (integer ids). */
  abstract backward(dy: Float32Array): Float32Array | null;

  /** False when nothing reads this layer's input gradient (the model's first layer): backward
   *  may then skip computing it and return null. */
  inputGradientNeeded = true;

  /** Forgets carried recurrent state (stateful layers). */
  resetStates(): void {}

  paramCount(): number {
    return this.params().reduce((s, p) => s + p.value.length, 0);
  }
}

/** A buffer of exactly n floats, reusing `buf` when it already has that size. */
export function ensure(buf: Float32Array | undefined, n: number): Float32Array {
  return buf !== undefined && buf.length === n ? buf : new Float32Array(n);
}

export function makeParam(name: string, shape: readonly number[]): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape: [...shape], value: new Float32Array(n), grad: new Float32Array(n) };
}

/** Checks a forward input against the built input shape; names the layer in the error. */
export function checkInput(layer: Layer, x: Tensor): void {
  const want = layer.inputShape;
  if (!want) throw new Error(`layer '${layer.name}' is not built`);
  const got = x.shape.slice(1);
  const ok = got.length === want.length && want.every((d, i) => d === null || d === got[i]);
  if (!ok) {
    const fmt = (s: readonly (number | null)[]) => `[${["batch", ...s.map((d) => (d === null ? "?" : String(d)))].join(", ")}]`;
    throw new Error(`layer '${layer.name}' expects input ${fmt(want)} but got [${x.shape.join(", ")}]`);
  }
}
