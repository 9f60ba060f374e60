// The one rule for how large a kernel's arrays may be, applied to every build (CLI, config file,
// API and layers all compile through driver/index.ts): each array a kernel allocates per sample
// and step, and each parameter, must hold at most MAX_ARRAY_ELEMENTS elements. A binding that
// passes it cannot make createParams or a kernel throw `RangeError: Invalid typed array length`.

import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import type { UnitInfo } from "./check-stack.ts";
import type { Graph, ValueInfo } from "./ir.ts";

/**
 * 2^31 - 1. Node 20's typed arrays hold up to 2^32 elements; the lower bound keeps every index and
 * offset a kernel computes within int32 arithmetic, and is already 8 GB of float32 in one array.
 */
export const MAX_ARRAY_ELEMENTS = 2 ** 31 - 1;

const count = (n: number) => n.toLocaleString("en-US");

/** Reports (CE406) every array of `g` past the limit; true when all fit. Declared arrays are
 *  checked first, and locals only when those fit, so one huge size is not reported per value. */
export function arraysFit(u: UnitInfo, g: Graph, out: Diagnostic[]): boolean {
  const spans = new Map<number, Span | undefined>();
  for (const e of g.eqns) if ("out" in e) spans.set(e.out, e.span);
  const tooLarge = (v: ValueInfo) => v.shape.reduce((a, b) => a * b, 1) > MAX_ARRAY_ELEMENTS;
  // Masks and flags (role "seq") have a state's size: the state is reported, not its mask.
  const declared = g.values.filter((v) => v.role !== "local" && v.role !== "seq" && tooLarge(v));
  const bad = declared.length > 0 ? declared : g.values.filter((v) => v.role !== "seq" && tooLarge(v));
  for (const v of bad) {
    const elements = v.shape.reduce((a, b) => a * b, 1);
    const span = v.role === "local" ? spans.get(v.id) : declSpan(u, v.name);
    out.push(diag("CE406", span ?? u.decl.name.span, describe(g, v), count(elements), `${count(MAX_ARRAY_ELEMENTS)} (2^31 - 1)`));
  }
  return bad.length === 0;
}

function describe(g: Graph, v: ValueInfo): string {
  const perStep = "(per sample and step)";
  switch (v.role) {
    case "param":
      return `parameter '${v.name}' [${v.shape.map(count).join(", ")}]`;
    case "packed": {
      const parts = g.packs.find((p) => p.value === v.id)?.parts.map((p) => `'${g.values[p]!.name}'`) ?? [];
      return `the matrix stacking ${parts.join(", ")} [${v.shape.map(count).join(", ")}]`;
    }
    case "input":
    case "state":
      return `${v.role} '${v.name}' ${perStep}`;
    default:
      return /^t\d+$/.test(v.name) ? `a value computed here ${perStep}` : `local '${v.name}' ${perStep}`;
  }
}

/** Where an input, state or parameter of the unit is declared; a stack's are `l{k}_name`. */
function declSpan(u: UnitInfo, name: string): Span | undefined {
  if (u.kind === "cell") {
    return [...u.inputs, ...u.states, ...u.params].find((x) => x.name === name)?.span;
  }
  const m = /^l(\d+)_(.*)$/.exec(name);
  const layer = m ? u.layers[Number(m[1])] : u.layers[0];
  if (!layer) return undefined;
  return declSpan(layer.unit, m ? m[2]! : name) ?? declSpan(layer.unit, name);
}
