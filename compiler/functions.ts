// The functions a spec may call, with their shape rules for the checker. Functions that are one
// elementwise primitive come from the registry (primitives/elementwise.ts, which also holds their
// values and derivatives); composites, reductions and structural functions lower in lower-calls.ts.

import type { DiagnosticCode } from "../grammar/diagnostics.ts";
import { broadcast, isUnit, tyText, tyWhat, type ArgTy, type Problem } from "./check-types.ts";
import { Size, shapeText } from "./sizes.ts";
import { elementwise, SURFACE_PRIMITIVES } from "./primitives/elementwise.ts";
import { ROW_PRIMITIVES } from "./primitives/rows.ts";

/** A problem with one argument (or with the call, when `arg` is past the arguments). */
interface ArgProblem extends Problem {
  arg: number;
}

export interface FunctionSignature {
  arity: (n: number) => boolean;
  arityText: string;
  /** The result type, or a problem with the arguments. */
  apply: (args: ArgTy[]) => ArgTy | ArgProblem;
}

export const isProblem = (r: ArgTy | ArgProblem): r is ArgProblem => "code" in r;

const problem = (code: DiagnosticCode, arg: number, ...args: (string | number)[]): ArgProblem => ({ code, arg, args });

/** sigmoid, tanh, ...: one argument of any shape, the same shape out. */
const pointwise: FunctionSignature = {
  arity: (n) => n === 1,
  arityText: "1 argument",
  apply: (a) => (a[0]!.k === "scalar" ? { k: "scalar" } : a[0]!),
};

/** max(a, b), pow(a, p): two operands that broadcast against each other. */
const binary = (name: string): FunctionSignature => ({
  arity: (n) => n === 2,
  arityText: "2 arguments",
  apply: ([a, b]) => {
    if (a!.k === "scalar" && b!.k === "scalar") return { k: "scalar" };
    const r = broadcast(name, a!, b!);
    return "ty" in r ? r.ty : { ...r, arg: 1 };
  },
});

/** The argument of a function that works along one vector: a vector, not a matrix (CE225) or a
 *  number (CE214). */
function alongVector(name: string, a: ArgTy, arg = 0): ArgProblem | undefined {
  if (a.k === "mat") return problem("CE225", arg, name, tyText(a));
  if (a.k !== "vec") return problem("CE214", arg, `the argument of ${name}`, "a vector", tyWhat(a));
  return undefined;
}

/** sum(v), mean(v), norm(v), max(v): a vector to one number per sample, [1]. */
const reduction = (name: string): FunctionSignature => ({
  arity: (n) => n === 1,
  arityText: "1 argument",
  apply: ([a]) => alongVector(name, a!) ?? { k: "vec", size: Size.of(1) },
});

/** softmax(v), cumsum(v): a vector to a vector of its size, each element depending on all. */
const rowFunction = (name: string): FunctionSignature => ({
  arity: (n) => n === 1,
  arityText: "1 argument",
  apply: ([a]) => alongVector(name, a!) ?? a!,
});

/** max(v) reduces, max(a, b) is elementwise (likewise min). */
const maxOrMin = (name: string): FunctionSignature => ({
  arity: (n) => n === 1 || n === 2,
  arityText: "1 argument (a vector to reduce) or 2 (elementwise)",
  apply: (a) => (a.length === 1 ? reduction(name).apply(a) : binary(name).apply(a)),
});

/** One-argument functions: the registry's surface primitives without attributes, and hard_sigmoid. */
export const POINTWISE_FUNCTIONS: readonly string[] = [
  ...SURFACE_PRIMITIVES.filter((f) => elementwise(f)!.arity === 1 && !elementwise(f)!.attrs),
  "hard_sigmoid",
];

/** Two-operand functions that are one registry primitive each (pow). */
const BINARY_FUNCTIONS: readonly string[] = SURFACE_PRIMITIVES.filter((f) => elementwise(f)!.arity === 2 && !elementwise(f)!.attrs);

/** Row primitives called with one vector (compiler/primitives/rows.ts): sum(v), cumsum(v), .... */
const ROW_FUNCTIONS = [...ROW_PRIMITIVES.values()].flatMap((p) => (p.surface ? [[p.surface, p.kind === "reduce" ? reduction(p.surface) : rowFunction(p.surface)] as const] : []));

