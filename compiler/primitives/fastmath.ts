// The fast-math approximations of optimised float32 WebAssembly builds (plan.fastMath), as data:
// each function is a few float32 steps over its argument (pow: its two), written once here and
// printed by both the WebAssembly printer (f32x4 instructions, backends/wasm/fastmath.ts) and the
// TypeScript printer for a WebAssembly module's fallback (Math.fround after every step,
// backends/ts/fastmath.ts). Every step is an IEEE float32 operation both round the same way, so a
// wasm module and its TypeScript fallback give the same bits (test/fastmath.test.ts). Within 4
// float32 ulp of the exact function (test/wasm-primitives.test.ts sweeps them). TypeScript
// modules of their own keep backends/ts/support/fastmath.ts: float64 approximations within 1 ulp
// that run faster than this emulation of float32 (38-48% of an LSTM's forward time, measured).
//
//   exp      x = n·ln2 + r (Cody–Waite, |r| ≤ ln2/2), e^r by its degree-7 Taylor polynomial,
//            2^n applied as two exact power-of-two factors so subnormal results round once
//   sigmoid  1 / (1 + e^-x), as e^x / (1 + e^x) for x < 0 (no overflow)
//   tanh     |x| ≤ 0.625: x + x³·P(x²), P a degree-4 least-squares fit (0.83 ulp);
//            beyond: 1 - 2 / (e^2|x| + 1), the sign put back from x
//   elu      x > 0: x; -1 ≤ x ≤ 0: expm1(x) by its Taylor polynomial to degree 11 (no
//            cancellation near 0); x < -1: e^x - 1 (e^x < 0.37 there: under 2 ulp of the result)
//   swish    x · sigmoid(x); below -87 (sigmoid subnormal) (x · e^(x/2)) · e^(x/2), so the result
//            rounds into the subnormal range once
//   erf      |x| ≤ 1: x + x·P(x²); beyond: 1 - e^-x²·t·R(t - ½), t = 1/|x| (minimax fits,
//            ./fastmath-fits.ts), the sign put back from x
//   gelu     x ≥ -√2: x/2 · (1 + erf(x/√2)), 1 + erf by erf's polynomial for |x| ≤ √2; below: x/2 · erfc(|x|/√2) as above, with e^(-x²/2)
//            from x split in a short exact part and a rest, so x² is not rounded (no
//            cancellation in 1 + erf, and no error growing with x²); -0 below -20 (NaN at -∞, as
//            the definition gives)
//   sin, cos x = n·π/2 + r (Cody–Waite, three parts, |n| < 2^16), r's Taylor polynomials, the
//            quadrant n mod 4 picking ±sin r or ±cos r; kept in [-1, 1] (beyond 2^16·π/2
//            the reduction is not accurate: documented)
//   pow      x^y = 2^(y·log2|x|): |x| = m·2^e, m in [√½, √2) (subnormals scaled by 2^23 first),
//            log2 m = 2·log2e·atanh(s), s = (m - 1)/(m + 1), carried as a pair of float32 numbers
//            (s's upper 12 bits and the rest, from exact Veltkamp/Dekker products), y times it
//            as an exact pair, 2^w as 2^n · 2^r (Taylor, degree 8); Math.pow's special cases
//            (0, ∞, NaN, a negative x and an integral y, (±1)^±∞) as selects. 1 ulp for x in
//            (0, 1e6], y in [-20, 20]; 2 ulp wherever the result is normal

import {
  COS_C, EXP2_TAYLOR, EXPM1_TAYLOR, SWISH_FAR, ERF_P, ERF_SMALL, ERFC_MID, ERFC_R, GELU_FLOOR, GELU_SPLIT, GELU_TAIL, PIO2_1, PIO2_2, PIO2_3,
  POW_K, POW_K_HI, POW_K_LO, POW_LOG2_P, POW_SPLIT, POW_W_MAX, POW_Y_MAX, SIN_S,
} from "./fastmath-fits.ts";

/** One float32 value computed from the argument `x` and earlier steps. Operands that an operation
 *  reads twice (pmin, pmax, select, copysign) are names or numbers, so a printer may repeat them. */
