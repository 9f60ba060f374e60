// Central differences for a layer call with several inputs and outputs (functional models): with
// loss = Σ_k Σ c_k·y_k over every output y_k, each parameter gradient and each input gradient
// (initial states included) must match (loss(θ+h) - loss(θ-h)) / 2h.

import { expect } from "vitest";
import type { Layer, Tensor } from "../../runtime/index.ts";

export interface CallCheck {
  tol: number;
  h?: number;
}

/** Checks every gradient of `layer` called on `xs`; returns the analytic input gradients. */
export function checkCallGradients(layer: Layer, xs: Tensor[], cs: Float32Array[], o: CallCheck): (Float32Array | null)[] {
  const h = o.h ?? 1e-2;
  const loss = () => {
    const ys = layer.forwardCall(xs, { training: false });
    expect(ys.length).toBe(cs.length);
    let s = 0;
    ys.forEach((y, k) => {
      expect(y.data.length).toBe(cs[k]!.length);
      for (let i = 0; i < y.data.length; i++) s += cs[k]![i]! * y.data[i]!;
    });
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
  const close = (analytic: number, numeric: number, what: string) => expect(Math.abs(analytic - numeric), what).toBeLessThanOrEqual(o.tol * Math.max(1, Math.abs(numeric)));
  loss();
  for (const p of layer.params()) p.grad.fill(0);
  const dxs = layer.backwardCall(cs).map((d) => (d ? Float32Array.from(d) : null));
  for (const p of layer.params()) {
    const g = Float32Array.from(p.grad);
    for (let i = 0; i < g.length; i++) close(g[i]!, fd(p.value, i), `d/d${p.name}[${i}]`);
  }
  dxs.forEach((dx, k) => {
    if (!dx) return;
    for (let i = 0; i < dx.length; i++) close(dx[i]!, fd(xs[k]!.data, i), `d/dinput${k}[${i}]`);
  });
  return dxs;
}
