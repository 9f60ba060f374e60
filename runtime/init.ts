// Initializers a spec can name (`param W: [H, I] = glorot`), applied to a kernel's zero-filled
// parameters from each ParamMeta.init. Conventions follow Keras: a matrix [out, in] has
// fan_out = out and fan_in = in; glorot is Glorot-uniform; orthogonal is an orthonormal basis
// from a Gaussian matrix (Gram-Schmidt here, Keras uses QR; both give Haar-distributed bases).

import type { InitSpec, ParamMeta, Tensors } from "../abi/kernel.ts";
import type { Rng } from "./rng.ts";

/** Fills `out` (a parameter of `shape`) according to `init`. */
export function initialize(out: Float32Array, shape: readonly number[], init: InitSpec, rng: Rng): void {
  switch (init.kind) {
    case "zeros":
      out.fill(0);
      return;
    case "ones":
      out.fill(1);
      return;
    case "const":
      out.fill(init.value);
      return;
    case "uniform":
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(init.low, init.high);
      return;
    case "normal":
      for (let i = 0; i < out.length; i++) out[i] = rng.normal(0, init.std);
      return;
    case "glorot": {
      const { fanIn, fanOut } = fans(shape);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "orthogonal":
      orthogonal(out, shape, rng);
      return;
    default: {
      const never: never = init;
      throw new Error(`unknown initializer ${JSON.stringify(never)}`);
    }
  }
}

/** fan_in / fan_out as Keras computes them: [out, in] for a matrix, [n] counts as n both ways. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[1]!, fanOut: shape[0]! };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const n = shape.reduce((a, b) => a * b, 1);
  return { fanIn: n, fanOut: n };
}

/** A matrix with orthonormal rows (when rows <= cols) or columns (when rows >= cols). */
function orthogonal(out: Float32Array, shape: readonly number[], rng: Rng): void {
  const rows = shape.length === 2 ? shape[0]! : 1;
  const cols = shape.length === 2 ? shape[1]! : out.length;
  // Orthonormalise k vectors of length n, k <= n, then lay them out as rows or columns.
  const k = Math.min(rows, cols);
  const n = Math.max(rows, cols);
  const v = new Float64Array(k * n);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  for (let a = 0; a < k; a++) {
    // Modified Gram-Schmidt, twice for numerical orthogonality.
    for (let pass = 0; pass < 2; pass++) {
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += v[a * n + j]! * v[b * n + j]!;
        for (let j = 0; j < n; j++) v[a * n + j]! -= dot * v[b * n + j]!;
      }
    }
    let norm = 0;
    for (let j = 0; j < n; j++) norm += v[a * n + j]! ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-12) throw new Error("orthogonal initializer: degenerate random matrix (try another seed)");
    for (let j = 0; j < n; j++) v[a * n + j]! /= norm;
  }
  for (let a = 0; a < k; a++) {
    for (let j = 0; j < n; j++) {
      // rows <= cols: vector a is row a; otherwise vector a is column a.
      if (rows <= cols) out[a * cols + j] = v[a * n + j]!;
      else out[j * cols + a] = v[a * n + j]!;
    }
  }
}

/** Applies every parameter's declared init to a kernel's parameter buffers. */
export function initializeParams(params: Tensors, metas: readonly ParamMeta[], rng: Rng): void {
  for (const m of metas) {
    const buf = params[m.name];
    if (!buf) throw new Error(`kernel parameters lack '${m.name}' that its meta declares`);
    if (buf.length !== m.size) throw new Error(`kernel parameter '${m.name}' has ${buf.length} values, meta says ${m.size}`);
    initialize(buf, m.shape, m.init, rng);
  }
}
