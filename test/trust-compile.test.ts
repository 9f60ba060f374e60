// Regression tests for the middle and back end defects of issue 8 (and the ones the random-program
// fuzzer of test/fuzz found later): each spec is built optimised and plain in float64, and
// backward is compared with central finite differences.

import { describe, expect, it } from "vitest";
import { loadCell } from "../driver/index.ts";
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

describe("found by the random-program fuzzer (test/fuzz)", () => {
  it("step: a new state that is a slice of another state reads it before the states are overwritten", async () => {
    // Shrunk from `npm run fuzz -- --kind compile --seed 202 --from 23 --cases 1`: step wrote h0'
    // into state.h0, then copied h1' = h0[0:2] from the overwritten array.
    const spec = `cell c0(N0) {
      state h0: [2 * N0], h1: [N0 + N0]
      param W0: [2 * N0, 2 * N0]
      h1' = h0[0:N0 + N0]
      h0' = 0.25 * (W0 @ h1)
      output h1'
    }`;
    for (const optimize of [true, false]) {
      const k = await loadCell(spec, { dims: { N0: 1 }, dtype: "float64", optimize });
      const params = k.createParams();
      params["W0"]!.set([0.5, -1, 2, 0.25]);
      const init = { h0: new Float64Array([1, 2]), h1: new Float64Array([3, -4]) } as never;
      const T = 4;
      const f = k.forward(params, {}, { batchSize: 1, timeSteps: T, initialState: init });
      // Reference: the recurrence written out.
      let h0 = [1, 2];
      let h1 = [3, -4];
      const want: number[] = [];
      for (let t = 0; t < T; t++) {
        const n1 = h0;
        const n0 = [0.25 * (0.5 * h1[0]! - 1 * h1[1]!), 0.25 * (2 * h1[0]! + 0.25 * h1[1]!)];
        [h0, h1] = [n0, n1];
        want.push(...n1);
      }
      const close = (got: ArrayLike<number>) => expect(Array.from(got).every((v, i) => Math.abs(v - want[i]!) < 1e-12), `${Array.from(got)} vs ${want}`).toBe(true);
      close(f.outputs["h1"]!);
      const state = k.createState(1);
      state["h0"]!.set([1, 2]);
      state["h1"]!.set([3, -4]);
      const stepped: number[] = [];
      for (let t = 0; t < T; t++) stepped.push(...k.step(params, {}, state, 1)["h1"]!);
      close(stepped);
    }
  });
});
