// Fast activations for optimised TypeScript modules (inlined into each; tests import them).
// Math.exp and Math.tanh are exact to double precision, which float32 kernels do not need; these
// are accurate to within one float32 ulp (tested in test/emitted-runtime.test.ts) and about
// twice as fast.
//
// exp(x) = 2^k · 2^f with k = round(x·log2 e) and |f| ≤ 1/2; 2^f is its Taylor polynomial of degree
// 7 (relative error below 5e-9) and 2^k comes from a table. tanh uses its odd Taylor polynomial
// near zero, where 1 - 2/(e^2x + 1) would cancel, and exp elsewhere.

export const POW2 = new Float64Array(2200);
for (let i = 0; i < 2200; i++) POW2[i] = 2 ** (i - 1100);
const E1 = 0.6931471805599453;
const E2 = E1 * E1 / 2;
const E3 = E2 * E1 / 3;
const E4 = E3 * E1 / 4;
const E5 = E4 * E1 / 5;
const E6 = E5 * E1 / 6;
const E7 = E6 * E1 / 7;

export function fexp(x: number): number {
  const t = x * 1.4426950408889634;
  const k = Math.floor(t + 0.5);
  const f = t - k;
  const p = 1 + f * (E1 + f * (E2 + f * (E3 + f * (E4 + f * (E5 + f * (E6 + f * E7))))));
  return k < -1099 ? 0 : k > 1098 ? Infinity : p * POW2[k + 1100]!;
}

export function fsigmoid(x: number): number {
  return 1 / (1 + fexp(-x));
}

export function ftanh(x: number): number {
  const a = x < 0 ? -x : x;
  if (a < 0.2) {
    const z = x * x;
    return x * (1 + z * (-1 / 3 + z * (2 / 15 + z * (-17 / 315 + z * (62 / 2835)))));
  }
  const r = 1 - 2 / (fexp(2 * a) + 1);
  return x < 0 ? -r : r;
}
