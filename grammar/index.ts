// The grammar's front door: `parse(text, file)` turns source text into an AST plus every syntax
// diagnostic of the file, and never throws. It runs the stages in order: a text check (CE001),
// the lexer (CE101, CE104), a nesting pre-check on the token stream (CE103, so deep input cannot
// overflow the parser's stack), then the parser (CE102) one top-level declaration at a time, so a
// mistake in one cell never hides the cells after it. Chevrotain's own recovery works inside each,
// and only the first syntax error of each statement is reported (the rest are its echoes).

import { tokenMatcher, type IToken } from "chevrotain";
import type { SpecFile, TopDecl } from "./ast.ts";
import { AstBuilder } from "./ast-builder.ts";
import { diag, sortDiagnostics, type Diagnostic } from "./diagnostics.ts";
import {
  Cell,
  closers,
  Equals,
  From,
  Identifier,
  keywordTypes,
  LBrace,
  lex,
  NumberLiteral,
  openers,
  PrimedIdentifier,
  RBrace,
  RBracket,
  RParen,
  Semicolon,
  StringLiteral,
  Stack,
  tokenEnd,
  topLevelStarts,
  UnterminatedComment,
  type BadChars,
} from "./lexer.ts";
import { cellParser, describeToken } from "./parser.ts";
import { SourceText, type Span } from "./source.ts";

export * from "./ast.ts";
export * from "./source.ts";
export * from "./diagnostics.ts";

/** Deepest allowed nesting of ( [ { together. */
export const MAX_NESTING = 200;

export interface ParseResult {
  ast: SpecFile;
  diagnostics: Diagnostic[];
  source: SourceText;
}

/**
 * Counts internal failures caught by parse()'s guard. Always 0 unless cellc has a bug; tests
 * assert it stays 0 so the guard cannot hide one.
 */
export const parserHealth = { internalErrors: 0, lastInternalError: undefined as unknown };

export function parse(text: string, file: string): ParseResult {
  const source = new SourceText(file, text);
  try {
    return parseText(text, file, source);
  } catch (e) {
    parserHealth.internalErrors++;
    parserHealth.lastInternalError = e;
    const why = e instanceof Error ? e.message : String(e);
    return {
      ast: emptyFile(source),
      diagnostics: [diag("CE102", source.span(0, 0), `internal error in the cellc parser, please report it: ${why}`)],
      source,
    };
  }
}

/** Per parsed file, the declarations whose text holds a syntax error; see declsWithSyntaxErrors. */
const brokenByFile = new WeakMap<SpecFile, Set<TopDecl>>();

/**
 * The declarations of a parse whose text holds a lexical or syntax error (CE101-CE104). Their AST
 * is only what recovery could salvage (broken statements left out, a missing ']' supplied), so a
 * checker that skips them avoids reporting consequences of a syntax error as new errors (e.g.
 * "state 'h' is never written" when the statement writing h' did not parse).
 */
export function declsWithSyntaxErrors(result: { ast: SpecFile }): ReadonlySet<TopDecl> {
  return brokenByFile.get(result.ast) ?? new Set();
}

function emptyFile(source: SourceText): SpecFile {
  return { kind: "file", file: source.file, decls: [], span: source.span(0, source.text.length) };
}

/** `'#'`, or `U+0007` for characters that do not print. */
function showChar(text: string, offset: number): string {
  const cp = text.codePointAt(offset) ?? 0;
  const ch = String.fromCodePoint(cp);
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || /\s/u.test(ch)) {
    return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return `'${ch}'`;
}

function parseText(text: string, file: string, source: SourceText): ParseResult {
  // CE001: NUL bytes or replacement characters mean this was not (valid UTF-8) text.
  const bad = text.search(/[\u0000\ufffd]/u);
  if (bad >= 0) {
    const what =
      text.charCodeAt(bad) === 0
        ? "it contains a NUL byte"
        : "it contains invalid UTF-8 (a U+FFFD replacement character)";
    return { ast: emptyFile(source), diagnostics: [diag("CE001", source.span(bad, bad + 1), what)], source };
  }

  const diagnostics: Diagnostic[] = [];
  const lexed = lex(text);
  for (const b of lexed.badChars) {
    diagnostics.push(diag("CE101", source.span(b.offset, b.offset + b.length), showChar(text, b.offset)));
  }
  for (const t of lexed.unterminated) {
    if (t.tokenType === UnterminatedComment) {
      diagnostics.push(
        diag("CE104", source.span(t.startOffset, t.startOffset + 2), "comment: '/*' has no closing '*/'"),
      );
    } else {
      diagnostics.push(
        diag("CE104", source.span(t.startOffset, tokenEnd(t)), "string: it has no closing '\"' on its line"),
      );
    }
  }

  const tokens = lexed.tokens;
  const tooDeep = firstTooDeep(tokens);
  if (tooDeep) {
    diagnostics.push(diag("CE103", tokenSpan(source, tooDeep), MAX_NESTING));
    return { ast: emptyFile(source), diagnostics: sortDiagnostics(diagnostics), source };
  }

  const lexicalAt = diagnostics.map((d) => d.span!.start.offset);
  const { decls, syntax, broken } = parseTokens(tokens, lexed.badChars, lexicalAt, source);
  diagnostics.push(...syntax);
  const ast: SpecFile = { kind: "file", file, decls, span: source.span(0, text.length) };
  brokenByFile.set(ast, broken);
  return { ast, diagnostics: sortDiagnostics(diagnostics), source };
}

