// The functions of issue 14, run in compiled kernels (float64, optimised and plain) against plain
// definitions written here: elementwise max, min, pow, elu, gelu, swish, sin, cos, erf; sum,
// mean, max, min, dot, norm, softmax, log_softmax, cumsum; outer and transpose. erf itself is
// checked against a 60-digit series computed with BigInt. The subgradient of max(v) and min(v)
// goes to the first maximum (minimum) on ties; that of max(a, b) to a.

import { describe, expect, it } from "vitest";
import type { CellKernel } from "../abi/kernel.ts";
import { loadCell } from "../driver/index.ts";
import { erf } from "../backends/ts/support/special.ts";
import { Rng } from "./helpers/rng.ts";

// ---- an independent erf: 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)) in fixed point with 60 digits
const S = 10n ** 60n;
function atanInv(k: bigint): bigint {
  let sum = 0n;
  let term = S / k;
  for (let n = 0n; term !== 0n; n++, term /= k * k) sum += ((n % 2n === 0n ? 1n : -1n) * term) / (2n * n + 1n);
  return sum;
}
const PI = 16n * atanInv(5n) - 4n * atanInv(239n); // Machin
function isqrt(v: bigint): bigint {
  let x = BigInt(Math.floor(Math.sqrt(Number(v))));
  for (;;) {
    const y = (x + v / x) / 2n;
    if (y === x || y === x + 1n || y === x - 1n) {
      let z = y;
      while (z * z > v) z--;
      while ((z + 1n) * (z + 1n) <= v) z++;
      return z;
    }
    x = y;
  }
}
const SQRT_PI = isqrt(PI * S);
function erfReference(x: number): number {
  // x · 2^100 is an integer for every double with |x| > 2^-48 (exactly), then fixed point.
  const X = (BigInt(x * 2 ** 100) * S) / 2n ** 100n;
  const X2 = (X * X) / S;
  let sum = 0n;
  let term = X;
  for (let n = 0n; term !== 0n; ) {
    sum += ((n % 2n === 0n ? 1n : -1n) * term) / (2n * n + 1n);
    n++;
    term = (term * X2) / S / n;
  }
  return Number(`${(2n * sum * S) / SQRT_PI}e-60`); // correctly rounded from 60 digits
}

describe("erf", () => {
  it("is within 2e-15 (relative) of a 60-digit series on [-6, 6]", () => {
    let worst = 0;
    for (let x = -5.95; x <= 5.95; x += 0.0531) {
      const want = erfReference(x);
      worst = Math.max(worst, Math.abs(erf(x) - want) / Math.abs(want));
    }
    expect(worst).toBeLessThan(2e-15);
    expect(erf(0)).toBe(0);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect([erf(7), erf(-Infinity), erf(NaN)]).toEqual([1, -1, NaN]);
  });
});

// ---- kernels of one expression
const N = 5;
const B = 3;
const kernels = new Map<string, Promise<CellKernel>>();
function kernel(expr: string, optimize: boolean): Promise<CellKernel> {
  const src = `cell f(N) {\n  input x: [N], y: [N]\n  output ${expr}\n}\n`;
  const key = `${expr}|${optimize}`;
  let k = kernels.get(key);
  if (!k) kernels.set(key, (k = loadCell(src, { dims: { N }, dtype: "float64", optimize })));
  return k;
}

/** The kernel's output for each of B samples (x, y rows), and d(output · dOut)/dx, /dy. */
async function run(expr: string, optimize: boolean, xs: number[][], ys: number[][], dOut?: number[][]) {
  const k = await kernel(expr, optimize);
  const flat = (rows: number[][]) => Float64Array.from(rows.flat()) as unknown as Float32Array;
  const f = k.forward(k.createParams(), { x: flat(xs), y: flat(ys) }, { batchSize: B, timeSteps: 1 });
  const out = f.outputs.out0!;
  const n = out.length / B;
  const rows = Array.from({ length: B }, (_, b) => Array.from(out.subarray(b * n, (b + 1) * n)));
  if (!dOut) return { rows };
  const g = k.backward(k.createParams(), f.tape, { out0: flat(dOut) });
  const split = (a: Float32Array) => Array.from({ length: B }, (_, b) => Array.from(a.subarray(b * N, (b + 1) * N)));
  return { rows, dx: split(g.inputs.x!), dy: split(g.inputs.y!) };
}

const rng = new Rng(14);
const sample = (scale = 2) => Array.from({ length: B }, () => Array.from({ length: N }, () => rng.normal() * scale));
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** Elementwise functions: the expression and its definition written out here. */
const elementwiseCases: [string, (x: number, y: number) => number][] = [
  ["max(x, y)", (x, y) => (x >= y ? x : y)],
  ["min(x, y)", (x, y) => (x <= y ? x : y)],
  ["max(x, 0.5)", (x) => (x >= 0.5 ? x : 0.5)],
  ["pow(abs(x) + 0.1, y)", (x, y) => Math.exp(y * Math.log(Math.abs(x) + 0.1))],
  ["pow(x, 3)", (x) => x * x * x],
  ["elu(x)", (x) => (x > 0 ? x : Math.exp(x) - 1)],
  ["gelu(x)", (x) => 0.5 * x * (1 + erfReference(x / Math.SQRT2))],
  ["swish(x)", (x) => x * sigmoid(x)],
  ["sin(x) + cos(y)", (x, y) => Math.sin(x) + Math.cos(y)],
  ["erf(x)", (x) => erfReference(x)],
];

