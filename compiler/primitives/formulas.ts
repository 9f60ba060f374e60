// Helpers the registry's formulas share (./elementwise.ts): numbers as TypeScript and Python
// source, PyTorch's and ONNX's forms of max/min, pow, log1p and expm1 with the registry's NaN and
// edge rules.

import type { OnnxFormulaBuilder } from "./types.ts";

/** A number as TypeScript source: parenthesised when negative so it composes in any formula. */
export function num(c: number): string {
  if (Number.isNaN(c)) return "NaN";
  if (!Number.isFinite(c)) return c > 0 ? "Infinity" : "(-Infinity)";
  const s = String(c);
  return c < 0 || Object.is(c, -0) ? `(${s})` : s;
}

/** A number as Python source for the PyTorch backend: always a float literal (so a formula never
 *  mixes in integer arithmetic), parenthesised when negative; math.inf / math.nan otherwise. */
export function pyNum(c: number): string {
  if (Number.isNaN(c)) return "math.nan";
  if (!Number.isFinite(c)) return c > 0 ? "math.inf" : "(-math.inf)";
  let s = String(Math.abs(c));
  if (!/[.e]/.test(s)) s += ".0";
  return c < 0 || Object.is(c, -0) ? `(-${s})` : s;
}

/** The value of a float literal pyNum printed, or undefined for a tensor expression. */
function pyLiteral(s: string): number | undefined {
  const t = s.replace(/^\((.*)\)$/, "$1");
  if (t === "math.nan") return NaN;
  if (t === "math.inf" || t === "-math.inf") return t.startsWith("-") ? -Infinity : Infinity;
  return /^-?\d/.test(t) ? Number(t) : undefined;
}

/** PyTorch max/min with NaN propagating (torch.maximum takes tensors only; clamp_min takes a float). */
export function torchExtreme(fn: "maximum" | "minimum", clamp: "clamp_min" | "clamp_max", a: string, b: string): string {
  if (pyLiteral(b) !== undefined) return `torch.${clamp}(${a}, ${b})`;
  if (pyLiteral(a) !== undefined) return `torch.${clamp}(${b}, ${a})`;
  return `torch.${fn}(${a}, ${b})`;
}

/** a^p as Math.pow computes it: C's pow gives 1 for (±1)^(±∞), Math.pow NaN. */
export function torchPow(a: string, p: string): string {
  const [ca, cp] = [pyLiteral(a), pyLiteral(p)];
  if (cp !== undefined) return Number.isFinite(cp) ? `torch.pow(${a}, ${p})` : `torch.where(torch.abs(${a}) == 1.0, torch.full_like(${a}, math.nan), torch.pow(${a}, ${p}))`;
  if (ca !== undefined) return Math.abs(ca) === 1 ? `torch.where(torch.isinf(${p}), ${p} - ${p}, torch.pow(${a}, ${p}))` : `torch.pow(${a}, ${p})`;
  return `torch.where(torch.isinf(${p}) & (torch.abs(${a}) == 1.0), ${p} - ${p}, torch.pow(${a}, ${p}))`;
}

/** ONNX Max/Min with NaN propagating (onnxruntime's keep the other operand). */
export function onnxExtreme(op: "Max" | "Min", a: string, b: string, g: OnnxFormulaBuilder): string {
  return g.op("Where", [g.op("IsNaN", [a]), a, g.op("Where", [g.op("IsNaN", [b]), b, g.op(op, [a, b])])]);
}

/** log(1 + u) accurate for small u without a Log1p op (Kahan: log(v)·u / (v - 1) for v = 1 + u ≠ 1).
 *  softplus uses it: onnxruntime's Softplus loses e^x's digits for x ≪ 0 (log-space gates sum them). */
export function onnxLog1p(u: string, g: OnnxFormulaBuilder): string {
  const v = g.op("Add", [u, g.const(1)]);
  return g.op("Where", [g.op("Equal", [v, g.const(1)]), u, g.op("Div", [g.op("Mul", [g.op("Log", [v]), u]), g.op("Sub", [v, g.const(1)])])]);
}

/** e^x - 1 accurate near 0 without an Expm1 op (Kahan: (u - 1)·x / log u for u = e^x ≠ 1). */
export function onnxExpm1(x: string, g: OnnxFormulaBuilder): string {
  const u = g.op("Exp", [x]);
  const ratio = g.op("Div", [g.op("Mul", [g.op("Sub", [u, g.const(1)]), x]), g.op("Log", [u])]);
  return g.op("Where", [g.op("Equal", [u, g.const(1)]), x, g.op("Where", [g.op("Equal", [u, g.const(0)]), g.const(-1), ratio])]);
}
