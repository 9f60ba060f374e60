// Central finite differences for a compiled kernel: the loss is a fixed random linear function
// of every output and of the final state, so its exact gradient is known and the kernel's backward
// can be compared entry by entry with (L(θ+ε) - L(θ-ε)) / 2ε computed in float64.

import type { CellKernel, ForwardOptions, Tensors } from "../../abi/kernel.ts";
import { Rng } from "./rng.ts";

export interface GradCase {
  kernel: CellKernel;
  T: number;
  B: number;
  seed?: number;
  lengths?: number[];
  withMasks?: boolean;
  withInitialState?: boolean;
  /** Element type of the kernel's arrays when it has no parameters or states to tell. */
  arrayType?: typeof Float32Array | typeof Float64Array;
}

export interface GradReport {
  /** Largest |analytic - numeric| / max(1, |numeric|) over all checked entries, by tensor. */
  worst: Record<string, number>;
  checked: number;
}

type Arr = Float32Array | Float64Array;

export function gradCheck(c: GradCase, eps = 1e-6): GradReport {
  const { kernel: k, T, B } = c;
  const rng = new Rng(c.seed ?? 1);
  // The element type of the module's arrays (float64 builds are the ones worth checking).
  const sample = Object.values(k.createParams())[0] ?? Object.values(k.createState(1))[0];
  const Ctor = (c.arrayType ?? sample?.constructor ?? Float32Array) as { new (n: number): Arr };
  const fill = (n: number, scale = 1) => {
    const a = new Ctor(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
    return a;
  };
  const params = k.createParams() as Record<string, Arr>;
  for (const p of k.meta.params) params[p.name] = fill(p.size, 0.5);
  const inputs: Record<string, Arr> = {};
  for (const i of k.meta.inputs) inputs[i.name] = fill(T * B * i.size);
  const init: Record<string, Arr> = {};
  if (c.withInitialState !== false) for (const s of k.meta.states) init[s.name] = fill(B * s.size, 0.5);
  const masks: Record<string, Arr> = {};
  if (c.withMasks) for (const s of k.meta.states) masks[s.name] = fill(B * s.size).map((v) => (v > 0 ? 1.25 : 0)) as Arr;
  const wOut: Record<string, Arr> = {};
  for (const o of k.meta.outputs) wOut[o.name] = fill(T * B * o.size);
  const wFinal: Record<string, Arr> = {};
  for (const s of k.meta.states) wFinal[s.name] = fill(B * s.size);

  const options = (): ForwardOptions => ({
    batchSize: B,
    timeSteps: T,
    initialState: init as Tensors,
    ...(c.lengths ? { lengths: c.lengths } : {}),
    ...(c.withMasks ? { stateMasks: masks as Tensors } : {}),
  });
  const loss = (): number => {
    const r = k.forward(params as Tensors, inputs as Tensors, options());
    let L = 0;
    for (const o of k.meta.outputs) L += dot(r.outputs[o.name]!, wOut[o.name]!);
    for (const s of k.meta.states) L += dot(r.finalState[s.name]!, wFinal[s.name]!);
    return L;
  };
  const r = k.forward(params as Tensors, inputs as Tensors, options());
  const g = k.backward(params as Tensors, r.tape, wOut as Tensors, { dFinalState: wFinal as Tensors });
  const snapshot = (t: Tensors) => Object.fromEntries(Object.entries(t).map(([n, a]) => [n, Float64Array.from(a)]));
  const analytic = { params: snapshot(g.params), inputs: snapshot(g.inputs), initialState: snapshot(g.initialState) };

  const worst: Record<string, number> = {};
  let checked = 0;
  const probe = (label: string, arr: Arr, grad: Float64Array) => {
    let w = 0;
    for (let i = 0; i < arr.length; i++) {
      const keep = arr[i]!;
      arr[i] = keep + eps;
      const up = loss();
      arr[i] = keep - eps;
      const down = loss();
      arr[i] = keep;
      const num = (up - down) / (2 * eps);
      w = Math.max(w, Math.abs(grad[i]! - num) / Math.max(1, Math.abs(num)));
      checked++;
    }
    worst[label] = w;
  };
  for (const p of k.meta.params) probe(`params.${p.name}`, params[p.name]!, analytic.params[p.name]!);
  for (const i of k.meta.inputs) probe(`inputs.${i.name}`, inputs[i.name]!, analytic.inputs[i.name]!);
  if (c.withInitialState !== false) for (const s of k.meta.states) probe(`initialState.${s.name}`, init[s.name]!, analytic.initialState[s.name]!);
  return { worst, checked };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
