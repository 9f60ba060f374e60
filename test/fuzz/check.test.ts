// Fixed-seed slice of the front-end mutation fuzzer (`npm run fuzz -- --kind check` runs any
// amount): check never throws, its diagnostics are well formed, formatting them never throws, and
// no case takes over a second.

import { test } from "@fast-check/vitest";
import { afterAll, expect } from "vitest";
import { KINDS } from "./kinds.ts";
import { emptyStats, sliceProperty } from "./slice.ts";

const stats = emptyStats();

test.prop([KINDS.check.arb], { seed: 20261130, numRuns: 300 })("check: 300 mutated and generated specs", sliceProperty("check", stats), 120_000);

afterAll(() => {
  // The slice did real work: most cases ran, and some of them were clean specs.
  expect(stats.cases).toBe(300);
  expect(stats.passed).toBeGreaterThan(250);
  expect(stats.totals["clean"] ?? 0).toBeGreaterThan(10);
});
