// The code every generated TypeScript module carries besides its cell, tested as the real modules
// the printer inlines (backends/ts/support): the strided GEMM (against a naive triple loop, in
// all three ways kernels call it, at sizes with ragged edges) and the fast activations (within
// one float32 ulp of Math.exp / Math.tanh, and right at the extremes).

import { describe, expect, it } from "vitest";
import { gemmCore as gemm, invalidatePanels } from "../backends/ts/support/gemm.ts";
import { fsigmoid, ftanh } from "../backends/ts/support/fastmath.ts";
import { Rng } from "./helpers/rng.ts";

describe("gemm", () => {
  const rng = new Rng(4);
  const cases = [
    [1, 7, 5],
    [3, 9, 13],
    [4, 4, 4],
    [5, 6, 300],
    [70, 33, 17],
    [9, 1030, 3],
  ];
  for (const [M, N, K] of cases as [number, number, number][]) {
    it(`C (+)= A·Bᵀ with strided operands, ${M}×${N}×${K}`, () => {
      // A(i,k) = A[ao + i·ai + k·ak]; use a transposed, offset layout for A and a padded one for B.
      const ao = 3, ai = 1, ak = M + 2;
      const bo = 5, bj = K + 4, bk = 1;
      const co = 2, cs = N + 3;
      const A = new Float32Array(ao + (K - 1) * ak + M).map(() => rng.normal());
      const B = new Float32Array(bo + N * bj).map(() => rng.normal());
      const C0 = new Float32Array(co + M * cs).map(() => rng.normal());
      for (const accumulate of [false, true]) {
        const C = C0.slice();
        gemm(M, N, K, A, ao, ai, ak, B, bo, bj, bk, C, co, cs, accumulate, -1);
        let worst = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = accumulate ? C0[co + i * cs + j]! : 0;
            for (let k = 0; k < K; k++) s += A[ao + i * ai + k * ak]! * B[bo + j * bj + k * bk]!;
            worst = Math.max(worst, Math.abs(C[co + i * cs + j]! - s) / Math.max(1, Math.abs(s)));
          }
        }
        expect(worst).toBeLessThan(1e-6);
        // Padding between rows of C is untouched.
        for (let i = 0; i < M; i++) for (let j = N; j < cs && co + i * cs + j < C.length; j++) expect(C[co + i * cs + j]).toBe(C0[co + i * cs + j]);
      }
    });
  }
  it("a panel slot reuses B's packing until invalidated", () => {
    const [M, N, K] = [8, 6, 300];
    const A = new Float32Array(M * K).map(() => rng.normal());
    const B = new Float32Array(N * K).map(() => rng.normal());
    const naive = (b: Float32Array) => {
      const C = new Float32Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) C[i * N + j]! += A[i * K + k]! * b[j * K + k]!;
      return C;
    };
    const run = () => {
      const C = new Float32Array(M * N);
      gemm(M, N, K, A, 0, K, 1, B, 0, K, 1, C, 0, N, false, 0);
      return C;
    };
    const first = run();
    const before = naive(B);
    B[7] = B[7]! + 1; // changed, but the slot is still valid: the old packing is used
    const stale = run();
    expect(maxDiff(stale, before)).toBeLessThan(1e-4);
    expect(maxDiff(first, before)).toBeLessThan(1e-4);
    invalidatePanels();
    expect(maxDiff(run(), naive(B))).toBeLessThan(1e-4);
    expect(maxDiff(run(), before)).toBeGreaterThan(1e-3);
  });
});

describe("fast activations", () => {
  const ulps = (fast: number, exact: number) => {
    const f = Math.fround(fast);
    const e = Math.fround(exact);
    if (f === e) return 0;
    const ulp = Math.max(Math.abs(Math.fround(e + Math.abs(e) * 2 ** -23) - e), 2 ** -149);
    return Math.abs(f - e) / ulp;
  };
  it("sigmoid and tanh are within one float32 ulp over a dense grid", () => {
    let ws = 0;
    let wt = 0;
    for (let i = -400_000; i <= 400_000; i++) {
      const x = i * 1e-4 * (1 + (i % 7) * 1e-3);
      ws = Math.max(ws, ulps(fsigmoid(x), 1 / (1 + Math.exp(-x))));
      wt = Math.max(wt, ulps(ftanh(x), Math.tanh(x)));
    }
    expect(ws).toBeLessThanOrEqual(1);
    expect(wt).toBeLessThanOrEqual(1);
  });
  it("handles tiny, huge and non-finite arguments", () => {
    for (const x of [0, -0, 1e-30, -1e-30, 1e-8, 0.19999, 0.2, 0.20001, 20, -20, 88, -88, 700, -700, 1e6, -1e6]) {
      expect(ulps(ftanh(x), Math.tanh(x)), `tanh(${x})`).toBeLessThanOrEqual(1);
      expect(ulps(fsigmoid(x), 1 / (1 + Math.exp(-x))), `sigmoid(${x})`).toBeLessThanOrEqual(1);
    }
    expect(ftanh(Infinity)).toBe(1);
    expect(ftanh(-Infinity)).toBe(-1);
    expect(fsigmoid(Infinity)).toBe(1);
    expect(fsigmoid(-Infinity)).toBe(0);
    expect(ftanh(NaN)).toBeNaN();
    expect(fsigmoid(NaN)).toBeNaN();
  });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
