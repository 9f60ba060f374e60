// A float64 TypeScript module is the float32 text with Float32Array retyped; a spec's own name
// "Float32Array" (a size, an input, a state, a parameter) must survive that: the meta, the keys
// callers pass and the values are those of the float32 build (a fuzzer find: the float64 meta
// said "Float64Array", which the WebAssembly build, rightly, did not).

import { describe, expect, it } from "vitest";
import { loadCell } from "../driver/index.ts";
import type { Tensors } from "../abi/kernel.ts";

const SPECS = [
  `cell c(Float32Array) {\n  input x: [Float32Array]\n  state h: [Float32Array]\n  param W: [Float32Array, Float32Array]\n  h' = tanh(W @ x + h)\n  output h'\n}`,
  `cell d(H) {\n  input x: [H]\n  state Float32Array: [H]\n  param U: [H, H]\n  Float32Array' = tanh(U @ x + Float32Array)\n  output Float32Array'\n}`,
  `cell e(H) {\n  input Float32Array: [H]\n  state h: [H]\n  param Float64Array: [H]\n  h' = tanh(Float32Array * Float64Array + h)\n  output h'\n}`,
];

describe("a spec name Float32Array in a float64 build", () => {
  it.each(SPECS.map((s, i) => [i, s] as const))("spec %i: the float64 meta and results equal the float32 build's", async (_i, src) => {
    const dims = { Float32Array: 3, H: 3 };
    const k32 = await loadCell(src, { dims });
    const k64 = await loadCell(src, { dims, dtype: "float64" });
    expect(k64.meta).toEqual(k32.meta);
    const p32 = k32.createParams();
    const p64 = k64.createParams();
    expect(Object.keys(p64)).toEqual(Object.keys(p32));
    k32.meta.params.forEach((p, n) => {
      for (let j = 0; j < p.size; j++) p32[p.name]![j] = p64[p.name]![j] = Math.sin(n + j) / 2;
    });
    const T = 4;
    const wave = (n: number) => Array.from({ length: n }, (_, j) => Math.cos(j));
    const inputs = (wide: boolean): Tensors =>
      Object.fromEntries(k32.meta.inputs.map((v) => [v.name, wide ? Float64Array.from(wave(T * v.size)) : Float32Array.from(wave(T * v.size))])) as Tensors;
    const r32 = k32.forward(p32, inputs(false), { batchSize: 1 });
    const r64 = k64.forward(p64, inputs(true), { batchSize: 1 });
    for (const o of k32.meta.outputs) {
      const a = r32.outputs[o.name]!;
      const b = r64.outputs[o.name]!;
      expect(b).toBeInstanceOf(Float64Array);
      a.forEach((v, j) => expect(b[j]).toBeCloseTo(v, 5));
    }
    for (const s of k32.meta.states) expect(r64.finalState[s.name]).toBeInstanceOf(Float64Array);
  });
});
