// What every layer of a model is: a shape transformer with trainable parameters, a forward pass
// over a batch and a backward pass that adds parameter gradients and returns the gradient for the
// layer below. Layers own and reuse their output buffers, so a returned Tensor is valid only until
// the layer's next forward call. In a functional model a layer is a call with several inputs and
// outputs (the *Call methods; one in, one out unless a layer overrides them), applied to symbolic
// tensors with apply(); a layer called at several places runs each extra call on a twin().
// The record of such a call (a Node, and the SymbolicTensors it reads and makes) is defined here
// too, since it names its Layer; runtime/functional/symbolic.ts re-exports it beside input().

import type { Rng } from "../rng.ts";
import { batchShapeString as batchShape, type Tensor } from "../tensor.ts";

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

  /** The name for messages, also before a model has named the layer. */
  get label(): string {
    return this.name || this.defaultName();
  }

  /** Functional models: how many tensors a call with `inputCount` inputs returns. Throws, naming
   *  the layer, when it cannot take that many or the count is not known yet. */
  callOutputs(inputCount: number): number {
    if (inputCount !== 1) throw new Error(`layer '${this.label}' (${this.type}) takes one input, got ${inputCount}`);
    return 1;
  }

  /** Builds the layer for a call's input shapes; returns its output shapes. */
  async buildCall(inputShapes: Shape[], rng: Rng): Promise<Shape[]> {
    return [await this.build(inputShapes[0]!, rng)];
  }

  /** A further call of a built (shared) layer: checks the input shapes against the ones it was
   *  built for and returns the output shapes. */
  checkCall(inputShapes: Shape[]): Shape[] {
    const want = this.inputShape!;
    const got = inputShapes[0]!;
    if (!shapesCompatible(want, got)) {
      throw new Error(`layer '${this.label}' was built for input ${batchShape(want)} but is applied again to ${batchShape(got)}`);
    }
    return [[...this.outputShape!]];
  }

  /** Forward for a call: one tensor per input, one per output. */
  forwardCall(xs: Tensor[], ctx: ForwardContext): Tensor[] {
    return [this.forward(xs[0]!, ctx)];
  }

  /** Backward for a call: d loss / d each output of the last forwardCall (zeros where nothing
   *  reads an output) -> d loss / d each input (null where an input is not differentiable). */
  backwardCall(dys: Float32Array[]): (Float32Array | null)[] {
    return [this.backward(dys[0]!)];
  }

  /** True when the layer's work finishes asynchronously (a recurrent layer around a WebGPU
   *  kernel): models then run it through forwardCallAsync and backwardCallAsync, and its
   *  synchronous calls throw. Known once the layer is built. */
  get asynchronous(): boolean {
    return false;
  }

  /** forwardCall for an asynchronous layer (the default runs forwardCall). */
  async forwardCallAsync(xs: Tensor[], ctx: ForwardContext): Promise<Tensor[]> {
    return this.forwardCall(xs, ctx);
  }

  /** backwardCall for an asynchronous layer (the default runs backwardCall). */
  async backwardCallAsync(dys: Float32Array[]): Promise<(Float32Array | null)[]> {
    return this.backwardCall(dys);
  }

  /** Applies the layer to symbolic tensors (functional models); returns its single output. */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[], opts: ApplyOptions = {}): SymbolicTensor {
    const outs = applyLayer(this, inputs, opts);
    if (outs.length !== 1) {
      throw new Error(`layer '${this.label}' returns ${outs.length} tensors (its output and states); use applyAll() to get them all`);
    }
    return outs[0]!;
  }

  /** Applies the layer to symbolic tensors; returns every output (a recurrent layer with
   *  returnState: [output, ...final states]). */
  applyAll(inputs: SymbolicTensor | readonly SymbolicTensor[], opts: ApplyOptions = {}): SymbolicTensor[] {
    return applyLayer(this, inputs, opts);
  }

  /** A layer sharing this one's parameters (the same Param objects, so gradients add up) with
   *  buffers of its own, for a functional model that calls the layer at several places. This
   *  default copies the fields and drops typed-array buffers; a layer that keeps buffers in other
   *  containers overrides it. Called on a built layer. */
  twin(): Layer {
    const t = Object.create(Object.getPrototypeOf(this) as object) as Layer;
    for (const [k, v] of Object.entries(this)) (t as unknown as Record<string, unknown>)[k] = ArrayBuffer.isView(v) ? undefined : v;
    return t;
  }

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
  if (!ok) throw new Error(`layer '${layer.name}' expects input ${batchShape(want)} but got [${x.shape.join(", ")}]`);
}

/** Per-sample shapes that can hold the same data: equal ranks, sizes equal where both are known. */
export function shapesCompatible(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

// Calls of layers in a functional model (see runtime/functional/symbolic.ts).

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

export interface ApplyOptions {
  /** Recurrent layers: the states entering step 0, one symbolic tensor per state of the cell, in
   *  the kernel's state order (e.g. another layer's returned states). */
  initialState?: readonly SymbolicTensor[];
}

let serial = 0;

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
