// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made. BACKENDS is the
// one list of them: the CLI's targets, the config schema and the package build read it.

import type { PlanTarget } from "../compiler/front.ts";
import { isRowOp } from "../compiler/plan/types.ts";
import type { Backend } from "./backend.ts";
import { pyEscaper } from "./torch/python.ts";
import { tsEscaper } from "./ts/escape.ts";
import { emitTorchModule, torchSupportAssets } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { abiSupportAssets, tsSupportAssets } from "./ts/support.ts";
import { emitWasmModule } from "./wasm/module.ts";
import { wasmSupportAssets } from "./wasm/support.ts";
import { emitWebgpuModule } from "./webgpu/module.ts";
import { webgpuSupportAssets } from "./webgpu/support.ts";
import { TS_RESERVED } from "./ts/reserved.ts";
import { WASM_RESERVED } from "./wasm/reserved.ts";
import { WEBGPU_RESERVED } from "./webgpu/reserved.ts";
import { TORCH_RESERVED } from "./torch/reserved.ts";

export type { Backend, EmitOptions } from "./backend.ts";
export type { Escaper } from "./escaper.ts";

export const tsBackend: Backend = { name: "ts", extension: "ts", assets: [tsSupportAssets, abiSupportAssets], escape: tsEscaper, reserved: TS_RESERVED, emit: emitTsModule };

/** Its modules carry the TypeScript kernel's checks (and fallback) as well as their own support;
 *  the module is TypeScript, and the WebAssembly text inside goes through backends/wasm/escape.ts. */
export const wasmBackend: Backend = { name: "wasm", extension: "ts", assets: [wasmSupportAssets, tsSupportAssets, abiSupportAssets], escape: tsEscaper, reserved: WASM_RESERVED, emit: emitWasmModule };

/** forward and backward on the GPU (WGSL compute shaders), returning promises (abi/kernel.ts,
 *  AsyncCellKernel); float32 only. The module is TypeScript holding the TypeScript kernel (for step);
 *  spec text inside the WGSL goes through backends/webgpu/escape.ts. */
export const webgpuBackend: Backend = { name: "webgpu", extension: "ts", assets: [webgpuSupportAssets, tsSupportAssets, abiSupportAssets], escape: tsEscaper, reserved: WEBGPU_RESERVED, emit: emitWebgpuModule };

export const torchBackend: Backend = { name: "torch", extension: "py", assets: [torchSupportAssets], escape: pyEscaper, reserved: TORCH_RESERVED, emit: emitTorchModule };

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
  [webgpuBackend.name, webgpuBackend],
]);

/** Every backend's reserved words: a plan's identifiers avoid them all, so that any backend can
 *  print any plan (the ONNX export plans as for TypeScript; tests print one plan with several). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([...BACKENDS.values()].flatMap((b) => b.reserved));

/** What the planner is told of a backend (compiler/front.ts). */
export const planTarget = (b: Backend): PlanTarget => ({ name: b.name, extension: b.extension, reserved: RESERVED_NAMES });
