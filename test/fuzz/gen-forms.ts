// The generator's forms for matrix values, reductions and the functions added with them (issue 14):
// elementwise elu, gelu, swish, sin, cos, erf, log_sigmoid, max(a, b), min(a, b), pow; reductions sum, mean,
// max(v), min(v), dot, norm, logsumexp (a [1] value that broadcasts); softmax, log_softmax, cumsum; matrix
// expressions (parameters, matrix states, outer products, transposes, elementwise combinations,
// products of matrices) used through `M @ v`; sizes used as numbers; [1] values broadcast.
// Domains stay honest: pow's base is at least 0.5 and its exponent bounded, norm's argument is
// at least 0.5 elementwise; max and min have kinks where operands tie, which fd.ts detects.

import type { Choices } from "./choices.ts";
import { num, type Sz } from "./polysize.ts";

/** A matrix-valued name: a matrix state (read or new) or a matrix local. */
export interface MatVar {
  text: string;
  rows: Sz;
  cols: Sz;
}

/** What the forms need of the cell generator. */
export interface GenHost {
  readonly c: Choices;
  readonly features: Set<string>;
  readonly maxDepth: number;
  readonly mats: MatVar[];
  gen(S: Sz, d: number): string;
  pos(S: Sz, d: number): string;
  param(shape: Sz[]): string;
  knownSizes(): Sz[];
  atoms(): Sz[];
  /** Names of [1] values (scalar states, inputs, locals and parameters). */
  unitValues(): string[];
}

/** Functions these forms call (the rest are in gen-cell.ts). */
export const FORM_FUNCTIONS = [
  "elu", "gelu", "swish", "sin", "cos", "erf", "log_sigmoid", "max", "min", "pow",
  "sum", "mean", "dot", "norm", "logsumexp", "softmax", "log_softmax", "cumsum", "outer", "transpose",
];

/** How many forms newForm has (numbered from 0). */
export const NEW_FORMS = 7;

/** A vector expression of size S by one of the new forms. */
export function newForm(g: GenHost, S: Sz, d: number, form: number): string {
  const { c, features: f } = g;
  const next = d + 1;
  switch (form) {
    case 0: {
      const fn = c.pick(["elu", "gelu", "swish", "sin", "cos", "erf", "log_sigmoid"]);
      f.add(fn);
      return `${fn}(${g.gen(S, next)})`;
    }
    case 1: {
      const fn = c.pick(["max", "min"]);
      f.add(fn);
      const b = c.chance(1, 3) ? String(c.pick([0, 0.5, -1])) : g.gen(S, next);
      return `${fn}(${g.gen(S, next)}, ${b})`;
    }
    case 2: {
      f.add("pow");
      const p = c.pick(["2", "0.5", "-1", "3", `tanh(${g.gen(S, next)})`]);
      return `pow(${g.pos(S, d)}, ${p})`;
    }
    case 3: {
      // A reduction of a vector of any known size, broadcast over S.
      const R = c.pick(g.knownSizes());
      const op = c.pick(["+", "-", "*"]);
      return `(${g.gen(S, next)} ${op} ${reduction(g, R, next)})`;
    }
    case 4: {
      const fn = c.pick(["softmax", "log_softmax", "cumsum"]);
      f.add(fn);
      return `${fn}(${g.gen(S, next)})`;
    }
    case 5: {
      f.add("matrix times vector");
      const K = c.pick(g.knownSizes());
      return `(${genMat(g, S, K, next)} @ ${g.gen(K, next)})`;
    }
    default: {
      // A size used as a number, or a [1] value broadcast over S.
      const units = g.unitValues();
      if (units.length > 0 && c.chance(1, 2)) {
        f.add("[1] broadcast");
        return `(${g.gen(S, next)} ${c.pick(["*", "+", "-"])} ${c.pick(units)})`;
      }
      f.add("size as number");
      const n = c.pick(g.atoms()).text;
      return c.chance(1, 2) ? `(${g.gen(S, next)} / ${n})` : `(${g.gen(S, next)} * (1 / sqrt(${n})))`;
    }
  }
}

/** sum, mean, max, min, dot, norm or logsumexp of a vector of size R: a [1] value. */
function reduction(g: GenHost, R: Sz, d: number): string {
  const fn = g.c.pick(["sum", "mean", "max", "min", "dot", "norm", "logsumexp"]);
  g.features.add(fn);
  if (fn === "dot") return `dot(${g.gen(R, d)}, ${g.gen(R, d)})`;
  if (fn === "norm") return `norm(${g.pos(R, d)})`;
  return `${fn}(${g.gen(R, d)})`;
}

/** A matrix expression of shape [R, C]. */
export function genMat(g: GenHost, R: Sz, C: Sz, d: number): string {
  const { c, features: f } = g;
  const next = d + 1;
  const have = g.mats.filter((m) => m.rows.key === R.key && m.cols.key === C.key);
  const form = d >= g.maxDepth ? 0 : c.int(8);
  switch (form) {
    case 1:
      f.add("outer");
      return `outer(${g.gen(R, next)}, ${g.gen(C, next)})`;
    case 2:
      f.add("transpose");
      return `transpose(${genMat(g, C, R, next)})`;
    case 3: {
      f.add("matrix product");
      const K = c.pick(g.knownSizes());
      return `(${genMat(g, R, K, next)} @ ${genMat(g, K, C, next)})`;
    }
    case 4: {
      f.add("matrix elementwise");
      return `(${genMat(g, R, C, next)} ${c.pick(["+", "-", "*"])} ${genMat(g, R, C, next)})`;
    }
    case 5: {
      f.add("matrix elementwise");
      const s = g.unitValues();
      const k = s.length > 0 && c.chance(1, 2) ? c.pick(s) : String(c.pick([0.5, 2, -1]));
      return `(${k} * ${genMat(g, R, C, next)})`;
    }
    case 6:
      f.add("matrix elementwise");
      return `${c.pick(["tanh", "sigmoid", "sin"])}(${genMat(g, R, C, next)})`;
    default:
      if (have.length > 0 && !c.chance(1, 4)) return c.pick(have).text;
      return g.param([R, C]);
  }
}

/** The size-1 Sz every [1] value has. */
export const ONE: Sz = num(1);
