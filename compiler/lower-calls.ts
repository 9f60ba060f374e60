// How each function a spec may call lowers to IR: a registry primitive is one equation (clip's
// numeric arguments become its attributes); composite functions (hard_sigmoid, layernorm, mean,
// dot, norm, softmax, log_softmax, min of a vector) are written here in terms of primitives and
// structural ops, so they need no derivative rule of their own.

import { count, type Operand } from "./ir.ts";
import type { Lowerer } from "./lower-ops.ts";
import { elementwise } from "./primitives/elementwise.ts";
import { surfaceRow, type RowOpName } from "./primitives/rows.ts";

/** Epsilon added to the variance in layernorm (as PyTorch's LayerNorm default). */
export const LAYERNORM_EPS = 1e-5;

export function lowerCall(b: Lowerer, name: string, args: Operand[]): Operand {
  const prim = elementwise(name);
  if (prim?.surface) {
    const operands = args.slice(0, prim.arity);
    const attrs = Object.fromEntries((prim.attrs ?? []).map((a, k) => [a, (args[prim.arity + k] as { c: number }).c]));
    return b.ew(name, operands, prim.attrs ? attrs : undefined);
  }
  // A row primitive called with its one vector (max and min with two operands are elementwise).
  const row = args.length === 1 ? surfaceRow(name) : undefined;
  if (row) return b.row(row.op as RowOpName, args[0]!);
  switch (name) {
    case "hard_sigmoid":
      // Keras 2 / TensorFlow.js definition: clip(0.2 x + 0.5, 0, 1).
      return b.ew("clip", [b.ew("add", [b.ew("mul", [args[0]!, { c: 0.2 }]), { c: 0.5 }])], { lo: 0, hi: 1 });
    case "concat":
      return b.concat(args);
    case "max":
      return b.ew("maximum", args);
    case "min":
      // min(v) = -max(-v): its subgradient goes to the first minimum.
      return args.length === 1 ? b.ew("neg", [b.max(b.ew("neg", [args[0]!]))]) : b.ew("minimum", args);
    case "mean":
      return b.ew("mul", [b.sum(args[0]!), { c: 1 / count(b.builder.shape(args[0]!)) }]);
    case "dot":
      return b.sum(b.ew("mul", [args[0]!, args[1]!]));
    case "norm":
      // Not differentiable at 0 (its derivative there is NaN, as sqrt's is at 0).
      return b.ew("sqrt", [b.sum(b.ew("mul", [args[0]!, args[0]!]))]);
    case "softmax": {
      // Shifted by the maximum so exp cannot overflow; the result does not depend on the shift,
      // so no gradient flows through it.
      const e = b.ew("exp", [b.ew("sub", [args[0]!, b.max(args[0]!, true)])]);
      return b.ew("div", [e, b.sum(e)]);
    }
    case "log_softmax": {
      const d = b.ew("sub", [args[0]!, b.max(args[0]!, true)]);
      return b.ew("sub", [d, b.ew("log", [b.sum(b.ew("exp", [d]))])]);
    }
    case "outer": {
      const m = count(b.builder.shape(args[0]!));
      const n = count(b.builder.shape(args[1]!));
      return b.bmm(args[0]!, args[1]!, m, 1, n, false, false, [m, n]);
    }
    case "transpose":
      return b.transpose(args[0]!);
    case "layernorm": {
      const [v, gain, bias] = args as [Operand, Operand, Operand];
      const n = b.builder.shape(v)[0]!;
      const mean = b.ew("mul", [b.sum(v), { c: 1 / n }]);
      const d = b.ew("sub", [v, mean]);
      const variance = b.ew("mul", [b.sum(b.ew("mul", [d, d])), { c: 1 / n }]);
      const inv = b.ew("div", [{ c: 1 }, b.ew("sqrt", [b.ew("add", [variance, { c: LAYERNORM_EPS }])])]);
      return b.ew("add", [b.ew("mul", [b.ew("mul", [d, inv]), gain]), bias]);
    }
    default:
      return b.bug(`no lowering for ${name}`);
  }
}
