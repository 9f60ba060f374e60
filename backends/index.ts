// The backends: printers of a kernel plan. Each takes the verified plan and writes one
// self-contained artifact; none of them makes a decision the plan has not made. BACKENDS is the
// one list of them: the CLI's targets, the config schema and the package build read it.

import { isRowOp } from "../compiler/plan/types.ts";
import type { Backend } from "./backend.ts";
import { pyEscaper } from "./torch/python.ts";
import { tsEscaper } from "./ts/escape.ts";
import { emitTorchModule, torchSupportAssets } from "./torch/module.ts";
import { emitTsModule } from "./ts/module.ts";
import { tsSupportAssets } from "./ts/support.ts";
import { emitWasmModule } from "./wasm/module.ts";
import { wasmSupportAssets } from "./wasm/support.ts";

export type { Backend, EmitOptions } from "./backend.ts";
export type { Escaper } from "./escaper.ts";

export const tsBackend: Backend = { name: "ts", extension: "ts", assets: [tsSupportAssets], escape: tsEscaper, emit: emitTsModule };

/** Its modules carry the TypeScript kernel's checks (and fallback) as well as their own support;
 *  the module is TypeScript, and the WebAssembly text inside goes through backends/wasm/escape.ts. */
export const wasmBackend: Backend = { name: "wasm", extension: "ts", assets: [wasmSupportAssets, tsSupportAssets], escape: tsEscaper, emit: emitWasmModule };

/** The row primitives backends/torch prints itself. The PyTorch printer is being rewritten on its
 *  own branch to print every row primitive from its registry entry's `torch` template
 *  (compiler/primitives/rows.ts); until then a kernel using another one is refused, not printed
 *  without it. */
const TORCH_ROW_OPS: ReadonlySet<string> = new Set(["rowsum", "rowmax", "rowscan"]);

export const torchBackend: Backend = {
  name: "torch",
  extension: "py",
  assets: [torchSupportAssets],
  escape: pyEscaper,
  emit: (plan, options) => {
    const ops = [...plan.forward.stages, ...plan.backward.stages].flatMap((s) => [...s.ops, ...(s.carry ?? [])]);
    const missing = ops.find((o) => isRowOp(o) && !TORCH_ROW_OPS.has(o.op));
    if (missing) throw new Error(`the PyTorch target cannot build ${missing.op} yet (its registry template is not wired into backends/torch); build for ts, wasm or onnx`);
    return emitTorchModule(plan, options);
  },
};

export const BACKENDS: ReadonlyMap<string, Backend> = new Map([
  [tsBackend.name, tsBackend],
  [wasmBackend.name, wasmBackend],
  [torchBackend.name, torchBackend],
]);
