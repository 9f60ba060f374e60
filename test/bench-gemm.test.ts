// The benchmark's reference GEMM must compute the right product before its GFLOP/s means
// anything: compare it with a naive triple loop over every transpose combination, ragged edges
// (sizes not multiples of the 4x4 tile or the cache blocks), offsets and accumulation.
import { describe, expect, it } from "vitest";
import { gemm, naiveGemm, measureGemm, type GemmCall } from "./bench/gemm.ts";

function filled(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = s / 2147483647 - 0.5;
  }
  return out;
}

function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

describe("reference GEMM", () => {
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 9, 37], // m below the 4-row tile: the unpacked path
    [3, 130, 6],
    [4, 4, 4],
    [5, 7, 3],
    [13, 9, 300], // k crosses the 256 depth block
    [70, 6, 17], // m crosses the 64-row block
    [3, 530, 11], // n crosses the 512-column block
  ];
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`, () => {
          const a = filled(m * k + 3, 11);
          const b = filled(n * k + 5, 29);
          const c0 = filled(m * n + 2, 7);
          const mk = (c: Float32Array, accumulate: boolean): GemmCall => ({
            m, n, k, a, aOffset: 3, transA, b, bOffset: 5, transB, c, cOffset: 2, accumulate,
          });
          for (const accumulate of [false, true]) {
            const want = c0.slice();
            const got = c0.slice();
            naiveGemm(mk(want, accumulate));
            gemm(mk(got, accumulate));
            expect(maxAbsDiff(got, want)).toBeLessThan(1e-5 * Math.max(1, k));
            // The two elements before the output offset are untouched.
            expect(got[0]).toBe(c0[0]);
            expect(got[1]).toBe(c0[1]);
          }
        });
      }
    }
  }

  it("sums exactly for small integers (an independent hand-computed case)", () => {
    // A = [[1,2],[3,4]], B (stored [n,k]) = [[5,6],[7,8]] -> C = A·Bᵀ = [[17,23],[39,53]]
    const c = new Float32Array(4);
    gemm({ m: 2, n: 2, k: 2, a: new Float32Array([1, 2, 3, 4]), b: new Float32Array([5, 6, 7, 8]), c });
    expect(Array.from(c)).toEqual([17, 23, 39, 53]);
  });

  it("measureGemm reports a consistent figure", () => {
    const r = measureGemm("tiny", 16, 16, 16, 3);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.gflops).toBeCloseTo((2 * 16 * 16 * 16) / (r.ms * 1e6), 6);
  });
});
