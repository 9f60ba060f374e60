// The generic packing engine: moves numbers between a kernel's named parameters and foreign fused
// tensors by following a SystemPlan. It knows rows, columns, transposes and summed parts, and
// nothing about gates or cells.

import type { KernelMeta, Tensors } from "../../abi/kernel.ts";
import { InteropError } from "./mapping.ts";
import type { SystemPlan, TensorPlan } from "./plan.ts";
import { sameShape, type ForeignTensor } from "./tensor.ts";

/** Builds kernel parameters from foreign tensors. `get` returns the foreign tensor a plan entry
 *  names, or undefined when it is absent (allowed only for optional tensors, read as zeros). */
export function unpack(
  meta: KernelMeta,
  plan: SystemPlan,
  get: (t: TensorPlan) => ForeignTensor | undefined,
): Tensors {
  const params: Tensors = {};
  for (const p of meta.params) params[p.name] = new Float32Array(p.size);
  for (const t of plan.tensors) {
    const ft = get(t);
    if (ft === undefined) {
      if (t.optional) continue;
      throw new InteropError(`${plan.system} tensor "${t.name}" is missing; it holds ${blockList(t)} of ${plan.kernelName}`);
    }
    if (!sameShape(ft.shape, t.shape)) {
      throw new InteropError(
        `${plan.system} tensor "${t.name}" has shape [${ft.shape.join(", ")}] but ${plan.kernelName}'s ${blockList(t)} ` +
          `need [${t.shape.join(", ")}]`,
      );
    }
    const src = ft.data;
    const cols = Math.max(t.cols, 1);
    for (const b of t.blocks) {
      const dst = params[b.param]!;
      for (let r = 0; r < b.rows; r++) {
        const row = b.offset + r;
        for (let c = 0; c < cols; c++) {
          const v = src[t.transpose ? c * t.gateRows + row : row * cols + c]!;
          if (b.part === undefined) dst[r * cols + c] = v;
          else dst[r * cols + c]! += v;
        }
      }
    }
  }
  return params;
}

/** Builds the foreign tensors of a plan from kernel parameters, in the plan's order. */
export function pack(meta: KernelMeta, plan: SystemPlan, params: Tensors): ForeignTensor[] {
  for (const p of meta.params) {
    const v = params[p.name];
    if (!(v instanceof Float32Array)) throw new InteropError(`parameter "${p.name}" of ${meta.name} is missing`);
    if (v.length !== p.size) {
      throw new InteropError(`parameter "${p.name}" of ${meta.name} has ${v.length} values, expected ${p.size} ([${p.shape.join(", ")}])`);
    }
  }
  return plan.tensors.map((t) => {
    const data = new Float32Array(t.size);
    const cols = Math.max(t.cols, 1);
    for (const b of t.blocks) {
      if (b.part !== undefined && b.part !== 0) continue; // the other parts of a sum stay zero
      const src = params[b.param]!;
      for (let r = 0; r < b.rows; r++) {
        const row = b.offset + r;
        for (let c = 0; c < cols; c++) data[t.transpose ? c * t.gateRows + row : row * cols + c] = src[r * cols + c]!;
      }
    }
    return { shape: [...t.shape], data };
  });
}

function blockList(t: TensorPlan): string {
  const names = [...new Set(t.blocks.map((b) => b.param))];
  return `parameter${names.length > 1 ? "s" : ""} ${names.join(", ")}`;
}