export type FExpr =
  /** A constant (rounded to float32). */
  | number
  /** The argument "x" or an earlier step. */
  | string
  | { op: "add" | "sub" | "mul" | "div"; a: FExpr; b: FExpr }
  /** WebAssembly's pseudo-minimum b < a ? b : a and pseudo-maximum a < b ? b : a (NaN in a passes). */
  | { op: "pmin" | "pmax"; a: FExpr; b: FExpr }
  /** Round to the nearest integer, ties to even. */
  | { op: "neg" | "abs" | "nearest"; a: FExpr }
  /** The float32 a's exponent field less its bias, ((bits >>> 23) & 255) - 127 (for a normal a:
   *  floor(log2 |a|)); and a with that field set to 127 and its sign cleared (for a normal a: |a|'s
   *  mantissa in [1, 2)). */
  | { op: "exponent" | "mantissa"; a: FExpr }
  /** l cmp r ? then : otherwise (false when either is NaN; -0 equals 0). */
  | { op: "select"; cmp: "lt" | "le" | "gt" | "eq"; l: FExpr; r: FExpr; then: FExpr; otherwise: FExpr }
  /** a · 2^n for an integral n in [-254, 254] (0 for NaN), as two exact power-of-two factors
   *  2^(n>>1) · 2^(n - (n>>1)), so a subnormal result is rounded once. */
  | { op: "scale2"; a: FExpr; n: FExpr }
  /** a (with its sign bit clear) given the sign bit of s. */
  | { op: "copysign"; a: FExpr; s: FExpr }
  /** c[0] + z·(c[1] + z·(... + z·c[n-1])), by Horner's rule from the innermost coefficient out
   *  (z a name: it is read at every step). */
  | { op: "poly"; c: readonly number[]; z: string }
  /** Another function of this table. */
  | { op: "call"; fn: FastName; a: FExpr };

export type FastName = "exp" | "sigmoid" | "tanh" | "elu" | "swish" | "erf" | "gelu" | "sin" | "cos" | "pow";

export interface FastFunction {
  name: FastName;
  /** The arguments, ["x"] when not given (pow: ["x", "y"]). */
  params?: readonly string[];
  /** Steps in order: each names a value. */
  steps: readonly (readonly [string, FExpr])[];
  result: FExpr;
}

const add = (a: FExpr, b: FExpr): FExpr => ({ op: "add", a, b });
const sub = (a: FExpr, b: FExpr): FExpr => ({ op: "sub", a, b });
const mul = (a: FExpr, b: FExpr): FExpr => ({ op: "mul", a, b });
const div = (a: FExpr, b: FExpr): FExpr => ({ op: "div", a, b });

const horner = (c: readonly number[], z: string): FExpr => ({ op: "poly", c, z });

/** ln 2 in two parts: LN2_HI has few bits, so n·LN2_HI is exact for the n that occur. */
export const LN2_HI = 0.693359375;
export const LN2_LO = -2.12194440e-4;
/** e^r's Taylor coefficients, 1/k!. */
export const EXP_TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
/** exp's argument is clamped to [EXP_LO, EXP_HI]: below, e^x is 0 in float32; above, ∞. */
export const EXP_LO = -150;
export const EXP_HI = 100;
/** tanh: the polynomial below TANH_SMALL, x + x³·P(x²). */
export const TANH_SMALL = 0.625;
export const TANH_P = [-0.3333328068256378, 0.13331381976604462, -0.05373533070087433, 0.02062632143497467, -0.0056920163333415985];

/** sin (shift 0) or cos (shift 1, cos x = sin(x + π/2)): the quadrant q = (n + shift) mod 4, as
 *  an integer in [-2, 2], picks sin r (q 0), cos r (1), -sin r (±2) or -cos r (-1). */
function trig(name: "sin" | "cos", shift: 0 | 1): FastFunction {
  const neg = (a: FExpr): FExpr => ({ op: "neg", a });
  const sel = (cmp: "lt" | "gt", l: string, r: number, then: FExpr, otherwise: FExpr): FExpr => ({ op: "select", cmp, l, r, then, otherwise });
  return {
    name,
    steps: [
      ["n", { op: "nearest", a: mul("x", 2 / Math.PI) }],
      ["r", sub(sub(sub("x", mul("n", PIO2_1)), mul("n", PIO2_2)), mul("n", PIO2_3))],
      ["z", mul("r", "r")],
      ["s", add("r", mul(mul("r", "z"), horner(SIN_S, "z")))],
      ["c", add(1, mul("z", horner(COS_C, "z")))],
      ["m", shift === 1 ? add("n", 1) : "n"],
      ["q", sub("m", mul(4, { op: "nearest", a: mul("m", 0.25) }))],
      // |q| = 1 (odd quadrants) takes cos r
      ["w", { op: "abs", a: sub({ op: "abs", a: "q" }, 1) }],
      ["v", sel("lt", "w", 0.5, "c", "s")],
      // negative in quadrants 2 and 3 (q = ±2 or -1)
      ["u", sel("lt", "q", -0.5, neg("v"), sel("gt", "q", 1.5, neg("v"), "v"))],
      ["lo", { op: "pmin", a: "u", b: 1 }],
    ],
    result: { op: "pmax", a: "lo", b: -1 },
  };
}

