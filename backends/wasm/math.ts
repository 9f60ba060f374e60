// The transcendental functions of fused maps, as WebAssembly functions on whole vectors.
//
// Fast (optimised float32 builds, plan.fastMath): f32x4 approximations within a few float32 ulp
// (test/wasm-primitives.test.ts runs them on a grid with extremes against Math):
//   exp, sigmoid, tanh  as compiler/primitives/fastmath.ts defines them (printed by ./fastmath.ts;
//            the module's TypeScript fallback computes the same bits)
//   log      x = m·2^e with m in [√½, √2): 2·atanh((m-1)/(m+1)) by its series, plus e·ln2
//            (split in two parts); subnormals scaled first; 0, negatives, ∞ and NaN handled
//   softplus x past SOFTPLUS_LINEAR_FROM (20), else log1p(e^x), log1p(u) = u·log(1+u)/((1+u)-1) (exact when 1+u = 1)
// Exact (float64 builds, and float32 builds without fastMath): each lane through the host's
// Math (imported as m.exp, m.tanh, m.log, m.log1p), in float64 as the TypeScript backend
// computes it, then rounded to the element type. Fast float32 builds approximate elu, swish, erf,
// gelu, sin, cos and pow (of two vectors; m.pow per lane in the other builds) as
// compiler/primitives/fastmath.ts defines them (the TypeScript fallback computes the same bits).

import { SOFTPLUS_LINEAR_FROM } from "../../compiler/primitives/elementwise.ts";
import { FAST_FUNCTIONS, fastCallees, fastFunction, LN2_HI, LN2_LO, type FastName } from "../../compiler/primitives/fastmath.ts";
import { fastWasm } from "./fastmath.ts";
import { f32x4Const as K, f32x4Function as fn, f32x4Horner as horner, type Elem } from "./wat.ts";

/** The vector math functions: each has an f32x4 approximation for fast math (here, or from
 *  compiler/primitives/fastmath.ts), and is exact per lane otherwise. */
export const MATH_FUNCTIONS = ["exp", "sigmoid", "tanh", "log", "softplus", "elu", "gelu", "swish", "sin", "cos", "erf", "pow"] as const;
/** The fast functions printed from compiler/primitives/fastmath.ts's table (pow of two vectors). */
const TABLE: readonly FastName[] = FAST_FUNCTIONS.map((f) => f.name);
export type MathFn = (typeof MATH_FUNCTIONS)[number];

/** Host functions the exact variants import (f64 -> f64; pow takes two). */
export const HOST_IMPORTS = ["exp", "tanh", "log", "log1p", "expm1", "sin", "cos", "erf", "pow"] as const;
export type HostFn = (typeof HOST_IMPORTS)[number];

/** The import declaration of a host function. */
export const hostImport = (h: HostFn) => `  (import "m" "${h}" (func $host_${h} (param f64)${h === "pow" ? " (param f64)" : ""} (result f64)))`;

/** What provides each host function in a generated module (erf: backends/ts/support/special.ts). */
export const HOST_SOURCE: Record<HostFn, string> = {
  exp: "Math.exp", tanh: "Math.tanh", log: "Math.log", log1p: "Math.log1p", expm1: "Math.expm1", sin: "Math.sin", cos: "Math.cos", erf: "erf", pow: "Math.pow",
};



function fastLog(): string {
  const atanh = [2 / 3, 2 / 5, 2 / 7, 2 / 9];
  return fn("log", ["tiny", "y", "e", "m", "big", "f", "s", "z", "ef", "r"], [
    ";; subnormals: scale by 2^23 first",
    `(local.set $tiny (f32x4.lt (local.get $x) ${K(1.1754943508222875e-38)}))`,
    `(local.set $y (v128.bitselect (f32x4.mul (local.get $x) ${K(8388608)}) (local.get $x) (local.get $tiny)))`,
    ";; e = exponent, m = mantissa in [1, 2), moved to [√½, √2)",
    "(local.set $e (i32x4.add (i32x4.sub (i32x4.shr_u (local.get $y) (i32.const 23)) (v128.const i32x4 127 127 127 127))",
    "  (v128.and (local.get $tiny) (v128.const i32x4 -23 -23 -23 -23))))",
    "(local.set $m (v128.or (v128.and (local.get $y) (v128.const i32x4 0x007fffff 0x007fffff 0x007fffff 0x007fffff)) (v128.const i32x4 0x3f800000 0x3f800000 0x3f800000 0x3f800000)))",
    `(local.set $big (f32x4.gt (local.get $m) ${K(Math.SQRT2)}))`,
    `(local.set $m (v128.bitselect (f32x4.mul (local.get $m) ${K(0.5)}) (local.get $m) (local.get $big)))`,
    "(local.set $e (i32x4.sub (local.get $e) (local.get $big)))",
    ";; log m = 2·atanh(s), s = (m - 1) / (m + 1)",
    `(local.set $f (f32x4.sub (local.get $m) ${K(1)}))`,
    `(local.set $s (f32x4.div (local.get $f) (f32x4.add (local.get $f) ${K(2)})))`,
    "(local.set $z (f32x4.mul (local.get $s) (local.get $s)))",
    "(local.set $ef (f32x4.convert_i32x4_s (local.get $e)))",
    `(local.set $r (f32x4.add (f32x4.mul (local.get $ef) ${K(LN2_HI)})`,
    `  (f32x4.add (f32x4.add (f32x4.add (local.get $s) (local.get $s)) (f32x4.mul (f32x4.mul (local.get $s) (local.get $z)) ${horner(atanh, "(local.get $z)")}))`,
    `    (f32x4.mul (local.get $ef) ${K(LN2_LO)}))))`,
    ";; log 0 = -∞, log of a negative = NaN, log ∞ = ∞, NaN stays NaN",
    `(local.set $r (v128.bitselect ${K(-Infinity)} (local.get $r) (f32x4.eq (local.get $x) ${K(0)})))`,
    `(local.set $r (v128.bitselect ${K(NaN)} (local.get $r) (f32x4.lt (local.get $x) ${K(0)})))`,
    `(local.set $r (v128.bitselect ${K(Infinity)} (local.get $r) (f32x4.eq (local.get $x) ${K(Infinity)})))`,
    "(v128.bitselect (local.get $x) (local.get $r) (f32x4.ne (local.get $x) (local.get $x)))",
  ]);
}

