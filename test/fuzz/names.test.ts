// Fixed-seed slice of the names fuzzer (`npm run fuzz -- --kind names` runs any amount): random
// programs whose sizes, inputs, states, params, locals, cells and outputs are named after reserved
// words, Object.prototype members and the generated module's own identifiers either compile and
// pass the differential checks, or get a diagnostic the language documents for names (none yet).

import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { compile } from "../../driver/index.ts";
import { KINDS } from "./kinds.ts";
import { emptyStats, sliceProperty } from "./slice.ts";
import { typeCheck } from "./tsc.ts";
import { evaluateModule } from "./builds.ts";

const stats = emptyStats();

describe("names fuzz slice", () => {
  it("setup collects the generated module's own identifiers", async () => {
    await KINDS.names.setup!();
  });

  test.prop([KINDS.names.arb], { seed: 20261130, numRuns: 16 })("names: 16 programs with hostile names through every build", sliceProperty("names", stats, 3), 300_000);

  it("the slice compiled most programs, and their modules pass tsc --strict", async () => {
    expect(stats.passed).toBeGreaterThan(11);
    expect(stats.totals["checked"] ?? 0).toBeGreaterThan(500);
    // A module with every kind of hostile key, for certain.
    const spec = `cell valueOf(toString) {
  input class: [toString]
  state __proto__: [toString], constructor: [toString]
  param hasOwnProperty: [toString, toString]
  tape = tanh(hasOwnProperty @ class + __proto__)
  __proto__' = tape
  constructor' = tape * constructor
  output __proto__', tape
}
`;
    const k = await compile(spec, { dims: { toString: 2 } });
    expect(k.module, JSON.stringify(k.diagnostics)).toBeDefined();
    expect(typeCheck([k.module!.code, ...stats.modules])).toEqual([]);
  });

  it("an input, output and state named __proto__ are own keys of every result (found by the names fuzzer in the wasm build)", async () => {
    const spec = `cell c0(N) {
  input __proto__: [N]
  state h0: [N]
  state __proto__x: [N]
  h0' = __proto__ * 2
  __proto__x' = h0 + __proto__
  output __proto__
  output h0'
}
`;
    const x = Float32Array.from([0.5, -1.5]);
    for (const target of ["ts", "wasm"] as const) {
      const k = evaluateModule((await compile(spec, { dims: { N: 2 }, format: false, target })).module!.code);
      const inputs = Object.defineProperty({}, "__proto__", { value: x, enumerable: true });
      const r = k.forward(k.createParams(), inputs as never, { batchSize: 1 });
      expect(Object.keys(r.outputs)).toEqual(["__proto__", "h0"]);
      expect(Object.getPrototypeOf(r.outputs)).toBe(Object.prototype);
      expect(Array.from(r.outputs["__proto__"]!)).toEqual([0.5, -1.5]);
      expect(Array.from(r.outputs["h0"]!)).toEqual([1, -3]);
      expect(Array.from(r.finalState["__proto__x"]!)).toEqual([0.5, -1.5]); // h0 (zero) + x
      const dOut = Object.defineProperty({ h0: Float32Array.from([1, 1]) }, "__proto__", { value: Float32Array.from([1, 1]), enumerable: true });
      const g = k.backward(k.createParams(), r.tape, dOut as never);
      expect(Object.keys(g.inputs)).toEqual(["__proto__"]);
      expect(Array.from(g.inputs["__proto__"]!)).toEqual([3, 3]); // d/dx of x (output) + 2x (h0')
    }
  });

  it("a float64 build keeps a name spelled like the array type it replaces (found by the wasm build's differential comparison)", async () => {
    const spec = `cell Float32Array(Float32Array) {
  input Float32Array: [Float32Array]
  state h: [Float32Array]
  param Float64Array: [Float32Array, Float32Array]
  h' = tanh(Float64Array @ Float32Array + h)
  output h'
}
`;
    for (const target of ["ts", "wasm"] as const) {
      const k = evaluateModule((await compile(spec, { dims: { Float32Array: 2 }, dtype: "float64", format: false, target })).module!.code);
      expect(k.meta.dims).toEqual({ Float32Array: 2 });
      expect(k.meta.inputs.map((i) => i.name)).toEqual(["Float32Array"]);
      expect(Object.keys(k.createParams())).toEqual(["Float64Array"]);
      const out = k.forward({ Float64Array: Float64Array.from([1, 0, 0, 1]) } as never, { Float32Array: Float64Array.from([0.5, -0.5]) } as never, { batchSize: 1 });
      expect(Array.from(out.outputs["h"]!)).toEqual([Math.tanh(0.5), Math.tanh(-0.5)].map((v) => expect.closeTo(v, 12)));
    }
  });
});