/** Row functions: the expression and its definition on one sample's x, y. */
const rowCases: [string, (x: number[], y: number[]) => number[]][] = [
  ["sum(x)", (x) => [sum(x)]],
  ["mean(x)", (x) => [sum(x) / N]],
  ["max(x)", (x) => [Math.max(...x)]],
  ["min(x)", (x) => [Math.min(...x)]],
  ["dot(x, y)", (x, y) => [sum(x.map((v, i) => v * y[i]!))]],
  ["norm(x)", (x) => [Math.sqrt(sum(x.map((v) => v * v)))]],
  ["softmax(x)", (x) => x.map((v) => Math.exp(v) / sum(x.map(Math.exp)))],
  ["log_softmax(x)", (x) => x.map((v) => Math.log(Math.exp(v) / sum(x.map(Math.exp))))],
  ["cumsum(x)", (x) => x.map((_, j) => sum(x.slice(0, j + 1)))],
  ["outer(x, y) @ x", (x, y) => x.map((xi) => xi * sum(y.map((v, j) => v * x[j]!)))],
  ["transpose(outer(x, y)) @ x", (x, y) => y.map((yi) => yi * sum(x.map((v) => v * v)))],
  ["x * sum(y) + 2 / N", (x, y) => x.map((v) => v * sum(y) + 2 / N)],
];

describe.each([true, false])("compiled (optimize %s)", (optimize) => {
  it.each(elementwiseCases)("%s computes its definition", async (expr, def) => {
    const xs = sample();
    const ys = sample();
    const { rows } = await run(expr, optimize, xs, ys);
    rows.forEach((row, b) => row.forEach((v, j) => expect(v).toBeCloseTo(def(xs[b]![j]!, ys[b]![j]!), 12)));
  });

  it.each(rowCases)("%s computes its definition", async (expr, def) => {
    const xs = sample();
    const ys = sample();
    const { rows } = await run(expr, optimize, xs, ys);
    rows.forEach((row, b) => {
      const want = def(xs[b]!, ys[b]!);
      expect(row).toHaveLength(want.length);
      row.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 11));
    });
  });

  it("softmax and log_softmax do not overflow for large inputs", async () => {
    const xs = [[1000, 999, 0, -1000, 1000.5], [-800, -801, -799, -800, -800], [0, 0, 0, 0, 0]];
    const soft = (await run("softmax(x)", optimize, xs, xs)).rows;
    const logs = (await run("log_softmax(x)", optimize, xs, xs)).rows;
    for (const [b, x] of xs.entries()) {
      const m = Math.max(...x);
      const z = sum(x.map((v) => Math.exp(v - m)));
      x.forEach((v, j) => {
        expect(soft[b]![j]).toBeCloseTo(Math.exp(v - m) / z, 14);
        expect(logs[b]![j]).toBeCloseTo(v - m - Math.log(z), 10);
      });
    }
  });

  it("the subgradient of max(v) and min(v) goes to the first maximum (minimum), that of max(a, b) to a on ties", async () => {
    const xs = [[1, 3, 2, 3, 3], [5, 5, 5, 5, 5], [0, -2, 4, -2, 1]];
    const ones = xs.map(() => [1]);
    const mx = await run("max(x)", optimize, xs, xs, ones);
    expect(mx.dx).toEqual([[0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 0, 0]]);
    const mn = await run("min(x)", optimize, xs, xs, ones);
    expect(mn.dx).toEqual([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]);
    const ys = [[1, 0, 2, 3, 9], [5, 6, 4, 5, 5], [0, -2, 4, -2, 1]];
    const both = await run("max(x, y)", optimize, xs, ys, xs.map(() => [1, 1, 1, 1, 1]));
    expect(both.dx).toEqual([[1, 1, 1, 1, 0], [1, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);
    expect(both.dy).toEqual([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]);
  });

  it("cumsum's adjoint is the reverse running sum; softmax's is y · (dy - Σ dy·y)", async () => {
    const xs = sample();
    const d = sample(1);
    const c = await run("cumsum(x)", optimize, xs, xs, d);
    c.dx!.forEach((row, b) => row.forEach((v, j) => expect(v).toBeCloseTo(sum(d[b]!.slice(j)), 12)));
    const s = await run("softmax(x)", optimize, xs, xs, d);
    s.rows.forEach((y, b) => {
      const inner = sum(y.map((v, j) => v * d[b]![j]!));
      y.forEach((v, j) => expect(s.dx![b]![j]).toBeCloseTo(v * (d[b]![j]! - inner), 12));
    });
  });
});
