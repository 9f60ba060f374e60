// A generated kernel checks every array at its boundary and names the bad argument, the length it
// got and the one it expected; nothing is silently truncated or read out of bounds. Every object
// it takes accepts only its own keys (a typo is an error naming the valid ones, never ignored), and
// a bad value is described by type and value.

import { beforeAll, describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const x = () => new Float32Array(3 * 2 * 3); // T=3, B=2, I=3

// Both backends carry the same checks, so every message is asserted on each.
describe.each(TEST_BACKENDS)("%s backend", (target) => {
  let k: CellKernel;
  let params: Tensors;

  beforeAll(async () => {
    k = await loadCellFile("examples/specs/lstm.cell", {
      dims: { I: 3, H: 4 },
      target,
    });
    params = k.createParams();
  });

  const fwd = (p: Tensors, inputs: Tensors, o: object) => () =>
    k.forward(p, inputs, o as never);

  describe("forward", () => {
    it("names an input whose length is not a whole number of steps", () => {
      expect(
        fwd(params, { x: new Float32Array(17) }, { batchSize: 2 }),
      ).toThrow(
        "lstm.forward: inputs.x has length 17, not a positive multiple of batchSize 2 × 3 = 6",
      );
    });
    it("names an input that disagrees with an explicit timeSteps", () => {
      expect(fwd(params, { x: x() }, { batchSize: 2, timeSteps: 4 })).toThrow(
        "lstm.forward: inputs.x has length 18, expected 24 (timeSteps 4 × batchSize 2 × 3)",
      );
    });
    it("names a parameter of the wrong length, with its shape", () => {
      expect(
        fwd(
          { ...params, U_f: new Float32Array(15) },
          { x: x() },
          { batchSize: 2 },
        ),
      ).toThrow("lstm.forward: params.U_f has length 15, expected 16 ([4, 4])");
    });
    it("names a missing parameter and an array of the wrong type", () => {
      const { b_o: _drop, ...rest } = params;
      expect(fwd(rest, { x: x() }, { batchSize: 2 })).toThrow(
        "params.b_o must be a Float32Array of length 4 ([4]), got undefined",
      );
      expect(
        fwd(
          { ...params, W_i: new Float64Array(12) as never },
          { x: x() },
          { batchSize: 2 },
        ),
      ).toThrow(
        "params.W_i must be a Float32Array of length 12 ([4, 3]), got Float64Array(12)",
      );
    });
    it("rejects a bad batchSize", () => {
      for (const batchSize of [0, 1.5, -2, undefined, "2"]) {
        expect(fwd(params, { x: x() }, { batchSize })).toThrow(
          /lstm\.forward: batchSize must be a positive integer/,
        );
      }
    });
    it("checks initial state, masks and lengths", () => {
      expect(
        fwd(
          params,
          { x: x() },
          { batchSize: 2, initialState: { c: new Float32Array(4) } },
        ),
      ).toThrow(
        "options.initialState.c has length 4, expected 8 (batchSize 2 × 4)",
      );
      expect(
        fwd(
          params,
          { x: x() },
          { batchSize: 2, stateMasks: { h: new Float32Array(9) } },
        ),
      ).toThrow(
        "options.stateMasks.h has length 9, expected 8 (batchSize 2 × 4)",
      );
      expect(fwd(params, { x: x() }, { batchSize: 2, lengths: [3] })).toThrow(
        "options.lengths has 1 entries, expected batchSize 2",
      );
      expect(
        fwd(params, { x: x() }, { batchSize: 2, lengths: [3, 4] }),
      ).toThrow(
        "options.lengths[1] must be an integer from 0 to timeSteps 3, got 4",
      );
    });
    it("reuses a tape of the same sizes and rejects a foreign one", () => {
      const a = k.forward(params, { x: x() }, { batchSize: 2 });
      const b = k.forward(params, { x: x() }, { batchSize: 2, tape: a.tape });
      expect(b.tape).toBe(a.tape);
      expect(
        fwd(
          params,
          { x: x() },
          { batchSize: 2, tape: { timeSteps: 3, batchSize: 2 } },
        ),
      ).toThrow("options.tape was not made by this kernel");
    });
  });

  describe("backward and step", () => {
    it("backward names a bad gradient and refuses a tape it did not make", () => {
      const r = k.forward(params, { x: x() }, { batchSize: 2 });
      expect(() =>
        k.backward(params, r.tape, { h: new Float32Array(5) }),
      ).toThrow(
        "lstm.backward: dOutputs.h has length 5, expected 24 (timeSteps 3 × batchSize 2 × 4)",
      );
      expect(() =>
        k.backward(params, { timeSteps: 3, batchSize: 2 }, {}),
      ).toThrow("lstm.backward: the tape must come from this kernel's forward");
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          { dFinalState: { h: new Float32Array(1) } },
        ),
      ).toThrow(
        "options.dFinalState.h has length 1, expected 8 (batchSize 2 × 4)",
      );
    });
    it("backward with no output gradient gives zero gradients", () => {
      const r = k.forward(params, { x: x().fill(1) }, { batchSize: 2 });
      const g = k.backward(params, r.tape, {});
      for (const p of k.meta.params)
        expect(g.params[p.name]!.every((v) => v === 0)).toBe(true);
    });
    it("step names a state of the wrong length", () => {
      expect(() =>
        k.step(
          params,
          { x: new Float32Array(6) },
          { h: new Float32Array(8), c: new Float32Array(7) },
          2,
        ),
      ).toThrow(
        "lstm.step: state.c has length 7, expected 8 (batchSize 2 × 4)",
      );
    });
  });

  describe("unknown keys are errors naming the key and the valid ones", () => {
    const ok = () => ({ batchSize: 2 });
    it("in params, inputs and forward's options and their state objects", () => {
      expect(
        fwd({ ...params, W_x: new Float32Array(12) }, { x: x() }, ok()),
      ).toThrow(
        'lstm.forward: params has an unknown key "W_x" (valid keys: W_i, U_i, b_i, W_f, U_f, b_f, W_g, U_g, b_g, W_o, U_o, b_o)',
      );
      expect(fwd(params, { x: x(), y: x() }, ok())).toThrow(
        'lstm.forward: inputs has an unknown key "y" (valid keys: x)',
      );
      expect(
        fwd(params, { x: x() }, { batchSize: 2, lenghts: [3, 3] }),
      ).toThrow(
        'lstm.forward: options has an unknown key "lenghts" (valid keys: batchSize, timeSteps, initialState, lengths, stateMasks, tape, threads)',
      );
      expect(
        fwd(
          params,
          { x: x() },
          {
            batchSize: 2,
            initialState: { h: new Float32Array(8), C: new Float32Array(8) },
          },
        ),
      ).toThrow(
        'lstm.forward: options.initialState has an unknown key "C" (valid keys: h, c)',
      );
      expect(
        fwd(
          params,
          { x: x() },
          { batchSize: 2, stateMasks: { hh: new Float32Array(8) } },
        ),
      ).toThrow(
        'lstm.forward: options.stateMasks has an unknown key "hh" (valid keys: h, c)',
      );
    });

    it("a misspelt dOutputs key is an error, not all-zero gradients", () => {
      const p = k.createParams();
      for (const a of Object.values(p))
        for (let i = 0; i < a.length; i++) a[i] = Math.sin(i + a.length);
      const r = k.forward(p, { x: x().fill(0.5) }, { batchSize: 2 });
      const dh = new Float32Array(24).fill(1);
      expect(() => k.backward(p, r.tape, { H: dh })).toThrow(
        'lstm.backward: dOutputs has an unknown key "H" (valid keys: h)',
      );
      // The correct key gives a gradient that is not zero (what the typo used to give silently).
      const g = k.backward(p, r.tape, { h: dh });
      expect(g.params.b_o!.some((v) => v !== 0)).toBe(true);
    });

    it("in backward's options, dFinalState and into", () => {
      const r = k.forward(params, { x: x() }, { batchSize: 2 });
      expect(() =>
        k.backward(params, r.tape, {}, { dFinalStates: {} } as never),
      ).toThrow(
        'lstm.backward: options has an unknown key "dFinalStates" (valid keys: dFinalState, into, inputGradients, threads)',
      );
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          { dFinalState: { h: new Float32Array(8), cc: new Float32Array(8) } },
        ),
      ).toThrow(
        'lstm.backward: options.dFinalState has an unknown key "cc" (valid keys: h, c)',
      );
      const into = k.backward(params, r.tape, {});
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          { into: { ...into, extra: 1 } as never },
        ),
      ).toThrow(
        'lstm.backward: options.into has an unknown key "extra" (valid keys: params, inputs, initialState)',
      );
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          {
            into: {
              ...into,
              inputs: { ...into.inputs, z: new Float32Array(1) },
            },
          },
        ),
      ).toThrow(
        'lstm.backward: options.into.inputs has an unknown key "z" (valid keys: x)',
      );
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          {
            into: {
              ...into,
              params: { ...into.params, q: new Float32Array(1) },
            },
          },
        ),
      ).toThrow('lstm.backward: options.into.params has an unknown key "q"');
      expect(() =>
        k.backward(
          params,
          r.tape,
          {},
          { into: { ...into, initialState: { h: into.initialState.h! } } },
        ),
      ).toThrow(
        "lstm.backward: options.into.initialState.c must be a Float32Array of length 8 (batchSize 2 × 4), got undefined",
      );
      expect(() =>
        k.backward(params, r.tape, {}, { inputGradients: "no" } as never),
      ).toThrow(
        'lstm.backward: options.inputGradients must be true or false, got the string "no"',
      );
      // A complete `into` is still accepted and filled in place.
      const again = k.backward(params, r.tape, {}, { into });
      expect(again).toBe(into);
    });

    it("in step's inputs and state", () => {
      const s = k.createState(2);
      expect(() =>
        k.step(
          params,
          { x: new Float32Array(6), x2: new Float32Array(6) },
          s,
          2,
        ),
      ).toThrow('lstm.step: inputs has an unknown key "x2" (valid keys: x)');
      expect(() =>
        k.step(
          params,
          { x: new Float32Array(6) },
          { ...s, n: new Float32Array(8) },
          2,
        ),
      ).toThrow('lstm.step: state has an unknown key "n" (valid keys: h, c)');
    });

    it("a cell with no inputs takes none", async () => {
      const k0 = await loadCellFile("test/specs/no_inputs.cell", {
        dims: { H: 2 },
        target,
      });
      const p0 = k0.createParams();
      expect(() =>
        k0.forward(
          p0,
          { x: new Float32Array(2) },
          { batchSize: 1, timeSteps: 2 },
        ),
      ).toThrow(
        'no_inputs.forward: inputs has an unknown key "x" (it takes no keys)',
      );
      expect(
        k0.forward(p0, {}, { batchSize: 1, timeSteps: 2 }).outputs.h,
      ).toHaveLength(4);
    });

    it("a whole array where an object of arrays belongs is named as such", () => {
      expect(fwd(params, x() as never, ok())).toThrow(
        "lstm.forward: inputs must be an object, got Float32Array(18)",
      );
      expect(fwd([params.W_i] as never, { x: x() }, ok())).toThrow(
        "lstm.forward: params must be an object, got an Array(1)",
      );
    });
  });

  describe("values are described by type and value", () => {
    it("batchSize, timeSteps and lengths name what they got", () => {
      expect(fwd(params, { x: x() }, { batchSize: "2" })).toThrow(
        'lstm.forward: batchSize must be a positive integer, got the string "2"',
      );
      expect(fwd(params, { x: x() }, { batchSize: 1.5 })).toThrow(
        "lstm.forward: batchSize must be a positive integer, got 1.5",
      );
      expect(fwd(params, { x: x() }, { batchSize: true })).toThrow(
        "lstm.forward: batchSize must be a positive integer, got the boolean true",
      );
      expect(fwd(params, { x: x() }, { batchSize: 2n })).toThrow(
        "lstm.forward: batchSize must be a positive integer, got the bigint 2n",
      );
      expect(fwd(params, { x: x() }, { batchSize: {} })).toThrow(
        "lstm.forward: batchSize must be a positive integer, got an object",
      );
      expect(fwd(params, { x: x() }, { batchSize: 2, timeSteps: NaN })).toThrow(
        "options.timeSteps must be a positive integer, got NaN",
      );
      expect(
        fwd(params, { x: x() }, { batchSize: 2, lengths: ["3", 3] }),
      ).toThrow(
        'options.lengths[0] must be an integer from 0 to timeSteps 3, got the string "3"',
      );
      expect(() => k.createState("4" as never)).toThrow(
        'lstm.createState: batchSize must be a positive integer, got the string "4"',
      );
      expect(() =>
        k.step(
          params,
          { x: new Float32Array(6) },
          k.createState(2),
          "2" as never,
        ),
      ).toThrow(
        'lstm.step: batchSize must be a positive integer, got the string "2"',
      );
    });
  });
});