/** l cmp r ? then : otherwise (both branches are computed, whatever the comparison gives). */
const sel = (cmp: "lt" | "le" | "gt" | "eq", l: FExpr, r: FExpr, then: FExpr, otherwise: FExpr): FExpr => ({ op: "select", cmp, l, r, then, otherwise });
const nearest = (a: FExpr): FExpr => ({ op: "nearest", a });
/** Veltkamp's split of the named float32 `a`: `hi` its upper 12 bits, and `lo` (if named) the rest. */
const split = (a: string, hi: string, lo?: string): (readonly [string, FExpr])[] => [
  [`${hi}c`, mul(a, POW_SPLIT)],
  [hi, sub(`${hi}c`, sub(`${hi}c`, a))],
  ...(lo === undefined ? [] : [[lo, sub(a, hi)] as const]),
];

/** pow(x, y) as Math.pow defines it, float32: 2^(y·log2|x|) with log2|x| = e + log2 m as a sum
 *  lh + ll of float32 numbers (about 36 significant bits), y·lh an exact sum p + pe (Dekker's
 *  product), and 2^w with w = p + (pe + y·ll) as 2^n · 2^r, n = nearest(p), r = (p - n) + the rest.
 *  Then Math.pow's special cases, each a select. */
const POW: FastFunction = {
  name: "pow",
  params: ["x", "y"],
  steps: [
    ["a", { op: "abs", a: "x" }],
    // subnormal |x|: scaled by 2^23 first
    ["a2", sel("lt", "a", 2 ** -126, mul("a", 2 ** 23), "a")],
    ["e0", add({ op: "exponent", a: "a2" }, sel("lt", "a", 2 ** -126, -23, 0))],
    ["m0", { op: "mantissa", a: "a2" }],
    // m in [√½, √2); f = m - 1 is exact, and split so that f·(a 12-bit number) is exact
    ["m", sel("gt", "m0", Math.SQRT2, mul("m0", 0.5), "m0")],
    ["e", sel("gt", "m0", Math.SQRT2, add("e0", 1), "e0")],
    ["f", sub("m", 1)],
    ...split("f", "fh", "fl"),
    ["d", add("f", 2)],
    // s = f / (2 + f) = sh + sl: sh its upper 12 bits, sl from the remainder f - sh·(2 + f),
    // computed from exact products (f - 2·sh is exact: 2·sh/f is in [0.8, 1.2])
    ["q", div("f", "d")],
    ...split("q", "sh"),
    ["rem", sub(sub(sub("f", add("sh", "sh")), mul("sh", "fh")), mul("sh", "fl"))],
    ["sl", div("rem", "d")],
    ["s", add("sh", "sl")],
    ["z", mul("s", "s")],
    // log2 m = K·sh (exact: K_HI·sh, 24 bits) + K_LO·sh + K·sl + s³·P(s²)
    ["k1", mul("sh", POW_K_HI)],
    // s³ = sh³ + sl·(sh² + sh·s + s²), sh² exact: C3·sh³ is rounded twice, the rest is small
    ["u", mul("sh", "sh")],
    ["t3", mul(mul("u", "sh"), POW_LOG2_P[0]!)],
    ["t5", add(mul(mul("sl", add(add("u", mul("sh", "s")), "z")), POW_LOG2_P[0]!), mul(mul(mul("s", "z"), "z"), horner(POW_LOG2_P.slice(1), "z")))],
    ["k2", add(add(add(mul("sh", POW_K_LO), mul("sl", POW_K)), "t5"), "t3")],
    // e + k1 + k2 = lh + ll, lh rounded to float32: two exact sums (Fast2Sum: |e| ≥ 1 > |k1|
    // or e = 0, and |k2| < |h1| or k2 = 0)
    ["h1", add("e", "k1")],
    ["l1", sub("k1", sub("h1", "e"))],
    ["lh", add("h1", "k2")],
    ["ll", add("l1", sub("k2", sub("lh", "h1")))],
    // y·lh = p + pe exactly (y clamped: beyond, the result is 0 or ∞ unless |x| = 1)
    ["yc", { op: "pmin", a: { op: "pmax", a: "y", b: -POW_Y_MAX }, b: POW_Y_MAX }],
    ...split("yc", "yh", "yl"),
    ...split("lh", "lhh", "lhl"),
    ["p", mul("yc", "lh")],
    ["pe", add(add(add(sub(mul("yh", "lhh"), "p"), mul("yh", "lhl")), mul("yl", "lhh")), mul("yl", "lhl"))],
    // 2^w, w = p + (pe + yc·ll), as 2^n · 2^r
    ["pc", { op: "pmin", a: { op: "pmax", a: "p", b: -POW_W_MAX }, b: POW_W_MAX }],
    ["n", nearest("pc")],
    ["r0", add(sub("pc", "n"), add("pe", mul("yc", "ll")))],
    ["r", { op: "pmin", a: { op: "pmax", a: "r0", b: -1 }, b: 1 }],
    ["mag", { op: "scale2", a: horner(EXP2_TAYLOR, "r"), n: "n" }],
    // |x| = 0 or ∞: 0 or ∞ by y's sign
    ["big", sel("gt", "y", 0, Infinity, 0)],
    ["small", sel("gt", "y", 0, 0, Infinity)],
    ["m1", sel("eq", "a", 0, "small", sel("eq", "a", Infinity, "big", "mag"))],
    // x's sign where y is an odd integer (y/2 an integer and a half)
    ["yhalf", mul("y", 0.5)],
    ["frac", { op: "abs", a: sub("yhalf", nearest("yhalf")) }],
    ["sign", sel("eq", "frac", 0.5, "x", 1)],
    ["m2", { op: "copysign", a: "m1", s: "sign" }],
    // a finite x < 0 and y not an integer: NaN
    ["m3", sel("lt", "x", 0, sel("gt", "x", -Infinity, sel("eq", nearest("y"), "y", "m2", NaN), "m2"), "m2")],
    // (±1)^(±∞): NaN
    ["m4", sel("eq", "a", 1, sel("eq", { op: "abs", a: "y" }, Infinity, NaN, "m3"), "m3")],
    // x or y NaN: NaN
    ["m5", sel("eq", "x", "x", sel("eq", "y", "y", "m4", "y"), "x")],
  ],
  // y = ±0: 1, whatever x is
  result: sel("eq", "y", 0, 1, "m5"),
};

