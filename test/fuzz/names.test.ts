// Fixed-seed slice of the names fuzzer (`npm run fuzz -- --kind names` runs any amount): random
// programs whose sizes, inputs, states, params, locals, cells and outputs are named after reserved
// words, Object.prototype members and the generated module's own identifiers either compile and
// pass the differential checks, or get a diagnostic the language documents for names (none yet).

import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { loadCell } from "../../compiler/index.ts";
import { KINDS } from "./kinds.ts";
import { emptyStats, sliceProperty } from "./slice.ts";
import { typeCheck } from "./tsc.ts";

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
    const k = await import("../../compiler/index.ts").then((m) =>
      m.compile(`cell valueOf(toString) {\n  input class: [toString]\n  state __proto__: [toString], constructor: [toString]\n  param hasOwnProperty: [toString, toString]\n  tape = tanh(hasOwnProperty @ class + __proto__)\n  __proto__' = tape\n  constructor' = tape * constructor\n  output __proto__', tape\n}\n`, { dims: { toString: 2 } }),
    );
    expect(k.module, JSON.stringify(k.diagnostics)).toBeDefined();
    expect(typeCheck([k.module!.code, ...stats.modules])).toEqual([]);
    void loadCell;
  });
});
