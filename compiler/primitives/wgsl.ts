// The registry's WGSL column: the lowering of every elementwise primitive of ./elementwise.ts
// (test/primitives.test.ts checks that none is missing), which the WebGPU printer
// (backends/webgpu/) prints; row primitives carry theirs in ./rows.ts. WGSL is float32 only. Formulas take plain
// identifiers or literals (an operand may be repeated) and return an f32 expression; the helper
// functions some of them call (`HELPERS`) are printed into a shader only where it uses them.
//
// Where WGSL's built-in differs from the TypeScript kernel's meaning, the formula spells the
// meaning out: tanh and sigmoid without overflow for large |x| (a built-in tanh may be
// (e^2x - 1)/(e^2x + 1)), pow of a negative base (WGSL's pow is undefined there), log1p and expm1
// (Kahan's forms, as the ONNX lowering) for softplus and elu, and erf (WGSL has none).

import { SOFTPLUS_LINEAR_FROM } from "./elementwise.ts";
import type { Attrs } from "./types.ts";

/** Bit patterns of NaN and the infinities, as private variables: a constant expression may not
 *  be NaN or infinite in WGSL, a value read from a variable may. Printed into every shader. */
export const SPECIAL_VALUES = "var<private> w_nan: u32 = 0x7fc00000u;\nvar<private> w_pinf: u32 = 0x7f800000u;\nvar<private> w_ninf: u32 = 0xff800000u;";

/** A number as a WGSL f32 expression: a literal of its float32 value; infinities and NaN (which
 *  WGSL literals cannot spell) from their bit patterns (SPECIAL_VALUES). */
export function wnum(c: number): string {
  const f = Math.fround(c);
  if (!Number.isFinite(f)) return `bitcast<f32>(${Number.isNaN(f) ? "w_nan" : f > 0 ? "w_pinf" : "w_ninf"})`;
  if (f === 0) return Object.is(f, -0) ? "(-0.0f)" : "0.0f";
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  // A subnormal is spelled by its bits: a literal may be flushed to zero at compile time.
  if (Math.abs(f) < 1.1754943508222875e-38) return `bitcast<f32>(${bits >>> 0}u)`;
  let s = String(f);
  if (!/[.e]/.test(s)) s += ".0";
  return f < 0 ? `(${s}f)` : `${s}f`;
}

type Lower = (x: string[], attrs: Attrs) => string;

/** Helper functions a formula may call, by name; each is printed once into a shader that uses it. */
export const HELPERS: Record<string, string> = {
  w_sigmoid: `fn w_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}`,
  w_tanh: `fn w_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.0004) { return x - x * x * x / 3.0; }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}`,
  w_log1p: `fn w_log1p(u: f32) -> f32 {
  let v = 1.0 + u;
  if (v == 1.0) { return u; }
  return log(v) * u / (v - 1.0);
}`,
  w_expm1: `fn w_expm1(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  if (u == 0.0) { return -1.0; }
  return (u - 1.0) * x / log(u);
}`,
  // Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), odd in x.
  w_erf: `fn w_erf(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}`,
  // Math.pow's meaning: a negative base to a whole power keeps its sign by the power's parity.
  w_pow: `fn w_pow(a: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  let r = exp2(p * log2(abs(a)));
  if (a >= 0.0) { return r; }
  if (fract(p) != 0.0) { return bitcast<f32>(w_nan); }
  let odd = fract(p * 0.5) != 0.0;
  return select(r, -r, odd);
}`,
};

/** softplus as ./elementwise.ts defines it: x itself past SOFTPLUS_LINEAR_FROM. */
const softplus = (x: string) => `select(w_log1p(exp(${x})), ${x}, ${x} > ${wnum(SOFTPLUS_LINEAR_FROM)})`;

const call = (fn: string) => (x: string[]) => `${fn}(${x.join(", ")})`;

/** The WGSL formula of each registry op. */
export const WGSL_OPS: Record<string, Lower> = {
  add: ([a, b]) => `(${a} + ${b})`,
  sub: ([a, b]) => `(${a} - ${b})`,
  mul: ([a, b]) => `(${a} * ${b})`,
  div: ([a, b]) => `(${a} / ${b})`,
  neg: ([x]) => `(-${x})`,
  copy: ([x]) => `${x}`,
  sigmoid: call("w_sigmoid"),
  tanh: call("w_tanh"),
  relu: ([x]) => `select(${x}, 0.0, ${x} < 0.0)`,
  exp: call("exp"),
  log: call("log"),
  softsign: ([x]) => `(${x} / (1.0 + abs(${x})))`,
  softplus: ([x]) => softplus(x),
  log_sigmoid: ([x]) => `(-${softplus(`(-${x})`)})`,
  sqrt: call("sqrt"),
  abs: call("abs"),
  clip: ([x], { lo, hi }) => `select(select(${x}, ${wnum(hi!)}, ${x} > ${wnum(hi!)}), ${wnum(lo!)}, ${x} < ${wnum(lo!)})`,
  elu: ([x]) => `select(w_expm1(${x}), ${x}, ${x} > 0.0)`,
  gelu: ([x]) => `(0.5 * ${x} * (1.0 + w_erf(${x} * 0.70710678118654752)))`,
  swish: ([x]) => `(${x} * w_sigmoid(${x}))`,
  sin: call("sin"),
  cos: call("cos"),
  erf: call("w_erf"),
  pow: call("w_pow"),
  maximum: call("max"),
  minimum: call("min"),
  select: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0)`,
  sign: call("sign"),
  heaviside: ([x]) => `select(0.0, 1.0, ${x} > 0.0)`,
  between: ([x], { lo, hi }) => `select(0.0, 1.0, ${x} > ${wnum(lo!)} && ${x} < ${wnum(hi!)})`,
};

/** The WGSL formula of primitive `fn` over operands `x`; a primitive without one is a bug here. */
export function wgslOp(fn: string, x: string[], attrs: Attrs): string {
  const lower = WGSL_OPS[fn];
  if (!lower) throw new Error(`webgpu backend: no WGSL lowering for the primitive ${fn}`);
  return lower(x, attrs);
}

/** The helper functions `code` calls, in a fixed order. */
export function helpersFor(code: string): string[] {
  const used = new Set<string>();
  const visit = (text: string) => {
    for (const [name, body] of Object.entries(HELPERS)) if (!used.has(name) && new RegExp(`\\b${name}\\(`).test(text)) (used.add(name), visit(body));
  };
  visit(code);
  return Object.keys(HELPERS).filter((n) => used.has(n)).map((n) => HELPERS[n]!);
}
