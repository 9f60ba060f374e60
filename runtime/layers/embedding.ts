// A lookup table from integer ids to learned vectors: input [B, T] of ids (stored as floats),
// output [B, T, D]. Initialised uniform in [-0.05, 0.05] as Keras does. Ids are not
// differentiable, so backward returns null and the model stops there.

import { initialize } from "../init.ts";
import type { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { checkInput, ensure, Layer, makeParam, type Param, type Shape } from "./layer.ts";

export interface EmbeddingOptions {
  name?: string;
}

export class Embedding extends Layer {
  readonly type = "Embedding";
  override readonly sequenceInput = true;
  readonly vocabSize: number;
  readonly dim: number;
  private table: Param | undefined;
  private ids: Float32Array | undefined;
  private y: Float32Array | undefined;

  constructor(vocabSize: number, dim: number, opts: EmbeddingOptions = {}) {
    super(opts.name);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`Embedding: vocabSize must be a positive integer, got ${vocabSize}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`Embedding: dim must be a positive integer, got ${dim}`);
    this.vocabSize = vocabSize;
    this.dim = dim;
  }

  defaultName(): string {
    return "embedding";
  }

  build(inputShape: Shape, rng: Rng): Shape {
    this.table = makeParam("embeddings", [this.vocabSize, this.dim]);
    initialize(this.table.value, this.table.shape, { kind: "uniform", low: -0.05, high: 0.05 }, rng);
    this.inputShape = [...inputShape];
    this.outputShape = [...inputShape, this.dim];
    return this.outputShape;
  }

  override params(): Param[] {
    return [this.table!];
  }

  forward(x: Tensor, _ctx: { training: boolean }): Tensor {
    checkInput(this, x);
    const D = this.dim;
    const V = this.vocabSize;
    const ids = x.data;
    const tab = this.table!.value;
    const y = (this.y = ensure(this.y, ids.length * D));
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new Error(`Embedding '${this.name}': input id ${id} at flat index ${i} is not an integer in 0..${V - 1}`);
      }
      y.set(tab.subarray(id * D, id * D + D), i * D);
    }
    this.ids = ids;
    const out: Tensor = { data: y, shape: [...x.shape, D] };
    if (x.lengths) out.lengths = x.lengths;
    return out;
  }

  backward(dy: Float32Array): null {
    const D = this.dim;
    const ids = this.ids!;
    const g = this.table!.grad;
    for (let i = 0; i < ids.length; i++) {
      const o = ids[i]! * D;
      for (let j = 0; j < D; j++) g[o + j]! += dy[i * D + j]!;
    }
    return null;
  }
}
