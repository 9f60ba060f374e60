// Reading the caller's params in place (inlined into every generated TypeScript module; tests
// import it). Params made by a module's createParams are views of one buffer in which the parts
// of each stacked matrix lie side by side, so a product reads the stacked matrix directly.

// ---- inline from here

/** True when `b` starts right where `a` ends, in the same buffer. */
export function follows(b: Float32Array, a: Float32Array): boolean {
  return b.buffer === a.buffer && b.byteOffset === a.byteOffset + a.byteLength;
}

const spans = new WeakMap<Float32Array, Float32Array>();

/** The n elements starting at `first`, in its buffer (one view per first array, kept). */
export function span(first: Float32Array, n: number): Float32Array {
  let v = spans.get(first);
  if (v === undefined || v.length !== n) {
    v = new Float32Array(first.buffer, first.byteOffset, n);
    spans.set(first, v);
  }
  return v;
}
