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

describe("issue 8 defect 4: a spec's names may be Object.prototype members, reserved words or the module's own identifiers", () => {
  // Every role: sizes, inputs, states, params, locals, outputs and the cell; `batchSize` is the
  // streaming step's own parameter (found by the names fuzzer). (A size named
  // __proto__, or an Object.prototype name with a default, is the --dims binding's business:
  // bindDims, the front end's.)
  const spec = `cell valueOf(toString, constructor) {
    input class: [toString], tape: [constructor]
    state __proto__: [constructor], hasOwnProperty: [toString], B: [toString]
    param gemm: [constructor, toString], where: [constructor, constructor], this: [constructor] = const(0.1)
    param isPrototypeOf: [toString, constructor], grads: [toString]
    delete = tanh(gemm @ class + where @ __proto__ + this)
    meta = sigmoid(isPrototypeOf @ tape + grads) * hasOwnProperty
    __proto__' = delete * __proto__ + 0.5 * delete
    hasOwnProperty' = meta + B
    batchSize = tanh(B - meta)
    B' = batchSize
    output __proto__', meta, hasOwnProperty'
  }`;
  const dims = { toString: 2, constructor: 3 };

  it("gradients match finite differences, optimised and plain, with lengths and masks", async () => {
    const { fdCheck, problem } = await import("./fuzz/fd.ts");
    for (const optimize of [true, false]) {
      const k = await loadCell(spec, { dims, dtype: "float64", optimize });
      expect(k.meta.states.map((s) => s.name)).toEqual(["__proto__", "hasOwnProperty", "B"]);
      expect(Object.keys(k.meta.dims)).toEqual(["toString", "constructor"]);
      for (const p of [problem(k, 3, 3, 2), problem(k, 4, 3, 3, { lengths: [3, 1, 0], masks: true })]) {
        const r = fdCheck(k, p);
        expect(r.checked).toBeGreaterThan(50);
        expect(r.worst, JSON.stringify(r.worst)).toBeUndefined();
      }
    }
  });

  it("objects the module makes hold every name as an own key; keys a caller leaves out read as absent", async () => {
    const k = await loadCell(spec, { dims });
    expect(Object.keys(k.createState(1)).sort()).toEqual(["B", "__proto__", "hasOwnProperty"]);
    expect(Object.keys(k.createParams()).sort()).toEqual(["gemm", "grads", "isPrototypeOf", "this", "where"]);
    const params = k.createParams();
    for (const a of Object.values(params)) a.fill(0.3);
    const inputs = { class: new Float32Array(2 * 2).fill(1), tape: new Float32Array(2 * 3).fill(-1) };
    // Only hasOwnProperty given: inherited members such as __proto__ must not count as given.
    const init = { hasOwnProperty: new Float32Array(2).fill(1) };
    const f = k.forward(params, inputs, { batchSize: 1, timeSteps: 2, initialState: init, stateMasks: {} });
    expect(Object.keys(f.outputs).sort()).toEqual(["__proto__", "hasOwnProperty", "meta"]);
    expect(f.finalState["__proto__"]!.some((v) => v !== 0)).toBe(true);
    // dOutputs without the `hasOwnProperty` output: its gradient is zero, not NaN.
    const g = k.backward(params, f.tape, { meta: new Float32Array(2 * 2).fill(1) }, { dFinalState: {} });
    for (const a of [...Object.values(g.params), ...Object.values(g.inputs), ...Object.values(g.initialState)]) {
      expect(a.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(g.params["grads"]!.some((v) => v !== 0)).toBe(true);
    const s = k.createState(1);
    const out = k.step(params, { class: new Float32Array(2).fill(1), tape: new Float32Array(3).fill(-1) }, s, 1);
    expect(Object.keys(out).sort()).toEqual(["__proto__", "hasOwnProperty", "meta"]);
  });
});
