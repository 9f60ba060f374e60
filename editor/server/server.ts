// The cellc language server: diagnostics as you type, hover with each name's symbolic shape
// (`param W_f: [H, I]`), go to definition (into imported files too) and completion of names,
// sizes, cells and functions, over the Language Server Protocol (vscode-languageserver). It asks
// the compiler's checker through compiler/query.ts; an import is read from the editor when the
// file is open there (unsaved text included), else from disk.

import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve } from "node:path";
import {
  CompletionItemKind,
  DiagnosticSeverity,
  MarkupKind,
  TextDocumentSyncKind,
  TextDocuments,
  type CompletionItem,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Range,
} from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic } from "../../grammar/diagnostics.ts";
import type { Span } from "../../grammar/source.ts";
import { analyzeSpec, occurrenceAt, scopeAt, type SpecAnalysis, type SymbolKind } from "../../compiler/query.ts";
import { defaultRead } from "../../compiler/modules.ts";

const completionKind: Record<SymbolKind, CompletionItemKind> = {
  size: CompletionItemKind.TypeParameter,
  input: CompletionItemKind.Variable,
  state: CompletionItemKind.Field,
  param: CompletionItemKind.Property,
  local: CompletionItemKind.Variable,
  cell: CompletionItemKind.Class,
  stack: CompletionItemKind.Class,
};

/** Serves one client on `connection` until it disconnects. */
export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const analyses = new Map<string, SpecAnalysis>();

  /** A document's path, or its URI when it is not a file (an untitled buffer). */
  const pathOf = (uri: string): string => (uri.startsWith("file:") ? fileURLToPath(uri) : uri);
  const uriOf = (file: string): string => (file.includes(":") && !file.startsWith("/") && !/^[A-Za-z]:/.test(file) ? file : pathToFileURL(resolve(file)).href);
  const readFile = (file: string): string => {
    const open = documents.get(pathToFileURL(resolve(file)).href);
    return open !== undefined ? open.getText() : defaultRead(file);
  };

  const analyze = (doc: TextDocument): SpecAnalysis => {
    const a = analyzeSpec(doc.getText(), pathOf(doc.uri), readFile);
    analyses.set(doc.uri, a);
    return a;
  };
  const analysis = (uri: string): SpecAnalysis | undefined => {
    const doc = documents.get(uri);
    return doc === undefined ? undefined : (analyses.get(uri) ?? analyze(doc));
  };

  const publish = (doc: TextDocument): void => {
    const a = analyze(doc);
    const file = pathOf(doc.uri);
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: a.diagnostics.map((d) => toLsp(d, file)) });
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      completionProvider: { triggerCharacters: ["(", " "] },
    },
    serverInfo: { name: "cellc" },
  }));

  documents.onDidChangeContent((e) => {
    publish(e.document);
    // Files that import this one see its new text.
    for (const other of documents.all()) if (other.uri !== e.document.uri) publish(other);
  });
  documents.onDidClose((e) => {
    analyses.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onHover((p) => {
    const a = analysis(p.textDocument.uri);
    const o = a && occurrenceAt(a, pathOf(p.textDocument.uri), p.position.line + 1, p.position.character + 1);
    if (!o) return null;
    const where = o.symbol.scope ? `\n\nin ${o.symbol.scope}` : "";
    return { contents: { kind: MarkupKind.Markdown, value: `\`\`\`cell\n${o.symbol.detail}\n\`\`\`${where}` }, range: range(o.span) };
  });

  connection.onDefinition((p) => {
    const a = analysis(p.textDocument.uri);
    const o = a && occurrenceAt(a, pathOf(p.textDocument.uri), p.position.line + 1, p.position.character + 1);
    return o ? { uri: uriOf(o.symbol.span.file), range: range(o.symbol.span) } : null;
  });

  connection.onCompletion((p): CompletionItem[] => {
    const doc = documents.get(p.textDocument.uri);
    const a = analysis(p.textDocument.uri);
    if (!doc || !a) return [];
    const scope = scopeAt(a, pathOf(doc.uri), doc.offsetAt(p.position));
    const items: CompletionItem[] = a.symbols
      .filter((s) => s.scope === undefined || s.scope === scope)
      .map((s) => ({ label: s.name, kind: completionKind[s.kind], detail: s.detail }));
    for (const f of a.functions) items.push({ label: f, kind: CompletionItemKind.Function, detail: `function ${f}` });
    return items;
  });

  documents.listen(connection);
  connection.listen();
}

function range(s: Span): Range {
  return { start: { line: s.start.line - 1, character: s.start.column - 1 }, end: { line: s.end.line - 1, character: s.end.column - 1 } };
}

/** A compiler diagnostic as the protocol's; one in an imported file is shown at the top, naming it. */
function toLsp(d: Diagnostic, file: string): LspDiagnostic {
  const here = d.span !== undefined && resolve(d.span.file) === resolve(file);
  const at: Range = here ? range(d.span!) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const elsewhere = d.span !== undefined && !here ? ` (in ${d.span.file}:${d.span.start.line}:${d.span.start.column})` : "";
  return {
    range: at,
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "cellc",
    message: `${d.message}${elsewhere}`,
  };
}
