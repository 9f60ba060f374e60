// How a recurrent layer's batch-major tensors meet its kernel's time-major arrays (abi/kernel.ts):
// the layer takes x as [B, T, F] (as Keras does) and the kernel reads each input as [T, B, n],
// the feature axis split across the kernel's inputs in declaration order; the kernel's first
// output comes back [T, B, H] and the layer returns it [B, T, H], or the last valid step [B, H].
// Backward runs the same moves the other way. Pure data movement over caller-owned buffers.

import type { Tensors, VectorMeta } from "../../abi/kernel.ts";
import type { Tensor } from "../tensor.ts";
import { ensure } from "./layer.ts";

/** x [B, T, F] -> each kernel input [T, B, n] in `xs` (buffers reused), times `mask` [B, F]
 *  (input dropout: one mask per sequence) where given. */
export function toTimeMajor(x: Float32Array, B: number, T: number, F: number, inputs: readonly VectorMeta[], mask: Float32Array | undefined, xs: Tensors): void {
  let off = 0;
  for (const inp of inputs) {
    const n = inp.size;
    const buf = (xs[inp.name] = ensure(xs[inp.name], T * B * n));
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const src = (b * T + t) * F + off;
        const dst = (t * B + b) * n;
        if (mask) for (let j = 0; j < n; j++) buf[dst + j] = x[src + j]! * mask[b * F + off + j]!;
        else for (let j = 0; j < n; j++) buf[dst + j] = x[src + j]!;
      }
    }
    off += n;
  }
}

/** The inputs' gradients [T, B, n] -> dx [B, T, F], times the input dropout mask where given. */
export function inputGradientsToBatchMajor(g: Tensors, B: number, T: number, F: number, inputs: readonly VectorMeta[], mask: Float32Array | undefined, dx: Float32Array): void {
  let off = 0;
  for (const inp of inputs) {
    const n = inp.size;
    const gi = g[inp.name]!;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const dst = (b * T + t) * F + off;
        const src = (t * B + b) * n;
        if (mask) for (let j = 0; j < n; j++) dx[dst + j] = gi[src + j]! * mask[b * F + off + j]!;
        else for (let j = 0; j < n; j++) dx[dst + j] = gi[src + j]!;
      }
    }
    off += n;
  }
}

/** An output o [T, B, H] -> y: every step [B, T, H] (`sequences`), else each sample's last valid
 *  step [B, H] (zeros for a sample of length 0). */
export function outputToBatchMajor(o: Float32Array, B: number, T: number, H: number, sequences: boolean, lengths: ArrayLike<number> | undefined, y: Float32Array): void {
  if (sequences) {
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) y.set(o.subarray((t * B + b) * H, (t * B + b + 1) * H), (b * T + t) * H);
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    const t = (lengths ? lengths[b]! : T) - 1;
    if (t < 0) y.fill(0, b * H, (b + 1) * H);
    else y.set(o.subarray((t * B + b) * H, (t * B + b + 1) * H), b * H);
  }
}

/** d loss / d y (as outputToBatchMajor laid y out) -> d loss / d output [T, B, H] in dOut. */
export function outputGradientToTimeMajor(dy: Float32Array, B: number, T: number, H: number, sequences: boolean, lengths: ArrayLike<number> | undefined, dOut: Float32Array): void {
  if (sequences) {
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) dOut.set(dy.subarray((b * T + t) * H, (b * T + t + 1) * H), (t * B + b) * H);
    }
    return;
  }
  dOut.fill(0);
  for (let b = 0; b < B; b++) {
    const t = (lengths ? lengths[b]! : T) - 1;
    if (t >= 0) dOut.set(dy.subarray(b * H, (b + 1) * H), (t * B + b) * H);
  }
}

/** A layer's configured initial state for a batch of B: per state, [n] shared by all samples
 *  (repeated to [B, n]) or [B, n] as given. `label` names the layer in errors. */
export function initialStateFor(given: Readonly<Partial<Tensors>>, states: readonly VectorMeta[], B: number, label: string, cell: string): Partial<Tensors> {
  const out: Partial<Tensors> = {};
  for (const [name, v] of Object.entries(given)) {
    if (!v) continue;
    const sm = states.find((s) => s.name === name);
    if (!sm) throw new Error(`layer '${label}': initialState names '${name}', but cell '${cell}' has states ${states.map((s) => s.name).join(", ")}`);
    if (v.length === B * sm.size) out[name] = v;
    else if (v.length === sm.size) {
      const full = new Float32Array(B * sm.size);
      for (let b = 0; b < B; b++) full.set(v, b * sm.size);
      out[name] = full;
    } else {
      throw new Error(`layer '${label}': initialState '${name}' has ${v.length} values; expected ${sm.size} or ${B} x ${sm.size}`);
    }
  }
  return out;
}

/** A call's initial states given as inputs after x (functional models): [B, n] each, by name. */
export function statesFromInputs(xs: readonly Tensor[], states: readonly VectorMeta[], label: string): Tensors {
  const given: Tensors = {};
  const B = xs[0]!.shape[0]!;
  states.forEach((s, i) => {
    const v = xs[i + 1]!;
    if (v.shape.length !== 2 || v.shape[0] !== B || v.shape[1] !== s.size) {
      throw new Error(`layer '${label}': initial state '${s.name}' must be [${B}, ${s.size}], got [${v.shape.join(", ")}]`);
    }
    given[s.name] = v.data;
  });
  return given;
}
