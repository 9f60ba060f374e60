// Fixed-seed slice of the names fuzzer (`npm run fuzz -- --kind names` runs any amount): random
// programs whose sizes, inputs, states, params, locals, cells and outputs are named after reserved
// words, Object.prototype members and the generated module's own identifiers either compile and
// pass the differential checks, or get a diagnostic the language documents for names (none yet).

import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { compile } from "../../compiler/index.ts";
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
