// The cellc language server: diagnostics as you type, hover with each name's symbolic shape
// (`param W_f: [H, I]`), go to definition (into imported files too) and completion of names,
// sizes, cells and functions, over the Language Server Protocol (vscode-languageserver). It asks
// the compiler's checker through compiler/query.ts; an import is read from the editor when the
// file is open there (unsaved text included), else from disk. Checks are scheduled by
// checks.ts: after a pause in typing, only the edited document and the open documents that import
// it. Clients may set `initializationOptions.checkDelayMs` (the pause) and
// `initializationOptions.reportChecks` (a `cellc/checked` notification { uri, version, ms } after
// every check, for tests and for measuring).

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
import { CheckQueue } from "./checks.ts";

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
  /** Each open document's last check: its analysis, the version checked, the files it read. */
  const checked = new Map<string, { analysis: SpecAnalysis; version: number; reads: Set<string> }>();
  let reportChecks = false;

  /** A document's path, or its URI when it is not a file (an untitled buffer). */
  const pathOf = (uri: string): string => (uri.startsWith("file:") ? fileURLToPath(uri) : uri);
  const uriOf = (file: string): string => (file.includes(":") && !file.startsWith("/") && !/^[A-Za-z]:/.test(file) ? file : pathToFileURL(resolve(file)).href);
  const readFile = (file: string): string => {
    const open = documents.get(pathToFileURL(resolve(file)).href);
    return open !== undefined ? open.getText() : defaultRead(file);
  };

  const queue = new CheckQueue({
    check: (uri) => {
      const doc = documents.get(uri);
      if (doc === undefined) return;
      const reads = new Set<string>();
      const started = performance.now();
      // Every file the check tried to read, found or not: an import that fails now may be opened later.
      const analysis = analyzeSpec(doc.getText(), pathOf(uri), (file) => {
        reads.add(resolve(file));
        return readFile(file);
      });
      checked.set(uri, { analysis, version: doc.version, reads });
      if (reportChecks) void connection.sendNotification("cellc/checked", { uri, version: doc.version, ms: performance.now() - started });
    },
    publish: (uri) => {
      const c = checked.get(uri);
      if (c === undefined || documents.get(uri) === undefined) return;
      const file = pathOf(uri);
      void connection.sendDiagnostics({ uri, version: c.version, diagnostics: c.analysis.diagnostics.map((d) => toLsp(d, file)) });
    },
    importersOf: (uri) => {
      if (!uri.startsWith("file:")) return [];
      const file = resolve(fileURLToPath(uri));
      return [...checked].filter(([other, c]) => other !== uri && c.reads.has(file)).map(([other]) => other);
    },
    failed: (uri, e) => connection.console.error(`cellc: internal error checking ${uri}: ${e instanceof Error ? e.message : String(e)}`),
  });

  /** The document's analysis for its current text (checked now if an edit made it stale). */
  const analysis = (uri: string): SpecAnalysis | undefined => {
    if (documents.get(uri) === undefined) return undefined;
    queue.ensureFresh(uri);
    return checked.get(uri)?.analysis;
  };

  connection.onInitialize((params) => {
    const options = (params.initializationOptions ?? {}) as { checkDelayMs?: unknown; reportChecks?: unknown };
    if (typeof options.checkDelayMs === "number" && options.checkDelayMs >= 0) queue.delayMs = options.checkDelayMs;
    reportChecks = options.reportChecks === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        completionProvider: { triggerCharacters: ["(", " "] },
      },
      serverInfo: { name: "cellc" },
    };
  });

  documents.onDidChangeContent((e) => queue.changed(e.document.uri));
  documents.onDidClose((e) => {
    queue.closed(e.document.uri);
    checked.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  connection.onShutdown(() => queue.dispose());

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
