// The one catalogue of user-facing diagnostics. A user's mistake in a spec is a Diagnostic with a
// stable code from this table; a thrown exception means a bug in cellc.
//
// Ranges: CE0xx input, CE1xx syntax, CE2xx names and shapes, CE3xx imports and stacks,
// CE4xx build-time sizes. Most codes are errors; the few in `warningCodes` are warnings (a spec
// with only warnings checks and builds).

import type { Span } from "./source.ts";
import { SourceText } from "./source.ts";
import { visible, visibleChar } from "./visible.ts";

export type Severity = "error" | "warning";

export const catalogue = {
  // --- input ---
  CE001: "input is not text: {0}",
  // --- syntax ---
  CE101: "unexpected character {0}",
  CE102: "{0}",
  CE103: "nesting is deeper than {0} levels",
  CE104: "unterminated {0}",
  // --- names and shapes ---
  CE201: "cannot apply {0} @ {1}: inner sizes {2} and {3} differ",
  CE202: "cannot apply '{0}' to shapes {1} and {2}: sizes differ",
  CE203: "unknown name '{0}'{1}",
  CE204: "'{0}' is already defined",
  CE205: "state '{0}' is never written: add {0}' = ...",
  CE206: "cannot assign to {0} '{1}': only locals and new states (name') are assigned",
  CE207: "unknown function '{0}'{1}",
  CE208: "{0} takes {1}, got {2}",
  CE209: "the left side of @ must be a matrix, got {0}",
  CE210: "'{0}' is not a state, so {0}' is not defined",
  CE211: "'{0}' is used before it is assigned",
  CE212: "cell '{0}' has no output",
  CE213: "unknown initializer '{0}' (expected one of zeros, ones, const, uniform, normal, glorot, orthogonal)",
  CE214: "{0} must be {1}, got {2}",
  CE215: "unknown size '{0}' (the cell declares {1}){2}",
  CE216: "slice [{0}:{1}] is out of range for a vector of size {2}",
  CE217: "'{0}' is a matrix; only vectors may be {1}",
  CE218: "size '{0}' is declared twice",
  CE219: "{0}' is written more than once",
  CE220: "expression is nested {0} levels deep; the limit is {1}",
  CE221: "size expression is too large: {0}",
  CE222: "parameter '{0}' is never used; it is still counted and trained (its gradient is always zero)",
  CE223: "input '{0}' is never used; callers must still pass it",
  CE224: "local '{0}' is never used",
  CE225: "'{0}' works along one vector; it cannot take the matrix {1}",
  CE226: "transpose takes a matrix, got {0}",
  CE227: "cannot apply '{0}' to {1} and {2}: a vector does not broadcast over a matrix (along rows or columns would be a guess); only numbers and [1] values broadcast",
  // --- imports and stacks ---
  CE301: "cannot read '{0}': {1}",
  CE302: "'{0}' is not defined in '{1}'",
  CE303: "unknown cell '{0}'{1}",
  CE304: "layer {0} feeds {1} values into an input of size {2}",
  CE305: "import cycle: {0}",
  CE306: "'{0}' has no {1} for a layer to connect",
  CE307: "{0} declares no cell or stack",
  // --- build-time sizes ---
  CE401: "size '{0}' is not bound: {1} or give it a default",
  CE402: "size '{0}' must be a positive integer, got {1}",
  CE403: "no cell or stack named '{0}' in {1}",
  CE404: "'{0}' has size {1} after binding; sizes must be positive",
  CE405: "{0} binds '{1}', but '{2}' declares '{3}': size names are case-sensitive",
  CE406: "{0} would hold {1} elements; an array holds at most {2}",
  CE407: "unknown target '{0}' (the targets are {1})",
  CE408: "format '{0}' is for targets that print a TypeScript module ({1}); target '{2}' writes .{3} files",
} as const;

export type DiagnosticCode = keyof typeof catalogue;

/** Codes reported as warnings: the spec is valid, but something in it is probably a mistake. */
export const warningCodes: ReadonlySet<DiagnosticCode> = new Set<DiagnosticCode>(["CE222", "CE223", "CE224"]);

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  /** Where the problem is; absent only for problems with no place in a file (e.g. a --dims value). */
  span?: Span;
}

/** Fills a catalogue message; {0}, {1}, ... are replaced by args. */
export function diag(code: DiagnosticCode, span: Span | undefined, ...args: (string | number)[]): Diagnostic {
  const message = catalogue[code].replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ""));
  const severity: Severity = warningCodes.has(code) ? "warning" : "error";
  return span ? { code, severity, message, span } : { code, severity, message };
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Sorts by file, then position (stable for equal positions). */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    const fa = a.span?.file ?? "";
    const fb = b.span?.file ?? "";
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.span?.start.offset ?? 0) - (b.span?.start.offset ?? 0);
  });
}

/**
 * Formats one diagnostic the way the design doc shows it:
 *
 *   lstm.cell:9:15 error CE201: cannot apply [H, I] @ [H]: inner sizes I and H differ
 *      9 |   f = sigmoid(W_f @ h + b_f)
 *        |               ^^^^^^^
 *
 * `source` supplies the line text for the code frame; without it only the first line is printed.
 * Spec text reaches the terminal only through visible(): the file name, the message (which may
 * quote the spec) and the code frame show control characters as escapes (ESC as `\x1b`), and the
 * caret moves right by what the escapes add before it, so it stays under the span.
 */
export function formatDiagnostic(d: Diagnostic, source?: SourceText | string): string {
  const where = d.span ? `${d.span.file}:${d.span.start.line}:${d.span.start.column} ` : "";
  const head = visible(`${where}${d.severity} ${d.code}: ${d.message}`);
  if (!d.span || source === undefined) return head;
  const src = typeof source === "string" ? new SourceText(d.span.file, source) : source;
  const line = d.span.start.line;
  let text = src.lineText(line).replace(/\t/g, " ");
  const gutter = String(line).length;
  const pad = " ".repeat(gutter);
  let col = d.span.start.column;
  const sameLine = d.span.end.line === line;
  let endCol = sameLine ? d.span.end.column : text.length + 1;
  // Long lines are shown as a window around the start of the span.
  const MAX = 100;
  if (text.length > MAX) {
    const from = Math.max(0, col - 1 - 20);
    const shown = text.slice(from, from + MAX);
    text = (from > 0 ? "…" : "") + shown + (from + MAX < text.length ? "…" : "");
    const shift = from > 0 ? from - 1 : 0;
    col -= shift;
    endCol = Math.min(endCol - shift, col + MAX - 20);
  }
  ({ text, col, endCol } = shown(text, col, endCol));
  const width = Math.max(1, endCol - col);
  return [
    head,
    `   ${String(line)} | ${text}`,
    `   ${pad} | ${" ".repeat(Math.max(0, col - 1))}${"^".repeat(width)}`,
  ].join("\n");
}

/** A code frame's line with each character as visible() shows it, and its 1-based columns moved
 *  right by the width the escapes add before them. */
function shown(line: string, col: number, endCol: number): { text: string; col: number; endCol: number } {
  let text = "";
  let at = 1; // column of the next character in `line` (UTF-16 units, as spans count)
  const moved = { col, endCol };
  for (const ch of line) {
    const s = visibleChar(ch);
    if (at < col) moved.col += s.length - ch.length;
    if (at < endCol) moved.endCol += s.length - ch.length;
    text += s;
    at += ch.length;
  }
  return { text, ...moved };
}
