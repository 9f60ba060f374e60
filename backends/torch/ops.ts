// How the PyTorch module prints each structural op of the value-level schedule: one function, so
// row primitives print from their registry entries. Elementwise primitives print through their registry
// entry's torch formula (compiler/primitives/elementwise.ts).
//
// A value is a tensor whose last axis holds its per-row numbers (a matrix value [m, n] as m·n,
// row-major), after `lead` axes: "T, B" over all steps, "B" in a step, none for a rowless value.

import { produces, type Eqn } from "../../compiler/ir.ts";
import { pyNum } from "../../compiler/primitives/elementwise.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { structuralOfIr } from "../../compiler/primitives/structural.ts";

export interface OpContext {
  /** The leading axes of the result, as Python ("T, B, ", "B, " or ""). */
  lead: string;
  /** Each argument's leading axes (for reshapes of per-row matrices). */
  argLead: string[];
  /** Shapes of the graph's values, by id. */
  shape: (v: number) => number[];
  /** The output's width (numbers per row). */
  width: number;
}

/** Wraps an expression in parentheses unless it is a number, a name, a call or an index. */
export function atom(x: string): string {
  // A number stays as it is, so formulas see it is a constant (torch.pow(x, -0.5)).
  if (/^(\d[\d.]*(e[-+]?\d+)?|math\.inf|math\.nan|\(-(\d[\d.]*(e[-+]?\d+)?|math\.inf)\))$/.test(x)) return x;
  return /^[\w.]+(\[[^\]]*\]|\([^()]*\))*$/.test(x) ? x : `(${x})`;
}

/** The Python expression of a structural equation (not ew, not a gradient sink) over its arguments' expressions. */
export function structuralExpr(e: Eqn, args: string[], c: OpContext): string {
  const [a] = args as [string];
  const mat = (x: string, lead: string, m: number, n: number) => `${atom(x)}.reshape(${lead}${m}, ${n})`;
  const prim = structuralOfIr(e.op);
  if (prim && produces(e)) {
    // A structural primitive prints from its registry entry (compiler/primitives/structural.ts).
    const attrs = prim.attrs(e as unknown as Record<string, unknown>, e.args.map((o) => c.shape((o as { v: number }).v)));
    return prim.torch({ arg: (k) => atom(args[k]!), matrix: (k, r, n) => mat(args[k]!, c.argLead[k]!, r, n), lead: c.lead }, attrs);
  }
  switch (e.op) {
    case "matvec":
      // W [m, n] times every row's vector: x Wᵀ.
      return `torch.nn.functional.linear(${args[1]}, ${a})`;
    case "matvecT":
      return `torch.matmul(${args[1]}, ${a})`;
    case "row":
      // A row primitive prints from its registry entry (compiler/primitives/rows.ts).
      return rowPrimitive(e.fn)!.torch(atom(a), e.reverse === true);
    case "slice":
      return `${atom(a)}[..., ${e.lo}:${e.lo + c.width}]`;
    case "pad": {
      const w = c.shape((e.args[0] as { v: number }).v).reduce((x, y) => x * y, 1);
      return `torch.nn.functional.pad(${a}, [${e.lo}, ${c.width - e.lo - w}])`;
    }
    case "bcast":
      return `${atom(a)}.expand(${c.lead}${c.width})`;
    case "concat":
      return `torch.cat([${args.join(", ")}], -1)`;
    case "zeros":
      return `torch.zeros(${c.lead}${c.width}, dtype=dtype, device=device)`;
    default:
      throw new Error(`torch backend: no structural printing for ${e.op}`);
  }
}

/** A constant operand of concat: a column of `value` with the result's leading axes. */
export const constColumn = (value: number, lead: string): string => `torch.full([${lead}1], ${pyNum(value)}, dtype=dtype, device=device)`;
