// Central differences for a runtime layer: with loss = Σ c·y over the layer's output y, every
// parameter gradient and the input gradient must match (loss(θ+h) - loss(θ-h)) / 2h.

import { expect } from "vitest";
import type { Layer, Tensor } from "../../runtime/index.ts";

export interface LayerCheck {
  /** Forward in training mode (dropout masks are then drawn anew each call, so keep rates 0). */
  training?: boolean;
  /** |analytic - numeric| must stay below tol (times max(1, |numeric|) when relative). */
  tol: number;
  relative?: boolean;
  h?: number;
}

/** Checks every gradient of `layer` at input x; returns the analytic input gradient. */
export function checkLayerGradients(layer: Layer, x: Tensor, c: Float32Array, o: LayerCheck): Float32Array {
  const h = o.h ?? 1e-2;
  const loss = () => {
    const y = layer.forward(x, { training: o.training ?? false }).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += c[i]! * y[i]!;
    return s;
  };
  const fd = (a: Float32Array, i: number) => {
    const v = a[i]!;
    a[i] = v + h;
    const up = loss();
    a[i] = v - h;
    const down = loss();
    a[i] = v;
    return (up - down) / (2 * h);
  };
  const close = (analytic: number, numeric: number) =>
    expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(o.tol * (o.relative ? Math.max(1, Math.abs(numeric)) : 1));
  loss();
  for (const p of layer.params()) p.grad.fill(0);
  const dx = Float32Array.from(layer.backward(c)!);
  for (const p of layer.params()) {
    const g = Float32Array.from(p.grad);
    for (let i = 0; i < g.length; i++) close(g[i]!, fd(p.value, i));
  }
  for (let i = 0; i < dx.length; i++) close(dx[i]!, fd(x.data, i));
  return dx;
}
