// Which kernels a recurrent layer takes: any module of the kernel contract (abi/kernel.ts), in
// its synchronous form or its asynchronous one (AsyncCellKernel: WebGPU), made now or by a
// factory once the input size is known; and the checks a kernel passes before a layer uses it.

import { ABI_VERSION, ASYNC_BACKENDS, type AsyncCellKernel, type CellKernel, type KernelMeta, type VectorMeta } from "../../abi/kernel.ts";
import { batchShapeString } from "../tensor.ts";
import { shapesCompatible, type Shape } from "./layer.ts";

/** A kernel of either form of the contract: synchronous, or asynchronous (WebGPU). */
export type AnyCellKernel = CellKernel | AsyncCellKernel;

/** Makes the kernel once the input size is known (the layer is built). */
export type KernelSource = AnyCellKernel | ((inputSize: number) => AnyCellKernel | Promise<AnyCellKernel>);

/** True for a kernel whose forward and backward return promises. */
export function isAsyncKernel(k: AnyCellKernel): k is AsyncCellKernel {
  return ASYNC_BACKENDS.includes(k.meta.backend);
}

/** Checks that a kernel fits a layer `label` fed F features and declared with `declared` states
 *  (when known); throws naming what does not fit. */
export function checkKernel(meta: KernelMeta, F: number, declared: readonly string[] | undefined, label: string): void {
  if (meta.abiVersion !== ABI_VERSION) {
    const got = typeof meta.abiVersion === "number" ? `version ${meta.abiVersion}` : "an older version";
    throw new Error(`recurrent layer '${label}': kernel '${meta.name}' was generated for ${got} of the kernel contract; this runtime needs version ${ABI_VERSION}: rebuild it with this cellc`);
  }
  if (meta.inputs.length === 0) throw new Error(`recurrent layer '${label}': cell '${meta.name}' has no input to feed`);
  if (meta.outputs.length === 0) throw new Error(`recurrent layer '${label}': cell '${meta.name}' has no output`);
  const need = meta.inputs.reduce((s, v) => s + v.size, 0);
  if (need !== F) {
    const list = meta.inputs.map((v) => `${v.name}[${v.size}]`).join(" + ");
    throw new Error(`recurrent layer '${label}': cell '${meta.name}' takes ${need} input features (${list}) but the layer's input has ${F}`);
  }
  const actual = meta.states.map((s) => s.name);
  if (declared && declared.join() !== actual.join()) {
    throw new Error(`recurrent layer '${label}': its states were declared as ${declared.join(", ")} but cell '${meta.name}' has ${actual.join(", ")}`);
  }
}

/** Checks a call's initial-state inputs (the shapes after the first, when any) against the
 *  kernel's states. */
export function checkStateInputs(states: readonly VectorMeta[], inputShapes: Shape[], label: string): void {
  if (inputShapes.length <= 1) return;
  if (inputShapes.length !== 1 + states.length) {
    throw new Error(`layer '${label}' takes ${states.length} initial states (${states.map((s) => s.name).join(", ")}), got ${inputShapes.length - 1}`);
  }
  states.forEach((s, i) => {
    const got = inputShapes[i + 1]!;
    if (!shapesCompatible([s.size], got)) {
      throw new Error(`layer '${label}': initial state '${s.name}' must be ${batchShapeString([s.size])}, got ${batchShapeString(got)}`);
    }
  });
}