function tokenSpan(source: SourceText, t: IToken): Span {
  return source.span(t.startOffset, tokenEnd(t));
}

/** The first opening token that makes ( [ { nesting deeper than MAX_NESTING, if any. */
function firstTooDeep(tokens: readonly IToken[]): IToken | undefined {
  let depth = 0;
  for (const t of tokens) {
    if (openers.has(t.tokenType)) {
      depth++;
      if (depth > MAX_NESTING) return t;
    } else if (closers.has(t.tokenType) && depth > 0) {
      depth--;
    }
  }
  return undefined;
}

/**
 * Parses the token stream one top-level declaration at a time. `cell`, `stack` and `import` can
 * only start a declaration, so they split the file into chunks; each chunk is parsed with the
 * `topDecl` rule, and its errors are reported with positions in the whole file.
 *
 * After a syntax error the parser resynchronises, and what it reports next in the same statement
 * is usually a consequence of the first mistake; so only the first error of each statement is kept.
 */
function parseTokens(
  tokens: IToken[],
  badChars: readonly BadChars[],
  lexicalAt: readonly number[],
  source: SourceText,
): { decls: TopDecl[]; syntax: Diagnostic[]; broken: Set<TopDecl> } {
  const starts: number[] = [];
  tokens.forEach((t, i) => {
    if (topLevelStarts.includes(t.tokenType)) starts.push(i);
  });
  const stmtOf = statementIndexer(tokens);
  // A statement with an illegal character in it already has its error (CE101); what the parser
  // then says about that statement is a consequence, not news.
  const lexBroken = new Set(badChars.map((b) => stmtOf(Math.max(0, tokenIndexAt(tokens, b.offset) - 1))));
  const lastTok = tokens[tokens.length - 1];
  const eofSpan = lastTok ? source.span(tokenEnd(lastTok), tokenEnd(lastTok)) : source.span(0, 0);
  const syntax: Diagnostic[] = [];

  const firstStart = starts[0] ?? tokens.length;
  if (firstStart > 0) {
    const t = tokens[0]!;
    syntax.push(
      diag("CE102", tokenSpan(source, t), `expected 'cell', 'stack' or 'import' but found ${describeToken(t)}`),
    );
  }

  const builder = new AstBuilder(source);
  const decls: TopDecl[] = [];
  const broken = new Set<TopDecl>();
  let lastStmt = -1;
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? tokens.length;
    const endToken = tokens[end];
    cellParser.messages.endToken = endToken;
    cellParser.input = tokens.slice(start, end);
    const cst = cellParser.topDecl();
    const errors = cellParser.errors
      .map((e) => ({ e, at: tokenIndex(tokens, e.token, end) }))
      .sort((a, b) => a.at - b.at);
    for (const { e, at } of errors) {
      // The statement being parsed when the error struck is the one holding the previous token.
      const stmt = stmtOf(Math.max(start, at - 1));
      if (stmt === lastStmt || lexBroken.has(stmt)) continue;
      lastStmt = stmt;
      const t = tokens[at];
      syntax.push(diag("CE102", t ? tokenSpan(source, t) : eofSpan, e.message));
    }
    const decl = builder.visit(cst) as TopDecl | undefined;
    if (!decl) return;
    decls.push(decl);
    const from = tokens[start]!.startOffset;
    const to = endToken ? endToken.startOffset : Infinity;
    if (errors.length > 0 || lexicalAt.some((at) => at >= from && at < to)) broken.add(decl);
  });
  cellParser.messages.endToken = undefined;
  return { decls, syntax, broken };
}

function canEndStatement(t: IToken): boolean {
  return [RBracket, RParen, LBrace, RBrace, Semicolon, Identifier, PrimedIdentifier, NumberLiteral, StringLiteral].some(
    (type) => tokenMatcher(t, type),
  );
}

/** Index of `t` in `tokens`; a token with no position (end of input) maps to `fallback`. */
function tokenIndex(tokens: readonly IToken[], t: IToken | undefined, fallback: number): number {
  if (!t || !Number.isFinite(t.startOffset)) return fallback;
  const i = tokenIndexAt(tokens, t.startOffset);
  return tokens[i]?.startOffset === t.startOffset ? i : fallback;
}

/** Index of the first token starting at or after `offset` (tokens.length if none). */
function tokenIndexAt(tokens: readonly IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Maps a token index to the number of the statement it belongs to. A statement starts at a brace,
 * at `name =` / `name' =` outside a cell or stack header (where `P = 32` is a size default; `=`
 * appears nowhere else, so this holds even in broken text), and at a keyword that follows
 * something a statement can end with (in `state input: [H]` the misused `input` starts nothing).
 */
function statementIndexer(tokens: readonly IToken[]): (i: number) => number {
  const stmtAt = new Int32Array(tokens.length);
  let n = 0;
  let inHeader = false;
  tokens.forEach((t, i) => {
    const type = t.tokenType;
    const prev = tokens[i - 1];
    let begins = keywordTypes.has(type) && type !== From && (prev === undefined || canEndStatement(prev));
    if (topLevelStarts.includes(type)) begins = true;
    if (type === Cell || type === Stack) inHeader = true;
    if (type === LBrace || type === RBrace) {
      begins = true;
      inHeader = false;
    }
    if ((type === Identifier || type === PrimedIdentifier) && !inHeader && tokens[i + 1]?.tokenType === Equals) {
      begins = true;
    }
    if (begins) n++;
    stmtAt[i] = n;
  });
  return (i) => stmtAt[Math.min(i, tokens.length - 1)] ?? 0;
}
