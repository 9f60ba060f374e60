// A generated kernel checks every array at its boundary and names the bad argument, the length it
// got and the one it expected; nothing is silently truncated or read out of bounds.

import { beforeAll, describe, expect, it } from "vitest";
import { loadCellFile } from "../compiler/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";

let k: CellKernel;
let params: Tensors;
const x = () => new Float32Array(3 * 2 * 3); // T=3, B=2, I=3

beforeAll(async () => {
  k = await loadCellFile("examples/specs/lstm.cell", { dims: { I: 3, H: 4 } });
  params = k.createParams();
});

const fwd = (p: Tensors, inputs: Tensors, o: object) => () => k.forward(p, inputs, o as never);

describe("forward", () => {
  it("names an input whose length is not a whole number of steps", () => {
    expect(fwd(params, { x: new Float32Array(17) }, { batchSize: 2 })).toThrow(
      "lstm.forward: inputs.x has length 17, not a positive multiple of batchSize 2 × 3 = 6",
    );
  });
  it("names an input that disagrees with an explicit timeSteps", () => {
    expect(fwd(params, { x: x() }, { batchSize: 2, timeSteps: 4 })).toThrow(
      "lstm.forward: inputs.x has length 18, expected 24 (timeSteps 4 × batchSize 2 × 3)",
    );
  });
  it("names a parameter of the wrong length, with its shape", () => {
    expect(fwd({ ...params, U_f: new Float32Array(15) }, { x: x() }, { batchSize: 2 })).toThrow(
      "lstm.forward: params.U_f has length 15, expected 16 ([4, 4])",
    );
  });
  it("names a missing parameter and an array of the wrong type", () => {
    const { b_o: _drop, ...rest } = params;
    expect(fwd(rest, { x: x() }, { batchSize: 2 })).toThrow("params.b_o must be a Float32Array of length 4 ([4]), got undefined");
    expect(fwd({ ...params, W_i: new Float64Array(12) as never }, { x: x() }, { batchSize: 2 })).toThrow(
      "params.W_i must be a Float32Array of length 12 ([4, 3]), got Float64Array(12)",
    );
  });
  it("rejects a bad batchSize", () => {
    for (const batchSize of [0, 1.5, -2, undefined, "2"]) {
      expect(fwd(params, { x: x() }, { batchSize })).toThrow(/lstm\.forward: batchSize must be a positive integer/);
    }
  });
  it("checks initial state, masks and lengths", () => {
    expect(fwd(params, { x: x() }, { batchSize: 2, initialState: { c: new Float32Array(4) } })).toThrow(
      "options.initialState.c has length 4, expected 8 (batchSize 2 × 4)",
    );
    expect(fwd(params, { x: x() }, { batchSize: 2, stateMasks: { h: new Float32Array(9) } })).toThrow(
      "options.stateMasks.h has length 9, expected 8 (batchSize 2 × 4)",
    );
    expect(fwd(params, { x: x() }, { batchSize: 2, lengths: [3] })).toThrow("options.lengths has 1 entries, expected batchSize 2");
    expect(fwd(params, { x: x() }, { batchSize: 2, lengths: [3, 4] })).toThrow(
      "options.lengths[1] must be an integer from 0 to timeSteps 3, got 4",
    );
  });
  it("reuses a tape of the same sizes and rejects a foreign one", () => {
    const a = k.forward(params, { x: x() }, { batchSize: 2 });
    const b = k.forward(params, { x: x() }, { batchSize: 2, tape: a.tape });
    expect(b.tape).toBe(a.tape);
    expect(fwd(params, { x: x() }, { batchSize: 2, tape: { timeSteps: 3, batchSize: 2 } })).toThrow("options.tape was not made by this kernel");
  });
});

describe("backward and step", () => {
  it("backward names a bad gradient and refuses a tape it did not make", () => {
    const r = k.forward(params, { x: x() }, { batchSize: 2 });
    expect(() => k.backward(params, r.tape, { h: new Float32Array(5) })).toThrow(
      "lstm.backward: dOutputs.h has length 5, expected 24 (timeSteps 3 × batchSize 2 × 4)",
    );
    expect(() => k.backward(params, { timeSteps: 3, batchSize: 2 }, {})).toThrow("lstm.backward: the tape must come from this kernel's forward");
    expect(() => k.backward(params, r.tape, {}, { dFinalState: { h: new Float32Array(1) } })).toThrow(
      "options.dFinalState.h has length 1, expected 8 (batchSize 2 × 4)",
    );
  });
  it("backward with no output gradient gives zero gradients", () => {
    const r = k.forward(params, { x: x().fill(1) }, { batchSize: 2 });
    const g = k.backward(params, r.tape, {});
    for (const p of k.meta.params) expect(g.params[p.name]!.every((v) => v === 0)).toBe(true);
  });
  it("step names a state of the wrong length", () => {
    expect(() => k.step(params, { x: new Float32Array(6) }, { h: new Float32Array(8), c: new Float32Array(7) }, 2)).toThrow(
      "lstm.step: state.c has length 7, expected 8 (batchSize 2 × 4)",
    );
  });
});
