// The playground's compiler, in a Web Worker so typing never waits for it. A check (parse,
// check, names and their shapes, the equations' graph) runs on every edit; the code generators,
// and the libraries they load (ts-morph for the TypeScript printer, wabt for the WebAssembly
// assembler), are imported on the first request for code, so the first load pays for the
// checker only.

import { analyzeSpec } from "../compiler/query.ts";
import { parse } from "../grammar/index.ts";
import { cellGraph } from "./graph-data.ts";
import { readExample, SPEC_FILE } from "./spec-files.ts";
import type { CheckReply, CompilerReply, CompilerRequest, PgDiagnostic, PgSymbol } from "./protocol.ts";

function check(id: number, text: string): CheckReply {
  const a = analyzeSpec(text, SPEC_FILE, readExample);
  const own = (s: { span?: { file: string } }) => s.span?.file === SPEC_FILE;
  const diagnostics: PgDiagnostic[] = a.diagnostics.map((d) =>
    d.span && own(d)
      ? { code: d.code, severity: d.severity, message: d.message, from: d.span.start.offset, to: d.span.end.offset, line: d.span.start.line, column: d.span.start.column }
      : { code: d.code, severity: d.severity, message: d.span ? `${d.message} (in ${d.span.file.replace(/^\/specs\//, "")}:${d.span.start.line})` : d.message, from: 0, to: 0, line: 1, column: 1 },
  );
  const sym = (s: { name: string; kind: string; detail: string; scope?: string; span: { start: { offset: number }; end: { offset: number } } }): PgSymbol => ({
    name: s.name, kind: s.kind, detail: s.detail, ...(s.scope !== undefined ? { scope: s.scope } : {}), from: s.span.start.offset, to: s.span.end.offset,
  });
  const occurrences = a.occurrences.filter((o) => o.span.file === SPEC_FILE).map((o) => ({ ...sym(o.symbol), from: o.span.start.offset, to: o.span.end.offset }));
  const ast = parse(text, SPEC_FILE).ast;
  const graph = cellGraph(ast);
  const units = ast.decls.filter((d) => d.kind === "cell" || d.kind === "stack");
  const last = units[units.length - 1];
  const sizes = last ? last.dims.map((d) => ({ name: d.name.name, ...(d.default ? { default: d.default.value } : {}) })) : [];
  return { kind: "check", id, diagnostics, occurrences, symbols: a.symbols.map(sym), functions: a.functions, ...(graph ? { graph } : {}), sizes };
}

let codegen: Promise<typeof import("./codegen.ts")> | undefined;

async function handle(m: CompilerRequest): Promise<CompilerReply> {
  if (m.kind === "check") return check(m.id, m.text);
  codegen ??= import("./codegen.ts");
  const g = await codegen;
  return m.kind === "code" ? g.code(m) : g.artifact(m);
}

const post = (m: unknown, transfer: Transferable[] = []) => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);

self.onmessage = (e: MessageEvent<CompilerRequest>) => {
  const m = e.data;
  handle(m).then(
    (reply) => post(reply, reply.kind === "artifact" && reply.bytes ? [reply.bytes.buffer as ArrayBuffer] : []),
    (err: unknown) => post({ kind: m.kind, id: m.id, error: err instanceof Error ? err.message : String(err) }),
  );
};
