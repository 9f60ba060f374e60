// The ONNX backend: prints a kernel plan's forward entry as a runnable .onnx model (a Scan over
// time, see forward.ts). Its output is binary, so it is used through these functions rather than
// compile()'s text modules.

import type { KernelMeta } from "../../abi/kernel.ts";
import type { CompileOptions } from "../../compiler/api-types.ts";
import { planSpec } from "../../compiler/front.ts";
import type { Diagnostic } from "../../grammar/diagnostics.ts";
import * as path from "node:path";
import type { Plan } from "../../compiler/plan/types.ts";
import { encodeModel } from "../../formats/onnx/schema.ts";
import { onnxModel, type OnnxEmitOptions } from "./forward.ts";
import { planTarget, tsBackend } from "../index.ts";

export { OnnxExportError } from "./graph.ts";
export { onnxModel, onnxNames, ONNX_OPSET, type OnnxEmitOptions } from "./forward.ts";

const TS_TARGET = planTarget(tsBackend);

/** .onnx bytes of a plan's forward entry. */
export function emitOnnx(plan: Plan, options: OnnxEmitOptions = {}): Uint8Array {
  return encodeModel(onnxModel(plan, options));
}

export interface OnnxCellResult {
  /** Present when the spec has no errors. */
  bytes?: Uint8Array;
  meta?: KernelMeta;
  diagnostics: Diagnostic[];
  sources: Record<string, string>;
}

/** One cell or stack of `source` as an ONNX model (the spec's diagnostics when it has errors).
 *  Throws OnnxExportError when the kernel has no ONNX form. */
export function exportCellOnnx(source: string, options: Omit<CompileOptions, "target" | "format" | "dtype"> & OnnxEmitOptions = {}): OnnxCellResult {
  const { params, producer, lengths, initialStates, inputDefaults, origin, ...compile } = options;
  // Planned as for the TypeScript target (its metadata then names onnx), as compile() would.
  const r = planSpec(source, compile, () => TS_TARGET);
  if (!r.plan) return { diagnostics: r.diagnostics, sources: r.sources };
  const emit: OnnxEmitOptions = {};
  if (compile.file !== undefined) emit.origin = path.basename(compile.file);
  if (params) emit.params = params;
  if (producer) emit.producer = producer;
  if (origin !== undefined) emit.origin = origin;
  if (lengths !== undefined) emit.lengths = lengths;
  if (initialStates !== undefined) emit.initialStates = initialStates;
  if (inputDefaults !== undefined) emit.inputDefaults = inputDefaults;
  return { bytes: emitOnnx(r.plan, emit), meta: { ...r.plan.meta, backend: "onnx" }, diagnostics: r.diagnostics, sources: r.sources };
}
