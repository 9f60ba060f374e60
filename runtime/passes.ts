// A model's passes — forward over its layers, backward through them, a training step, an
// evaluation, a prediction — are written once, as generators that yield each layer call and take
// back its result. A driver runs them: runSync calls every layer synchronously (no promise on the
// way: the path synchronous kernels always took), runAsync awaits the calls of asynchronous layers
// (a recurrent layer around a WebGPU kernel) and calls the others as runSync does. Both give the
// same numbers for the same layers.

import type { ForwardContext, Layer } from "./layers/layer.ts";
import type { Tensor } from "./tensor.ts";

/** One layer call: a forward (xs in, outputs back) or a backward (d outputs in, d inputs back). */
export type LayerCall = { layer: Layer; xs: Tensor[]; ctx: ForwardContext } | { layer: Layer; dys: Float32Array[] };

/** A computation over layer calls that returns R. */
export type Passes<R> = Generator<LayerCall, R, Tensor[] | (Float32Array | null)[]>;

/** A layer's forward call inside a pass: `const outs = yield* forwardCall(layer, xs, ctx)`. */
export function* forwardCall(layer: Layer, xs: Tensor[], ctx: ForwardContext): Passes<Tensor[]> {
  return (yield { layer, xs, ctx }) as Tensor[];
}

/** A layer's backward call inside a pass: `const dxs = yield* backwardCall(layer, dys)`. */
export function* backwardCall(layer: Layer, dys: Float32Array[]): Passes<(Float32Array | null)[]> {
  return (yield { layer, dys }) as (Float32Array | null)[];
}

/** Runs `g` calling every layer synchronously. An error thrown by a call is thrown into the pass
 *  (its finally blocks run) and on to the caller. */
export function runSync<R>(g: Passes<R>): R {
  let r = g.next();
  while (!r.done) {
    const c = r.value;
    let out: Tensor[] | (Float32Array | null)[];
    try {
      out = "xs" in c ? c.layer.forwardCall(c.xs, c.ctx) : c.layer.backwardCall(c.dys);
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(out);
  }
  return r.value;
}

/** Runs `g` awaiting the calls of asynchronous layers (Layer.asynchronous). */
export async function runAsync<R>(g: Passes<R>): Promise<R> {
  let r = g.next();
  while (!r.done) {
    const c = r.value;
    const l = c.layer;
    let out: Tensor[] | (Float32Array | null)[];
    try {
      if ("xs" in c) out = l.asynchronous ? await l.forwardCallAsync(c.xs, c.ctx) : l.forwardCall(c.xs, c.ctx);
      else out = l.asynchronous ? await l.backwardCallAsync(c.dys) : l.backwardCall(c.dys);
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(out);
  }
  return r.value;
}
