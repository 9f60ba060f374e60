// Parameter initializers of the kernel contract (each ParamMeta.init rule) and the seeded generator
// they draw from, defined once, here: every generated TypeScript and WebAssembly module carries this
// file's text inlined (its createParams({ seed }) draws from it; backends/ts/support.ts reads it as a
// runtime asset), and the runtime's initializers and Rng (runtime/init.ts, runtime/rng.ts) import
// these same functions, so a kernel's createParams({ seed }) and a recurrent layer built with
// new Rng(seed) hold the same numbers. It imports nothing (test/layering.test.ts holds it to that).
//
// Initializers a spec can name (`param W: [H, I] = glorot`). Conventions follow Keras: a matrix
// [out, in] has fan_out = out and fan_in = in; glorot is Glorot-uniform; orthogonal is an
// orthonormal basis from a Gaussian matrix (Gram-Schmidt here, Keras uses QR; both give
// Haar-distributed bases).
//
// Generator: xoshiro128** (Blackman & Vigna), 32-bit state words, seeded through splitmix32 so
// that nearby seeds give unrelated streams. Normals use the Box-Muller transform.

// ---- inline from here

/** An initializer as a spec names it (the same union as abi/kernel.ts's InitSpec). */
export type InitRule =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "const"; readonly value: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "glorot" }
  | { readonly kind: "orthogonal" };

/** splitmix32 step: scrambles a 32-bit counter into a well-mixed word. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded generator: the same seed gives the same numbers on every engine and backend. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** A second Box-Muller normal kept for the next call. */
  private spare: number | undefined;

  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
    let x = Math.trunc(seed) | 0;
    this.s0 = splitmix32((x = (x + 0x9e3779b9) | 0));
    this.s1 = splitmix32((x = (x + 0x9e3779b9) | 0));
    this.s2 = splitmix32((x = (x + 0x9e3779b9) | 0));
    this.s3 = splitmix32((x = (x + 0x9e3779b9) | 0));
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** Normal with the given mean and standard deviation (Box-Muller). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }
}

/** Fills `out` (a parameter of `shape`) according to `init`. */
export function initialize(out: Float32Array, shape: readonly number[], init: InitRule, rng: Rng): void {
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
