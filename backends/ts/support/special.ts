// Special functions for TypeScript kernels (inlined into a module only when its formulas call
// them): the error function, for erf and gelu. It is also the registry's float64 definition of
// erf (compiler/primitives/elementwise.ts), so a folded constant is what a kernel computes;
// test/lang-functions.test.ts checks it against a 60-digit BigInt series within 4 ulp.
//
// Algorithm (written for cellc): for |x| < 2.5 the series
//   erf(x) = 2/√π · e^(-x²) · Σ_n (2x²)^n · x / (1·3·5···(2n+1)),
// whose terms are all positive (no cancellation); for 2.5 ≤ |x| < 6 the continued fraction
//   erfc(x) = e^(-x²)/√π · 1 / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
// evaluated from its 60th term back; past 6, erf is ±1 to double precision.

// ---- inline from here
/** The error function erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, to a few ulp in float64. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (!(a < 6)) return x !== x ? x : x > 0 ? 1 : -1;
  if (a < 2.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (Math.abs(term) <= Math.abs(sum) * 1e-17) break;
    }
    return 1.1283791670955126 * Math.exp(-x2) * sum;
  }
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = (0.5641895835477563 * Math.exp(-a * a)) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}
