// Independent references: an LSTM step and GRU steps written here as plain loops in float64, not
// through the compiler, must match the compiled float32 kernels for random weights to 1e-6; and
// streaming `step` must match `forward`.

import { describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { Rng } from "./helpers/rng.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const I = 5;
const H = 7;
const T = 8;
const B = 3;

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** y[r] = sum_k W[r, k] x[k] for one sample, W row-major [rows, cols]. */
function mv(
  W: Float32Array,
  x: ArrayLike<number>,
  rows: number,
  cols: number,
): number[] {
  const y = new Array<number>(rows).fill(0);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < cols; k++) y[r]! += W[r * cols + k]! * x[k]!;
  return y;
}

function lstmStep(
  p: Tensors,
  x: number[],
  h: number[],
  c: number[],
): { h: number[]; c: number[] } {
  const gate = (g: string, act: (v: number) => number) => {
    const wx = mv(p[`W_${g}`]!, x, H, I);
    const uh = mv(p[`U_${g}`]!, h, H, H);
    return wx.map((v, j) => act(v + uh[j]! + p[`b_${g}`]![j]!));
  };
  const i = gate("i", sig);
  const f = gate("f", sig);
  const g = gate("g", Math.tanh);
  const o = gate("o", sig);
  const c2 = c.map((cv, j) => f[j]! * cv + i[j]! * g[j]!);
  return { c: c2, h: c2.map((cv, j) => o[j]! * Math.tanh(cv)) };
}

function gruStep(
  p: Tensors,
  x: number[],
  h: number[],
  resetAfter: boolean,
): number[] {
  const pre = (g: string, hv: number[]) => {
    const wx = mv(p[`W_${g}`]!, x, H, I);
    const uh = mv(p[`U_${g}`]!, hv, H, H);
    return wx.map((v, j) => v + uh[j]!);
  };
  const z = pre("z", h).map((v, j) => sig(v + p.b_z![j]!));
  const r = pre("r", h).map((v, j) => sig(v + p.b_r![j]!));
  let n: number[];
  if (resetAfter) {
    const wx = mv(p.W_n!, x, H, I);
    const uh = mv(p.U_n!, h, H, H);
    n = wx.map((v, j) =>
      Math.tanh(v + p.b_in![j]! + r[j]! * (uh[j]! + p.b_hn![j]!)),
    );
  } else {
    n = pre(
      "n",
      h.map((hv, j) => r[j]! * hv),
    ).map((v, j) => Math.tanh(v + p.b_n![j]!));
  }
  return h.map((hv, j) => z[j]! * hv + (1 - z[j]!) * n[j]!);
}

async function setup(spec: string, seed: number, target: string) {
  const k = await loadCellFile(`examples/specs/${spec}.cell`, {
    dims: { I, H },
    target,
  });
  const rng = new Rng(seed);
  const params = k.createParams();
  for (const p of k.meta.params)
    for (let i = 0; i < p.size; i++) params[p.name]![i] = rng.normal() * 0.5;
  const x = new Float32Array(T * B * I).map(() => rng.normal());
  const h0 = new Float32Array(B * H).map(() => rng.normal() * 0.3);
  const c0 = new Float32Array(B * H).map(() => rng.normal() * 0.3);
  return { k, params, x, h0, c0 };
}

const sample = (a: Float32Array, t: number, b: number, n: number) =>
  Array.from(a.subarray((t * B + b) * n, (t * B + b + 1) * n));

function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-6,
) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tol);
}

describe.each(TEST_BACKENDS)(
  "hand-written references (%s backend)",
  (target) => {
    it("LSTM: compiled forward equals plain loops over T steps", async () => {
      const { k, params, x, h0, c0 } = await setup("lstm", 21, target);
      const r = k.forward(
        params,
        { x },
        { batchSize: B, initialState: { h: h0, c: c0 } },
      );
      for (let b = 0; b < B; b++) {
        let h = Array.from(h0.subarray(b * H, (b + 1) * H));
        let c = Array.from(c0.subarray(b * H, (b + 1) * H));
        for (let t = 0; t < T; t++) {
          ({ h, c } = lstmStep(params, sample(x, t, b, I), h, c));
          expectClose(sample(r.outputs.h!, t, b, H), h);
        }
        expectClose(r.finalState.c!.subarray(b * H, (b + 1) * H), c);
      }
    });

    for (const [spec, resetAfter] of [
      ["gru", false],
      ["gru_reset_after", true],
    ] as const) {
      it(`${spec}: compiled forward equals plain loops`, async () => {
        const { k, params, x, h0 } = await setup(spec, 33, target);
        const r = k.forward(
          params,
          { x },
          { batchSize: B, initialState: { h: h0 } },
        );
        for (let b = 0; b < B; b++) {
          let h = Array.from(h0.subarray(b * H, (b + 1) * H));
          for (let t = 0; t < T; t++) {
            h = gruStep(params, sample(x, t, b, I), h, resetAfter);
            expectClose(sample(r.outputs.h!, t, b, H), h);
          }
        }
      });
    }

    it("the two GRU variants really differ (the references are not interchangeable)", async () => {
      const { params, x, h0 } = await setup("gru_reset_after", 33, target);
      params.b_hn!.fill(0.7);
      const h = Array.from(h0.subarray(0, H));
      const after = gruStep(
        { ...params, b_n: params.b_in! },
        sample(x, 0, 0, I),
        h,
        true,
      );
      const before = gruStep(
        { ...params, b_n: params.b_in! },
        sample(x, 0, 0, I),
        h,
        false,
      );
      expect(
        Math.max(...after.map((v, j) => Math.abs(v - before[j]!))),
      ).toBeGreaterThan(1e-3);
    });

    for (const spec of ["lstm", "gru", "lstmp", "deep_lstm"]) {
      it(`${spec}: streaming step() reproduces forward()`, async () => {
        const k: CellKernel = await loadCellFile(
          `examples/specs/${spec}.cell`,
          { dims: { I, H, P: 3 }, target },
        );
        const rng = new Rng(9);
        const params = k.createParams();
        for (const p of k.meta.params)
          for (let i = 0; i < p.size; i++)
            params[p.name]![i] = rng.normal() * 0.5;
        const x = new Float32Array(T * B * I).map(() => rng.normal());
        const r = k.forward(params, { x }, { batchSize: B });
        const state = k.createState(B);
        const out = k.meta.outputs[0]!;
        for (let t = 0; t < T; t++) {
          const y = k.step(
            params,
            { x: x.subarray(t * B * I, (t + 1) * B * I) },
            state,
            B,
          );
          expectClose(
            y[out.name]!,
            r.outputs[out.name]!.subarray(
              t * B * out.size,
              (t + 1) * B * out.size,
            ),
            1e-7,
          );
        }
        for (const s of k.meta.states)
          expectClose(state[s.name]!, r.finalState[s.name]!, 1e-7);
      });
    }
  },
);
