// Fixed-seed slice of the differential fuzzer (`npm run fuzz -- --kind compile` runs any amount):
// random well-typed cells and stacks, built optimised and plain in float64, agree with each other,
// with central finite differences (also with lengths and state masks) and with repeated `step`;
// a sample of their modules passes tsc --strict.

import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { functionNames } from "../../compiler/functions.ts";
import { tapeArb } from "./choices.ts";
import { generateProgram, GENERATED_FUNCTIONS } from "./gen-cell.ts";
import { KINDS } from "./kinds.ts";
import { plainNames } from "./names.ts";
import { emptyStats, sliceProperty } from "./slice.ts";
import { typeCheck } from "./tsc.ts";
import fc from "fast-check";

const stats = emptyStats();

describe("compile fuzz slice", () => {
  it("the generator calls every function of the language and reaches every feature", () => {
    expect([...GENERATED_FUNCTIONS].sort()).toEqual([...functionNames].sort());
    const seen = new Set<string>();
    for (const t of fc.sample(tapeArb(), { seed: 5, numRuns: 300 })) for (const f of generateProgram(t, { names: plainNames() }).features) seen.add(f);
    for (const f of [...GENERATED_FUNCTIONS, "matvec", "slice", "local", "scalar constant", "no inputs", "several inputs", "several outputs", "stack", "nested stack", "param vector", "repeated subexpression", "matrix state", "matrix local", "matrix times vector", "matrix product", "matrix elementwise", "scalar state", "[1] broadcast", "size as number"]) {
      expect(seen.has(f), f).toBe(true);
    }
  });

  test.prop([KINDS.compile.arb], { seed: 20261130, numRuns: 16 })("compile: 16 random programs through every build", sliceProperty("compile", stats, 4), 300_000);

  it("the slice checked real gradients, and its sampled modules pass tsc --strict", () => {
    expect(stats.passed).toBeGreaterThan(12);
    expect(stats.totals["checked"] ?? 0).toBeGreaterThan(1000);
    expect(stats.modules.length).toBeGreaterThan(2);
    expect(typeCheck(stats.modules)).toEqual([]);
  });
});
