// f32x4 approximations of functions that fast-math float32 builds otherwise compute per lane
// through the host (see math.ts): built on math.ts's fast exp and sigmoid, within a few float32
// ulp (test/wasm-primitives.test.ts measures them on the grid and on dense sweeps):
//   elu    x > 0: x; -1 ≤ x ≤ 0: expm1(x) by its Taylor polynomial to degree 11 (no cancellation
//          near 0); x < -1: e^x - 1 (e^x < 0.37 there, so its error stays under 2 ulp of the result)
//   swish  x · sigmoid(x); below -87 (sigmoid subnormal) (x · e^(x/2)) · e^(x/2), so the result
//          rounds into the subnormal range once
// gelu, erf, sin, cos and pow stay exact per lane: they need range reductions (sin, cos), a
// fitted erf, and pow's sign and integer cases; none is written yet.

import { f32x4Const as K, f32x4Function as fn, f32x4Horner as horner } from "./wat.ts";

/** Functions this file approximates, and the math.ts functions each calls. */
export const APPROX_CALLS = { elu: ["exp"], swish: ["exp", "sigmoid"] } as const;
export type ApproxFn = keyof typeof APPROX_CALLS;
export const APPROX_FUNCTIONS = Object.keys(APPROX_CALLS) as ApproxFn[];


/** 1/1!, 1/2!, ..., 1/11!: expm1(x) = x · Σ x^k / (k+1)!. */
const EXPM1_TAYLOR = Array.from({ length: 11 }, (_, k) => {
  let f = 1;
  for (let i = 2; i <= k + 1; i++) f *= i;
  return 1 / f;
});

function elu(): string {
  return fn("elu", ["p", "m"], [
    `(local.set $p (f32x4.mul (local.get $x) ${horner(EXPM1_TAYLOR, "(local.get $x)")}))`,
    `(local.set $m (f32x4.sub (call $exp (local.get $x)) ${K(1)}))`,
    `(local.set $p (v128.bitselect (local.get $m) (local.get $p) (f32x4.lt (local.get $x) ${K(-1)})))`,
    ";; x > 0 (and +∞): x itself; NaN stays NaN through the polynomial",
    `(v128.bitselect (local.get $x) (local.get $p) (f32x4.gt (local.get $x) ${K(0)}))`,
  ]);
}

function swish(): string {
  return fn("swish", ["h", "far"], [
    `(local.set $h (call $exp (f32x4.mul (local.get $x) ${K(0.5)})))`,
    `(local.set $far (f32x4.mul (f32x4.mul (local.get $x) (local.get $h)) (local.get $h)))`,
    `(v128.bitselect (local.get $far) (f32x4.mul (local.get $x) (call $sigmoid (local.get $x))) (f32x4.lt (local.get $x) ${K(-87)}))`,
  ]);
}

/** The WAT function of an approximated function. */
export function approxFunction(f: ApproxFn): string {
  return f === "elu" ? elu() : swish();
}