function fastSoftplus(): string {
  return fn("softplus", ["e", "w", "l"], [
    "(local.set $e (call $exp (local.get $x)))",
    `(local.set $w (f32x4.add (local.get $e) ${K(1)}))`,
    ";; log1p(e) = e · log(w) / (w - 1), or e itself when w rounds to 1",
    "(local.set $l (f32x4.div (f32x4.mul (local.get $e) (call $log (local.get $w))) (f32x4.sub (local.get $w) " + K(1) + ")))",
    `(local.set $l (v128.bitselect (local.get $e) (local.get $l) (f32x4.eq (local.get $w) ${K(1)})))`,
    `(v128.bitselect (local.get $x) (local.get $l) (f32x4.gt (local.get $x) ${K(SOFTPLUS_LINEAR_FROM)}))`,
  ]);
}

/** An exact function: each lane in float64 through `expr` (over `(local.get $s)`, f64, and for a
 *  function of two vectors `(local.get $t)`, the second's lane). */
function exactLanes(e: Elem, name: string, expr: string, two = false): string {
  const lines = ["(local.set $r (local.get $x))"];
  const wide = (x: string) => (e.s === "f32" ? `(f64.promote_f32 ${x})` : x);
  for (let l = 0; l < e.lanes; l++) {
    lines.push(`(local.set $s ${wide(`(${e.v}.extract_lane ${l} (local.get $x))`)})`);
    if (two) lines.push(`(local.set $t ${wide(`(${e.v}.extract_lane ${l} (local.get $y))`)})`);
    const v = e.s === "f32" ? `(f32.demote_f64 ${expr})` : expr;
    lines.push(`(local.set $r (${e.v}.replace_lane ${l} (local.get $r) ${v}))`);
  }
  lines.push("(local.get $r)");
  const params = two ? "(param $x v128) (param $y v128)" : "(param $x v128)";
  return [`  (func $${name} ${params} (result v128)`, "    (local $r v128)", "    (local $s f64)", "    (local $t f64)", ...lines.map((l) => `    ${l}`), "  )"].join("\n");
}

const S = "(local.get $s)";
const EXACT: Record<MathFn, string> = {
  exp: `(call $host_exp ${S})`,
  sigmoid: `(f64.div (f64.const 1) (f64.add (f64.const 1) (call $host_exp (f64.neg ${S}))))`,
  tanh: `(call $host_tanh ${S})`,
  log: `(call $host_log ${S})`,
  softplus: `(select ${S} (call $host_log1p (call $host_exp ${S})) (f64.gt ${S} (f64.const ${SOFTPLUS_LINEAR_FROM})))`,
  // As the TypeScript formulas of these primitives compute them, in the same order.
  elu: `(select ${S} (call $host_expm1 ${S}) (f64.gt ${S} (f64.const 0)))`,
  gelu: `(f64.mul (f64.mul (f64.const 0.5) ${S}) (f64.add (f64.const 1) (call $host_erf (f64.mul ${S} (f64.const ${Math.SQRT1_2})))))`,
  swish: `(f64.mul ${S} (f64.div (f64.const 1) (f64.add (f64.const 1) (call $host_exp (f64.neg ${S})))))`,
  sin: `(call $host_sin ${S})`,
  cos: `(call $host_cos ${S})`,
  erf: `(call $host_erf ${S})`,
  pow: `(call $host_pow ${S} (local.get $t))`,
};

/** The functions a module uses, with what they call: (`sigmoid` calls `exp`, softplus `exp` and `log`). */
export function mathFunctions(e: Elem, fast: boolean, used: ReadonlySet<MathFn>): { text: string; imports: HostFn[] } {
  const approx = fast && e.s === "f32";
  const need = new Set(used);
  if (approx && (need.has("sigmoid") || need.has("tanh"))) need.add("exp");
  if (approx && need.has("softplus")) need.add("exp").add("log");
  if (approx && need.has("sigmoid")) need.add("exp");
  // The functions of compiler/primitives/fastmath.ts call others of that table.
  for (const f of TABLE) if (approx && need.has(f)) for (const g of fastCallees(fastFunction(f))) need.add(g);
  const make = { log: fastLog, softplus: fastSoftplus, ...Object.fromEntries(TABLE.map((f) => [f, () => fastWasm(f)])) } as Record<MathFn, () => string>;
  const list = MATH_FUNCTIONS.filter((f) => need.has(f));
  const text = list.map((f) => (approx ? make[f]() : exactLanes(e, f, EXACT[f], f === "pow"))).join("\n");
  const exact = approx ? [] : list;
  const imports = HOST_IMPORTS.filter((h) => exact.some((f) => EXACT[f].includes(`$host_${h} `)));
  return { text, imports };
}
