// Regression tests for the middle and back end defects of issue 8 (and the ones the random-program
// fuzzer of test/fuzz found later): each spec is built optimised and plain in float64, and
// backward is compared with central finite differences.

import { describe, expect, it } from "vitest";
import { loadCell } from "../compiler/index.ts";
import { gradCheck } from "./helpers/gradcheck.ts";

const TOL = 1e-6;

async function gradientsAgree(spec: string, dims: Record<string, number>): Promise<void> {
  for (const optimize of [true, false]) {
    const k = await loadCell(spec, { dims, dtype: "float64", optimize });
    for (const c of [{}, { B: 3, lengths: [3, 1, 0], withMasks: true }]) {
      const r = gradCheck({ kernel: k, T: 3, B: 2, seed: 4, arrayType: Float64Array, ...c });
      expect(r.checked).toBeGreaterThan(0);
      for (const [name, err] of Object.entries(r.worst)) expect(err, `${optimize ? "optimised" : "plain"} ${name}`).toBeLessThan(TOL);
    }
  }
}

describe("issue 8 defects", () => {
  it("defect 1: a concat part hoisted out of the time loop is not written into a per-step concat", async () => {
    // The optimised dU was off by 0.42 at H=3: U @ x ran over all T·B rows into the concat's
    // one-step buffer.
    const spec = `cell m(H) {
      input x: [H]
      state h: [H]
      param U: [H, H]
      h' = tanh(concat(U @ x, h)[0:H])
      output h'
    }`;
    await gradientsAgree(spec, { H: 3 });
  });

  it("defect 2: a slice of a state that backward reads keeps its rows (no 'h is not defined')", async () => {
    const spec = `cell m(H) {
      input x: [H]
      state h: [H]
      param b: [H]
      h' = b * h[0:H]
      output h'
    }`;
    await gradientsAgree(spec, { H: 3 });
  });
});