const signatures: Record<string, FunctionSignature> = {
  ...Object.fromEntries(POINTWISE_FUNCTIONS.map((f) => [f, pointwise])),
  ...Object.fromEntries(BINARY_FUNCTIONS.map((f) => [f, binary(f)])),
  ...Object.fromEntries(ROW_FUNCTIONS),
  max: maxOrMin("max"),
  min: maxOrMin("min"),
  mean: reduction("mean"),
  norm: reduction("norm"),
  softmax: rowFunction("softmax"),
  log_softmax: rowFunction("log_softmax"),
  dot: {
    arity: (n) => n === 2,
    arityText: "2 arguments",
    apply: ([a, b]) => {
      const bad = alongVector("dot", a!, 0) ?? alongVector("dot", b!, 1);
      if (bad) return bad;
      const [u, v] = [a as { size: Size }, b as { size: Size }];
      if (!u.size.equals(v.size)) return problem("CE202", 1, "dot", tyText(a!), tyText(b!));
      return { k: "vec", size: Size.of(1) };
    },
  },
  outer: {
    arity: (n) => n === 2,
    arityText: "2 arguments",
    apply: (a) => {
      const i = a.findIndex((t) => t.k !== "vec");
      if (i >= 0) return problem("CE214", i, "an argument of outer", "a vector", tyWhat(a[i]!));
      return { k: "mat", rows: (a[0] as { size: Size }).size, cols: (a[1] as { size: Size }).size };
    },
  },
  transpose: {
    arity: (n) => n === 1,
    arityText: "1 argument",
    apply: ([a]) => (a!.k === "mat" ? { k: "mat", rows: a!.cols, cols: a!.rows } : problem("CE226", 0, tyWhat(a!))),
  },
  concat: {
    arity: (n) => n >= 1,
    arityText: "at least 1 argument",
    apply: (a) => {
      const i = a.findIndex((t) => t.k !== "vec");
      if (i >= 0) return problem("CE214", i, "an argument of concat", "a vector", tyWhat(a[i]!));
      let size = (a[0] as { size: Size }).size;
      for (const t of a.slice(1)) size = size.add((t as { size: Size }).size);
      return { k: "vec", size };
    },
  },
  layernorm: {
    arity: (n) => n === 3,
    arityText: "3 arguments (v, gain, bias)",
    apply: (a) => {
      const v = a[0]!;
      if (v.k !== "vec") return problem("CE214", 0, "the first argument of layernorm", "a vector", tyWhat(v));
      for (const i of [1, 2]) {
        const t = a[i]!;
        if ((t.k === "vec" && !isUnit(t) && !t.size.equals(v.size)) || t.k === "mat") {
          return problem("CE214", i, i === 1 ? "the gain of layernorm" : "the bias of layernorm", shapeText([v.size]), tyText(t));
        }
      }
      return v;
    },
  },
  clip: {
    arity: (n) => n === 3,
    arityText: "3 arguments (v, lo, hi)",
    apply: (a) => {
      for (const i of [1, 2]) {
        const t = a[i]!;
        if (t.k !== "scalar" || t.value === undefined) {
          const got = t.k === "scalar" ? "a number known only when sizes are bound" : tyWhat(t);
          return problem("CE214", i, i === 1 ? "the lower bound of clip" : "the upper bound of clip", "a constant number", got);
        }
      }
      const lo = (a[1] as { value: number }).value;
      const hi = (a[2] as { value: number }).value;
      if (lo > hi) return problem("CE214", 1, "clip(v, lo, hi)", "lo ≤ hi", `${lo} > ${hi}`);
      return a[0]!.k === "scalar" ? { k: "scalar" } : a[0]!;
    },
  },
};

/** Every function name a spec may call. */
export const functionNames: readonly string[] = Object.keys(signatures);

/** The signature of a function, or undefined; a name like `toString` is not looked up on
 *  Object.prototype. */
export function functionSignature(name: string): FunctionSignature | undefined {
  return Object.hasOwn(signatures, name) ? signatures[name] : undefined;
}