export const FAST_FUNCTIONS: readonly FastFunction[] = [
  {
    name: "exp",
    steps: [
      // clamp (NaN passes through pmin/pmax), n = nearest(x·log2 e), r = x - n·ln2
      ["lo", { op: "pmax", a: "x", b: EXP_LO }],
      ["c", { op: "pmin", a: "lo", b: EXP_HI }],
      ["n", { op: "nearest", a: mul("c", Math.LOG2E) }],
      ["r", sub(sub("c", mul("n", LN2_HI)), mul("n", LN2_LO))],
    ],
    result: { op: "scale2", a: horner(EXP_TAYLOR, "r"), n: "n" },
  },
  {
    name: "sigmoid",
    // e = e^-|x| never overflows: 1 / (1 + e) for x ≥ 0, e / (1 + e) below (subnormal results too).
    steps: [["e", { op: "call", fn: "exp", a: { op: "neg", a: { op: "abs", a: "x" } } }]],
    result: div({ op: "select", cmp: "lt", l: "x", r: 0, then: "e", otherwise: 1 }, add(1, "e")),
  },
  {
    name: "tanh",
    steps: [
      ["a", { op: "abs", a: "x" }],
      ["z", mul("a", "a")],
      ["small", add("a", mul(mul("a", "z"), horner(TANH_P, "z")))],
      ["large", sub(1, div(2, add({ op: "call", fn: "exp", a: add("a", "a") }, 1)))],
      // |tanh x| from the branch for |x|, then x's sign
      ["m", { op: "select", cmp: "le", l: "a", r: TANH_SMALL, then: "small", otherwise: "large" }],
    ],
    result: { op: "copysign", a: "m", s: "x" },
  },
  {
    name: "elu",
    steps: [
      ["p", mul("x", horner(EXPM1_TAYLOR, "x"))],
      ["m", sub({ op: "call", fn: "exp", a: "x" }, 1)],
      ["q", { op: "select", cmp: "lt", l: "x", r: -1, then: "m", otherwise: "p" }],
    ],
    // x > 0 (and +∞): x itself; NaN stays NaN through the polynomial
    result: { op: "select", cmp: "gt", l: "x", r: 0, then: "x", otherwise: "q" },
  },
  {
    name: "swish",
    steps: [
      ["h", { op: "call", fn: "exp", a: mul("x", 0.5) }],
      ["far", mul(mul("x", "h"), "h")],
      ["near", mul("x", { op: "call", fn: "sigmoid", a: "x" })],
    ],
    result: { op: "select", cmp: "lt", l: "x", r: SWISH_FAR, then: "far", otherwise: "near" },
  },
  {
    name: "erf",
    steps: [
      ["a", { op: "abs", a: "x" }],
      ["z", mul("a", "a")],
      ["small", add("x", mul("x", horner(ERF_P, "z")))],
      ["t", div(1, "a")],
      ["s", sub("t", ERFC_MID)],
      ["e", { op: "call", fn: "exp", a: { op: "neg", a: "z" } }],
      ["tail", sub(1, mul("e", mul("t", horner(ERFC_R, "s"))))],
      ["big", { op: "copysign", a: "tail", s: "x" }],
    ],
    result: { op: "select", cmp: "le", l: "a", r: ERF_SMALL, then: "small", otherwise: "big" },
  },
  {
    name: "gelu",
    steps: [
      // 1 + erf(u), u = x/√2: for |u| ≤ 1 as (1 + u) + u·P(u²) (1 + u is exact for u ≥ -1/2, so
      // nothing cancels), else 1 + erf(u)
      ["u", mul("x", Math.SQRT1_2)],
      ["z", mul("u", "u")],
      ["p", add(add(1, "u"), mul("u", horner(ERF_P, "z")))],
      ["q", add(1, { op: "call", fn: "erf", a: "u" })],
      ["near", mul(mul(0.5, "x"), { op: "select", cmp: "le", l: "z", r: ERF_SMALL, then: "p", otherwise: "q" })],
      // the tail, from c = max(x, -20) (NaN passes) and a = -c > 0
      ["c", { op: "pmax", a: "x", b: -GELU_FLOOR }],
      ["a", { op: "neg", a: "c" }],
      ["t", div(Math.SQRT2, "a")],
      ["s", sub("t", ERFC_MID)],
      ["xh", mul({ op: "nearest", a: mul("a", GELU_SPLIT) }, 1 / GELU_SPLIT)],
      ["xl", sub("a", "xh")],
      ["e1", { op: "call", fn: "exp", a: mul(mul("xh", "xh"), -0.5) }],
      ["e2", { op: "call", fn: "exp", a: mul(mul("xl", add("a", "xh")), -0.5) }],
      // x itself last: -∞ gives NaN, as the definition's -∞ · 0 does
      ["far", mul(mul(mul("e1", "e2"), mul("t", horner(ERFC_R, "s"))), mul(0.5, "x"))],
    ],
    result: { op: "select", cmp: "lt", l: "x", r: -GELU_TAIL, then: "far", otherwise: "near" },
  },
  trig("sin", 0),
  trig("cos", 1),
  POW,
];

export function fastFunction(name: FastName): FastFunction {
  return FAST_FUNCTIONS.find((f) => f.name === name)!;
}

/** The functions `f` calls, directly or not. */
export function fastCallees(f: FastFunction): Set<FastName> {
  const out = new Set<FastName>();
  const walk = (e: FExpr): void => {
    if (typeof e !== "object") return;
    if (e.op === "poly") return;
    if (e.op === "call") {
      if (!out.has(e.fn)) {
        out.add(e.fn);
        for (const c of fastCallees(fastFunction(e.fn))) out.add(c);
      }
      walk(e.a);
      return;
    }
    for (const v of Object.values(e)) walk(v as FExpr);
  };
  for (const [, e] of f.steps) walk(e);
  walk(f.result);
  return out;
}
