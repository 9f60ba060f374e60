// How each function a spec may call lowers to IR primitives. Composite functions (hard_sigmoid,
// layernorm) are written here in terms of primitives, so they need no derivative rule of their own.

import { POINTWISE_FUNCTIONS } from "./functions.ts";
import type { Operand, UnaryOp } from "./ir.ts";
import type { Lowerer } from "./lower-ops.ts";

/** Epsilon added to the variance in layernorm (as PyTorch's LayerNorm default). */
export const LAYERNORM_EPS = 1e-5;

const PRIMITIVE = new Set<string>(POINTWISE_FUNCTIONS.filter((f) => f !== "hard_sigmoid"));

export function lowerCall(b: Lowerer, name: string, args: Operand[]): Operand {
  if (PRIMITIVE.has(name)) return b.emit(name as UnaryOp, [args[0]!]);
  switch (name) {
    case "hard_sigmoid":
      // Keras 2 / TensorFlow.js definition: clip(0.2 x + 0.5, 0, 1).
      return b.clip(b.emit("add", [b.emit("mul", [args[0]!, { c: 0.2 }]), { c: 0.5 }]), 0, 1);
    case "clip":
      return b.clip(args[0]!, (args[1] as { c: number }).c, (args[2] as { c: number }).c);
    case "concat":
      return b.concat(args);
    case "layernorm": {
      const [v, gain, bias] = args as [Operand, Operand, Operand];
      const n = b.builder.shape(v)[0]!;
      const mean = b.bcast(b.emit("mul", [b.sum(v), { c: 1 / n }]), n);
      const d = b.emit("sub", [v, mean]);
      const variance = b.emit("mul", [b.sum(b.emit("mul", [d, d])), { c: 1 / n }]);
      const inv = b.bcast(b.emit("div", [{ c: 1 }, b.emit("sqrt", [b.emit("add", [variance, { c: LAYERNORM_EPS }])])]), n);
      return b.emit("add", [b.emit("mul", [b.emit("mul", [d, inv]), gain]), bias]);
    }
    default:
      return b.bug(`no lowering for ${name}`);
  }
}
