// Constants of the float32 approximations of elu, swish, erf, gelu, sin, cos and pow in
// ./fastmath.ts: registry data, read by the WebAssembly printer and by the TypeScript fallback
// printer alike.
//
// The erf polynomials are minimax fits made by scripts/fit-erf.py (numpy, scipy); the error each
// reaches is written beside it. sin, cos and pow use Taylor polynomials, whose truncation error on
// the ranges they serve ([-π/4, π/4]; pow's below) is far below float32's rounding.

/** |x| ≤ ERF_SMALL: erf(x) = x + x·P(x²). Relative error of the fit 1.2e-9; 4.5e-8 by Horner's
 *  rule in float32. */
export const ERF_SMALL = 1;
export const ERF_P = [
  0.12837916591732365, -0.37612627146141697, 0.11283600258335699, -0.02685444741661959, 0.005189540052181044, -0.0008020878954219934,
  7.889235216745893e-5,
];

/** |x| ≥ 1, t = 1/|x| in [0.09, 1]: erfc(|x|) = e^-x² · t · R(t - ERFC_MID). Relative error of the
 *  fit 1.2e-8; 8.7e-8 by Horner's rule in float32. */
export const ERFC_MID = 0.5;
export const ERFC_R = [
  0.5107913557712623, -0.16721087388818606, -0.036634468797320546, 0.11894715657926327, -0.10867717596727611, 0.04297636463724858,
  0.03869624400399061, -0.1101390854095446, 0.1441611133637609, -0.05866650839679753, -0.1219303609931728, 0.1301631065799846,
];

/** gelu(x) for x < -GELU_TAIL is x/2 · erfc(|x|/√2) (no cancellation in 1 + erf). Below
 *  -GELU_FLOOR the result is 0 in float32 (also for -∞). */
export const GELU_TAIL = Math.SQRT2;
export const GELU_FLOOR = 20;
/** e^(-x²/2) with x = xh + xl, xh = x rounded to a multiple of 2^-GELU_SPLIT_BITS, so xh² is exact
 *  for |x| < 16 and only the small (x - xh)(x + xh) is rounded. */
export const GELU_SPLIT = 256;

/** 1/k! for k = 0..n. */
const inverseFactorials = (n: number): number[] => {
  const out = [1];
  for (let k = 1; k <= n; k++) out.push(out[k - 1]! / k);
  return out;
};
const odd = inverseFactorials(13).filter((_, k) => k % 2 === 1);
const even = inverseFactorials(12).filter((_, k) => k % 2 === 0);
/** sin r = r + r³·S(r²), S = -1/3!, 1/5!, ..., -1/13! (alternating). */
export const SIN_S = odd.slice(1).map((c, i) => (i % 2 === 0 ? -c : c));
/** cos r = 1 + r²·C(r²), C = -1/2!, 1/4!, ..., 1/12!. */
export const COS_C = even.slice(1).map((c, i) => (i % 2 === 0 ? -c : c));

/** π/2 in three parts (Cody–Waite): PIO2_1 and PIO2_2 have 8 significant bits, so n·PIO2_1 and
 *  n·PIO2_2 are exact float32 products for |n| < 2^16; PIO2_3 is the rest, rounded to float32. */
export const PIO2_1 = Math.round((Math.PI / 2) * 2 ** 7) / 2 ** 7;
export const PIO2_2 = Math.round((Math.PI / 2 - PIO2_1) * 2 ** 18) / 2 ** 18;
export const PIO2_3 = Math.fround(Math.PI / 2 - PIO2_1 - PIO2_2);
/** Arguments the reduction serves (|n| < 2^16): up to here sin and cos are within 8.1e-8 of the
 *  exact value (1 ulp on [-100, 100]; near the zeros the absolute error, which grows with n, is
 *  many ulp of the tiny result); beyond, they stay in [-1, 1] but lose their accuracy. */
export const TRIG_MAX = 2 ** 16 * PIO2_1;

/** elu for -1 ≤ x ≤ 0: expm1(x) = x · Σ x^k / (k+1)!, k = 0..10 (no cancellation near 0). */
export const EXPM1_TAYLOR = inverseFactorials(12).slice(1, 12);
/** swish below SWISH_FAR (where sigmoid is subnormal): (x · e^(x/2)) · e^(x/2), rounded into the
 *  subnormal range once. */
export const SWISH_FAR = -87;

/** pow: log2 of the mantissa m in [√½, √2) is 2·log2e·atanh(s), s = (m - 1)/(m + 1), |s| ≤ 0.1716:
 *  K·s + s³·P(s²) with K = 2·log2e and P = K·(1/3, 1/5, ..., 1/13) (Taylor; the first term left out
 *  is below 2^-41 of the result). K in two parts: K_HI has 12 significant bits, so K_HI times a
 *  12-bit number is an exact float32 product. */
export const POW_K = 2 * Math.LOG2E;
export const POW_K_HI = Math.round(POW_K * 2 ** 10) / 2 ** 10;
export const POW_K_LO = POW_K - POW_K_HI;
export const POW_LOG2_P = [3, 5, 7, 9, 11, 13].map((k) => POW_K / k);
/** 2^r = e^(r·ln2) for |r| ≤ 1/2 by its Taylor polynomial to degree 8, (ln2)^k/k! (the first term
 *  left out is below 2^-32). */
export const EXP2_TAYLOR = inverseFactorials(8).map((c, k) => c * Math.LN2 ** k);
/** Veltkamp's splitting factor 2^12 + 1: (c - (c - a)), c = a·POW_SPLIT, is a's upper 12 bits,
 *  and the rest has 12 bits at most (so products of two such halves are exact float32 products). */
export const POW_SPLIT = 4097;
/** pow clamps its exponent y to ±POW_Y_MAX (no overflow when it is split): beyond, y·log2|x| is
 *  beyond ±362 for every float32 x ≠ 1 (|log2 x| ≥ 2^-23.5 there), where the result is 0 or ∞. */
export const POW_Y_MAX = 2 ** 32;
/** pow's y·log2|x| is clamped to ±POW_W_MAX before 2^· (the result is 0 or ∞ beyond ±150). */
export const POW_W_MAX = 200;
