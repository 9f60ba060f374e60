// The data the runtime's public API takes and returns: a flat Float32Array plus a shape,
// batch first. Nested number arrays are accepted at the API boundary and converted here, and
// every user-supplied array is validated here so a mistake is reported naming the argument,
// never as a stack trace from deep inside a layer.

export interface Tensor {
  /** Row-major values; data.length equals the product of shape. */
  data: Float32Array;
  /** Batch first: [B], [B, F], [B, T], [B, T, F], ... */
  shape: number[];
  /** Optional per-sample sequence lengths (B entries, each 0..T) for a [B, T, ...] tensor:
   *  recurrent layers stop each sample at its length and losses ignore the steps past it. */
  lengths?: Int32Array;
}

/** Nested arrays of numbers, e.g. [[1, 2], [3, 4]]. */
export type NestedArray = number | NestedArray[];

/** What the API accepts where it needs data. */
export type TensorLike = Tensor | NestedArray[];

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/** Builds a tensor, checking that data and shape agree. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[], lengths?: ArrayLike<number>): Tensor {
  const d = data instanceof Float32Array ? data : Float32Array.from(data);
  const t: Tensor = { data: d, shape: [...shape] };
  if (lengths) t.lengths = Int32Array.from(lengths);
  return validateTensor(t, "tensor");
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "data" in x && "shape" in x;
}

function nestedShape(x: NestedArray[], name: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  if (shape.length === 0) throw new Error(`${name} is empty`);
  return shape;
}

function flatten(x: NestedArray, shape: number[], depth: number, out: Float32Array, pos: { i: number }, name: string, path: string): void {
  if (depth === shape.length) {
    if (typeof x !== "number") throw new Error(`${name}${path} should be a number at depth ${depth}, got ${Array.isArray(x) ? "an array" : typeof x}`);
    out[pos.i++] = x;
    return;
  }
  if (!Array.isArray(x)) throw new Error(`${name}${path} should be an array of ${shape[depth]} entries, got ${typeof x}`);
  if (x.length !== shape[depth]) {
    throw new Error(`${name}${path} has ${x.length} entries but its siblings have ${shape[depth]} (ragged arrays are not supported; pad and pass lengths)`);
  }
  for (let i = 0; i < x.length; i++) flatten(x[i]!, shape, depth + 1, out, pos, name, `${path}[${i}]`);
}

/** Converts a Tensor or nested arrays into a validated Tensor. `name` names the argument in errors. */
export function toTensor(x: TensorLike | undefined | null, name: string): Tensor {
  if (x === undefined || x === null) throw new Error(`${name} is missing`);
  if (isTensor(x)) {
    if (!(x.data instanceof Float32Array)) throw new Error(`${name}.data must be a Float32Array`);
    if (!Array.isArray(x.shape)) throw new Error(`${name}.shape must be an array of sizes`);
    return validateTensor(x, name);
  }
  if (!Array.isArray(x)) throw new Error(`${name} must be a Tensor { data, shape } or nested arrays of numbers`);
  const shape = nestedShape(x, name);
  const out = new Float32Array(sizeOf(shape));
  flatten(x, shape, 0, out, { i: 0 }, name, "");
  return validateTensor({ data: out, shape }, name);
}

/** Checks shape sizes, data length, finiteness and lengths; returns the tensor unchanged. */
export function validateTensor(t: Tensor, name: string): Tensor {
  if (t.shape.length === 0) throw new Error(`${name} must have at least one dimension (the batch)`);
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${name} has an invalid shape ${shapeString(t.shape)}: sizes must be non-negative integers`);
  }
  const n = sizeOf(t.shape);
  if (t.data.length !== n) {
    throw new Error(`${name} has ${t.data.length} values but its shape ${shapeString(t.shape)} needs ${n}`);
  }
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!Number.isFinite(v)) {
      const per = n / t.shape[0]!;
      throw new Error(`${name} contains ${Number.isNaN(v) ? "NaN" : v} at flat index ${i} (sample ${Math.floor(i / per)})`);
    }
  }
  if (t.lengths !== undefined) {
    const L = t.lengths;
    if (t.shape.length < 2) throw new Error(`${name}.lengths is given but ${name} has no time axis (shape ${shapeString(t.shape)})`);
    if (L.length !== t.shape[0]) {
      throw new Error(`${name}.lengths has ${L.length} entries but ${name} has ${t.shape[0]} samples`);
    }
    const T = t.shape[1]!;
    for (let b = 0; b < L.length; b++) {
      const l = L[b]!;
      if (!Number.isInteger(l) || l < 0 || l > T) throw new Error(`${name}.lengths[${b}] is ${l}; it must be an integer in 0..${T}`);
    }
  }
  return t;
}

/** Rows `idx` of a batch-first tensor (a new tensor; lengths follow). */
export function gatherRows(t: Tensor, idx: ArrayLike<number>, start = 0, end = idx.length): Tensor {
  const per = t.shape[0] === 0 ? 0 : t.data.length / t.shape[0]!;
  const n = end - start;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const r = idx[start + i]!;
    out.set(t.data.subarray(r * per, (r + 1) * per), i * per);
  }
  const res: Tensor = { data: out, shape: [n, ...t.shape.slice(1)] };
  if (t.lengths) {
    const L = new Int32Array(n);
    for (let i = 0; i < n; i++) L[i] = t.lengths[idx[start + i]!]!;
    res.lengths = L;
  }
  return res;
}

/** Rows start..end of a batch-first tensor, as views (no copy). */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const per = t.shape[0] === 0 ? 0 : t.data.length / t.shape[0]!;
  const res: Tensor = { data: t.data.subarray(start * per, end * per), shape: [end - start, ...t.shape.slice(1)] };
  if (t.lengths) res.lengths = t.lengths.subarray(start, end);
  return res;
}

/** Row-wise concatenation of batch-first tensors with equal trailing shapes. */
export function concatRows(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new Error("concatRows needs at least one tensor");
  const rows = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const data = new Float32Array(parts.reduce((s, p) => s + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  const res: Tensor = { data, shape: [rows, ...parts[0]!.shape.slice(1)] };
  if (parts.every((p) => p.lengths)) {
    const L = new Int32Array(rows);
    let r = 0;
    for (const p of parts) {
      L.set(p.lengths!, r);
      r += p.shape[0]!;
    }
    res.lengths = L;
  }
  return res;
}

/** "[batch, ?, 2]" for a per-sample shape. */
export function batchShapeString(per: readonly (number | null)[]): string {
  return `[${["batch", ...per.map((d) => (d === null ? "?" : String(d)))].join(", ")}]`;
}
