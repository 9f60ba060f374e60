// Foreign tensors as plain data: a shape and row-major float32 values. Converts what users hand us
// (nested JSON arrays, tf.Tensor-like objects, {shape, data} records) into that one form, and back
// into nested arrays for JSON, with errors that say which tensor is malformed. Every value must be
// finite as float32: a number beyond float32's range (1e39, 3.5e38) would round to Infinity, so it
// is refused as NaN and Infinity are, with the tensor and the value's index.

import { InteropError } from "./mapping.ts";

export interface ForeignTensor {
  readonly shape: readonly number[];
  /** Row-major values. */
  readonly data: Float32Array;
}

/** Arbitrarily nested arrays of numbers, as JSON writes a tensor (`tensor.tolist()`, `arraySync()`). */
export type NestedArray = number | readonly NestedArray[];

/** Anything with a shape and synchronous data, as a tf.Tensor is. */
export interface TensorLike {
  readonly shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

export type ForeignTensorInput =
  | ForeignTensor
  | { readonly shape: readonly number[]; readonly data: ArrayLike<number> | NestedArray }
  | TensorLike
  | NestedArray;

/** Most axes a nested-array tensor may have: deeper nesting is refused before anything recurses
 *  into it (JSON can nest 10,000 deep). */
export const MAX_RANK = 32;

/** Why `x` (a given value) cannot be a float32 weight, if it cannot. */
export function notFloat32(x: unknown): string | undefined {
  if (typeof x !== "number") return `is not a number (${x === null ? "null" : typeof x})`;
  if (Number.isNaN(x)) return "is NaN";
  if (!Number.isFinite(x)) return `is ${x}`;
  if (!Number.isFinite(Math.fround(x))) return `is ${x}, beyond float32's range (±3.4028235e38)`;
  return undefined;
}

/** Normalises one user-supplied tensor; `what` names it in errors. */
export function toForeignTensor(value: ForeignTensorInput, what: string): ForeignTensor {
  if (typeof value === "number" || Array.isArray(value)) {
    const shape = nestedShape(value as NestedArray, what);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    let i = 0;
    const walk = (v: NestedArray): void => {
      if (typeof v === "number") data[i++] = v;
      else for (const e of v) walk(e);
    };
    walk(value as NestedArray);
    return { shape, data };
  }
  if (typeof value === "object" && value !== null && "shape" in value) {
    const shape = checkShape(value.shape, what);
    const size = shape.reduce((a, b) => a * b, 1);
    let flat: ArrayLike<number>;
    if ("dataSync" in value && typeof value.dataSync === "function") flat = value.dataSync();
    else if ("data" in value) {
      const d = value.data;
      flat = Array.isArray(d) ? toForeignTensor(d as NestedArray, what).data : (d as ArrayLike<number>);
    } else throw new InteropError(`${what}: a tensor object needs "data" (or dataSync())`);
    if (flat.length !== size) {
      throw new InteropError(`${what}: shape [${shape.join(", ")}] holds ${size} values but ${flat.length} were given`);
    }
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const x = flat[i]!;
      const bad = notFloat32(x);
      if (bad) throw new InteropError(`${what}: value ${i} ${bad}; weights must be finite float32 numbers`);
      data[i] = x;
    }
    return { shape, data };
  }
  throw new InteropError(`${what}: expected nested arrays of numbers or a {shape, data} tensor`);
}

/** Nested arrays for JSON: shape [2, 3] becomes [[a, b, c], [d, e, f]]. */
export function toNested(t: ForeignTensor): NestedArray {
  const build = (dim: number, offset: number): NestedArray => {
    if (dim === t.shape.length) return t.data[offset]!;
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const out: NestedArray[] = [];
    for (let i = 0; i < t.shape[dim]!; i++) out.push(build(dim + 1, offset + i * stride));
    return out;
  };
  return build(0, 0);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function nestedShape(v: NestedArray, what: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    if (shape.length === MAX_RANK) throw new InteropError(`${what}: arrays nested more than ${MAX_RANK} deep (at element ${"[0]".repeat(MAX_RANK)}); a tensor has at most ${MAX_RANK} axes`);
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = (cur as readonly NestedArray[])[0]!;
  }
  const check = (x: NestedArray, dim: number, path: string): void => {
    if (dim === shape.length) {
      const bad = notFloat32(x);
      if (bad) throw new InteropError(`${what}: element ${path || "(scalar)"} ${bad}; weights must be finite float32 numbers`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new InteropError(`${what}: ragged nested array at ${path || "the top"}: expected ${shape[dim]} entries`);
    }
    (x as readonly NestedArray[]).forEach((e, i) => check(e, dim + 1, `${path}[${i}]`));
  };
  check(v, 0, "");
  return shape;
}

function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InteropError(`${what}: shape must be a list of non-negative integers`);
  }
  return shape as number[];
}
