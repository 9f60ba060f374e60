// The functions a spec may call, with their shape rules for the checker. Functions that are one
// elementwise primitive come from the registry (primitives/elementwise.ts, which also holds their
// values and derivatives); composites and structural functions lower in lower-calls.ts.

import type { DiagnosticCode } from "../grammar/diagnostics.ts";
import type { Size } from "./sizes.ts";
import { shapeText } from "./sizes.ts";
import { elementwise, SURFACE_PRIMITIVES } from "./primitives/elementwise.ts";

type ArgTy = { k: "scalar"; value?: number } | { k: "vec"; size: Size };

interface Problem {
  code: DiagnosticCode;
  arg: number;
  args: (string | number)[];
}

export interface FunctionSignature {
  arity: (n: number) => boolean;
  arityText: string;
  /** A problem with the argument types, or undefined when they fit. */
  check: (args: ArgTy[]) => Problem | undefined;
  result: (args: ArgTy[]) => ArgTy;
}

const show = (t: ArgTy) => (t.k === "vec" ? shapeText([t.size]) : "a number");

/** sigmoid, tanh, ...: one argument, same shape out. */
const pointwise: FunctionSignature = {
  arity: (n) => n === 1,
  arityText: "1 argument",
  check: () => undefined,
  result: (a) => (a[0]!.k === "scalar" ? { k: "scalar" } : a[0]!),
};

/** One-argument functions: the registry's surface primitives without attributes, and hard_sigmoid. */
export const POINTWISE_FUNCTIONS: readonly string[] = [
  ...SURFACE_PRIMITIVES.filter((f) => elementwise(f)!.arity === 1 && !elementwise(f)!.attrs),
  "hard_sigmoid",
];

const signatures: Record<string, FunctionSignature> = {
  ...Object.fromEntries(POINTWISE_FUNCTIONS.map((f) => [f, pointwise])),
  concat: {
    arity: (n) => n >= 1,
    arityText: "at least 1 argument",
    check: (a) => {
      const i = a.findIndex((t) => t.k !== "vec");
      return i >= 0 ? { code: "CE214", arg: i, args: ["an argument of concat", "a vector", show(a[i]!)] } : undefined;
    },
    result: (a) => {
      let size = (a[0] as { size: Size }).size;
      for (const t of a.slice(1)) size = size.add((t as { size: Size }).size);
      return { k: "vec", size };
    },
  },
  layernorm: {
    arity: (n) => n === 3,
    arityText: "3 arguments (v, gain, bias)",
    check: (a) => {
      const v = a[0]!;
      if (v.k !== "vec") return { code: "CE214", arg: 0, args: ["the first argument of layernorm", "a vector", show(v)] };
      for (const i of [1, 2]) {
        const t = a[i]!;
        if (t.k === "vec" && !t.size.equals(v.size)) {
          return { code: "CE214", arg: i, args: [i === 1 ? "the gain of layernorm" : "the bias of layernorm", shapeText([v.size]), show(t)] };
        }
      }
      return undefined;
    },
    result: (a) => a[0]!,
  },
  clip: {
    arity: (n) => n === 3,
    arityText: "3 arguments (v, lo, hi)",
    check: (a) => {
      for (const i of [1, 2]) {
        const t = a[i]!;
        if (t.k !== "scalar" || t.value === undefined) {
          return { code: "CE214", arg: i, args: [i === 1 ? "the lower bound of clip" : "the upper bound of clip", "a number", show(t)] };
        }
      }
      const lo = (a[1] as { value: number }).value;
      const hi = (a[2] as { value: number }).value;
      if (lo > hi) return { code: "CE214", arg: 1, args: ["clip(v, lo, hi)", "lo ≤ hi", `${lo} > ${hi}`] };
      return undefined;
    },
    result: (a) => (a[0]!.k === "scalar" ? { k: "scalar" } : a[0]!),
  },
};

/** Every function name a spec may call. */
export const functionNames: readonly string[] = Object.keys(signatures);

/** The signature of a function, or undefined; a name like `toString` is not looked up on
 *  Object.prototype. */
export function functionSignature(name: string): FunctionSignature | undefined {
  return Object.hasOwn(signatures, name) ? signatures[name] : undefined;
}
