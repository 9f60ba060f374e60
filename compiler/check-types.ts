// The checker's types of expressions and the one broadcasting rule. A value is a number (maybe
// with a value known at check time), a vector [n] or a matrix [m, n]; a vector of size 1 (`[1]`,
// `[]`) is a scalar value and broadcasts like a number. Elementwise operations take equal shapes,
// or a number / [1] value with anything; a longer vector never broadcasts over a matrix, since
// along its rows or its columns would be a guess.

import type { DiagnosticCode } from "../grammar/diagnostics.ts";
import { shapeText, type Size } from "./sizes.ts";

export type Ty =
  | { k: "scalar"; value?: number }
  | { k: "vec"; size: Size }
  /** Any matrix: a parameter, a matrix state or local, an outer product, a transpose. */
  | { k: "mat"; rows: Size; cols: Size }
  | { k: "error" };

/** A type that is not an error. */
export type ArgTy = Exclude<Ty, { k: "error" }>;

/** A problem a rule found: a diagnostic code and its message arguments. */
export interface Problem {
  code: DiagnosticCode;
  args: (string | number)[];
}

export function tyText(t: Ty): string {
  switch (t.k) {
    case "scalar":
      return "a number";
    case "vec":
      return shapeText([t.size]);
    case "mat":
      return shapeText([t.rows, t.cols]);
    case "error":
      return "?";
  }
}

/** `a vector [H]`, `a matrix [H, H]`, `a number`: for messages that name what was found. */
export function tyWhat(t: Ty): string {
  return t.k === "vec" ? `a vector ${tyText(t)}` : t.k === "mat" ? `a matrix ${tyText(t)}` : tyText(t);
}

/** A [1] vector: a scalar value that broadcasts like a number. */
export const isUnit = (t: Ty): boolean => t.k === "vec" && t.size.constant() === 1;

/**
 * The shape of an elementwise operation `op` on a and b (numbers are folded by the caller):
 * equal shapes, or a number or [1] value with anything. Vectors of different sizes, or matrices
 * of different shapes, are CE202; a longer vector with a matrix is CE227 (ambiguous).
 */
export function broadcast(op: string, a: ArgTy, b: ArgTy): { ty: ArgTy } | Problem {
  if (a.k === "scalar") return { ty: b };
  if (b.k === "scalar" || isUnit(b)) return { ty: a };
  if (isUnit(a)) return { ty: b };
  if (a.k === "vec" && b.k === "vec") {
    return a.size.equals(b.size) ? { ty: a } : { code: "CE202", args: [op, tyText(a), tyText(b)] };
  }
  if (a.k === "mat" && b.k === "mat") {
    return a.rows.equals(b.rows) && a.cols.equals(b.cols) ? { ty: a } : { code: "CE202", args: [op, tyText(a), tyText(b)] };
  }
  return { code: "CE227", args: [op, tyText(a), tyText(b)] };
}
