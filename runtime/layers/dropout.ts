// Inverted dropout: while training, each value is zeroed with probability `rate` and the rest
// are scaled by 1 / (1 - rate), so evaluation and prediction use the layer as the identity.

import type { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { checkInput, ensure, Layer, type Shape } from "./layer.ts";

export interface DropoutOptions {
  name?: string;
}

/** Fills `mask` with 0 (probability rate) or 1 / (1 - rate). */
export function fillDropoutMask(mask: Float32Array, rate: number, rng: Rng): void {
  const keep = 1 - rate;
  const scale = 1 / keep;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? scale : 0;
}

export function checkRate(rate: number, what: string): number {
  if (!(typeof rate === "number" && rate >= 0 && rate < 1)) throw new Error(`${what} must be a number in [0, 1), got ${rate}`);
  return rate;
}

export class Dropout extends Layer {
  readonly type = "Dropout";
  readonly rate: number;
  private rng: Rng | undefined;
  private mask: Float32Array | undefined;
  private y: Float32Array | undefined;
  private dx: Float32Array | undefined;
  /** Whether the last forward applied a mask. */
  private masked = false;

  constructor(rate: number, opts: DropoutOptions = {}) {
    super(opts.name);
    this.rate = checkRate(rate, "Dropout rate");
  }

  defaultName(): string {
    return "dropout";
  }

  build(inputShape: Shape, rng: Rng): Shape {
    this.rng = rng;
    this.inputShape = [...inputShape];
    this.outputShape = [...inputShape];
    return this.outputShape;
  }

  forward(x: Tensor, ctx: { training: boolean }): Tensor {
    checkInput(this, x);
    this.masked = ctx.training && this.rate > 0;
    if (!this.masked) return x;
    const n = x.data.length;
    const mask = (this.mask = ensure(this.mask, n));
    fillDropoutMask(mask, this.rate, this.rng!);
    const y = (this.y = ensure(this.y, n));
    for (let i = 0; i < n; i++) y[i] = x.data[i]! * mask[i]!;
    const out: Tensor = { data: y, shape: [...x.shape] };
    if (x.lengths) out.lengths = x.lengths;
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    if (!this.masked) return dy;
    const mask = this.mask!;
    const dx = (this.dx = ensure(this.dx, mask.length));
    for (let i = 0; i < mask.length; i++) dx[i] = dy[i]! * mask[i]!;
    return dx;
  }
}
