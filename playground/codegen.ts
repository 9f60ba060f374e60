// The code generators, loaded by the compiler worker on the first request for code: the
// TypeScript and PyTorch modules through compile(), the WebAssembly text (the module the wasm
// backend assembles), the plan dump, and the cell's ONNX graph. Modules are printed unformatted
// (format: false): prettier's printer is not part of the playground's bundles.

import { compile, formatDiagnostics, planKernel } from "../driver/index.ts";
import { dumpPlan } from "../compiler/plan/dump.ts";
import { printWat } from "../backends/wasm/module.ts";
import { exportCellOnnx, OnnxExportError } from "../backends/onnx/index.ts";
import { ORIGIN, readExample, SPEC_FILE } from "./spec-files.ts";
import type { ArtifactReply, CodeReply, CompilerRequest } from "./protocol.ts";

const base = { file: SPEC_FILE, readFile: readExample, format: false } as const;

export async function code(m: Extract<CompilerRequest, { kind: "code" }>): Promise<CodeReply> {
  const reply: CodeReply = { kind: "code", id: m.id, target: m.target, origin: ORIGIN };
  const p = planKernel(m.text, { ...base, dims: m.dims });
  if (!p.plan) return { ...reply, error: formatDiagnostics(p.diagnostics, p.sources).replaceAll(SPEC_FILE, ORIGIN) };
  const meta = p.plan.meta;
  Object.assign(reply, { params: meta.params.map((q) => ({ name: q.name, shape: q.shape, size: q.size })), paramCount: meta.paramCount, dims: { ...meta.dims } });
  if (m.target === "plan") return { ...reply, code: dumpPlan(p.plan) };
  if (m.target === "wat") return { ...reply, code: printWat(p.plan).wat };
  const r = await compile(m.text, { ...base, dims: m.dims, target: m.target });
  if (!r.module) return { ...reply, error: formatDiagnostics(r.diagnostics, r.sources) };
  return { ...reply, code: r.module.code };
}

/** What a training run needs: the WebAssembly kernel as JavaScript, and the cell's ONNX graph as
 *  the runtime's model export wants it (lengths and initial-state inputs), when it has one. */
async function trainArtifacts(id: number, text: string, dims: Record<string, number>): Promise<ArtifactReply> {
  const r = await compile(text, { ...base, dims, target: "wasm", moduleFormat: "js" });
  if (!r.module) return { kind: "artifact", id, error: formatDiagnostics(r.diagnostics, r.sources).replaceAll(SPEC_FILE, ORIGIN) };
  let bytes: Uint8Array | undefined;
  try {
    bytes = exportCellOnnx(text, { file: SPEC_FILE, readFile: readExample, dims, lengths: true, initialStates: true }).bytes;
  } catch (e) {
    if (!(e instanceof OnnxExportError)) throw e; // the kernel has no ONNX form: it trains all the same
  }
  return { kind: "artifact", id, fileName: r.module.fileName, text: r.module.code, ...(bytes ? { bytes } : {}) };
}

export async function artifact(m: Extract<CompilerRequest, { kind: "artifact" }>): Promise<ArtifactReply> {
  const text = m.example !== undefined ? readExample(m.example) : m.text;
  const opts = { ...base, dims: m.dims };
  const fail = (d: Parameters<typeof formatDiagnostics>[0], s: Record<string, string>): ArtifactReply => ({ kind: "artifact", id: m.id, error: formatDiagnostics(d, s).replaceAll(SPEC_FILE, ORIGIN) });
  if (m.what === "onnx-cell") {
    const r = exportCellOnnx(text, { file: SPEC_FILE, readFile: readExample, dims: m.dims });
    if (!r.bytes) return fail(r.diagnostics, r.sources);
    return { kind: "artifact", id: m.id, fileName: `${r.meta!.name}.onnx`, bytes: r.bytes };
  }
  if (m.what === "train") return trainArtifacts(m.id, text, m.dims);
  const target = m.what === "torch" ? "torch" : "wasm";
  const r = await compile(text, { ...opts, target, ...(m.what === "kernel-js" ? { moduleFormat: "js" as const } : {}) });
  if (!r.module) return fail(r.diagnostics, r.sources);
  return { kind: "artifact", id: m.id, fileName: r.module.fileName, text: r.module.code };
}
