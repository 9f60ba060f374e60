// The tokens of the .cell language and the one Chevrotain lexer built from them.
// Kept apart from the parser so the token vocabulary (and the labels used in syntax error
// messages) lives in one place; the parser and the nesting pre-check both read it.

import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";

// ---------- skipped ----------

// Line terminators are JavaScript's: LF, CR (a lone CR is an old Mac line ending), CRLF, U+2028 and
// U+2029. A `//` comment ends at any of them, as it does in the generated module, so no spec text
// the checker took for a comment can become code there; SourceText counts lines the same way.

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\u00a0\ufeff\u2028\u2029]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const LineComment = createToken({
  name: "LineComment",
  pattern: /\/\/[^\n\r\u2028\u2029]*/,
  group: Lexer.SKIPPED,
});
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
/** A `/*` with no closing `*\/`: collected in its own group and reported as CE104. */
export const UnterminatedComment = createToken({
  name: "UnterminatedComment",
  pattern: /\/\*[\s\S]*/,
  group: "unterminated",
  line_breaks: true,
});

// ---------- literals and names ----------

/** Any string literal; the parser consumes this category so an unterminated string still parses. */
export const StringLiteral = createToken({ name: "StringLiteral", pattern: Lexer.NA, label: "a string" });
export const TerminatedString = createToken({
  name: "TerminatedString",
  pattern: /"(?:[^"\\\n\r\u2028\u2029]|\\[^\n\r\u2028\u2029])*"/,
  categories: [StringLiteral],
  label: "a string",
});
/** A `"` with no closing quote on its line: kept in the token stream, and reported as CE104. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\n\r\u2028\u2029]|\\[^\n\r\u2028\u2029])*\\?/,
  categories: [StringLiteral],
  label: "a string",
});

/** Any number; expressions and initializer arguments take this category, sizes take Integer. */
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: Lexer.NA, label: "a number" });
export const Float = createToken({
  name: "Float",
  pattern: /(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/,
  categories: [NumberLiteral],
  label: "a number",
});
export const Integer = createToken({
  name: "Integer",
  pattern: /\d+/,
  categories: [NumberLiteral],
  label: "an integer",
});

export const PrimedIdentifier = createToken({
  name: "PrimedIdentifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*'/,
  label: "a name",
});
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

/** Reserved words; the CST names a keyword token by its capitalised word (ctx.Cell, ctx.Input). */
export const keywordTypes = new Set<TokenType>();

function keyword(word: string): TokenType {
  const t = createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: [PrimedIdentifier, Identifier],
    label: `'${word}'`,
  });
  keywordTypes.add(t);
  return t;
}

export const Cell = keyword("cell");
export const Stack = keyword("stack");
export const Layer = keyword("layer");
export const Input = keyword("input");
export const State = keyword("state");
export const Param = keyword("param");
export const Output = keyword("output");
export const Import = keyword("import");
export const From = keyword("from");

// ---------- punctuation ----------

function punct(name: string, text: string): TokenType {
  return createToken({ name, pattern: text, label: `'${text}'` });
}

export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Semicolon = punct("Semicolon", ";");
export const Equals = punct("Equals", "=");
export const Plus = punct("Plus", "+");
export const Minus = punct("Minus", "-");
export const Star = punct("Star", "*");
export const Slash = punct("Slash", "/");
export const At = punct("At", "@");

/** Order matters: the first pattern that matches wins (keywords defer to longer names via longer_alt). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedComment,
  StringLiteral,
  TerminatedString,
  UnterminatedString,
  NumberLiteral,
  Float,
  Integer,
  Cell,
  Stack,
  Layer,
  Input,
  State,
  Param,
  Output,
  Import,
  From,
  PrimedIdentifier,
  Identifier,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semicolon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  At,
];

/** Tokens that can only begin a top-level declaration; the parse driver splits the file at them. */
export const topLevelStarts: readonly TokenType[] = [Cell, Stack, Import];

export const openers: ReadonlySet<TokenType> = new Set([LParen, LBracket, LBrace]);
export const closers: ReadonlySet<TokenType> = new Set([RParen, RBracket, RBrace]);

export const cellLexer = new Lexer(allTokens, {
  positionTracking: "full",
  lineTerminatorsPattern: /\n|\r\n?|\u2028|\u2029/g, // global: Chevrotain scans with lastIndex
  lineTerminatorCharacters: ["\n", "\r", "\u2028", "\u2029"],
  ensureOptimizations: false,
});

/** Exclusive end offset of a token (Chevrotain's endOffset is inclusive and typed optional). */
export function tokenEnd(t: IToken): number {
  return (t.endOffset ?? t.startOffset + t.image.length - 1) + 1;
}

/** One run of characters no token matches (a CE101). */
export interface BadChars {
  offset: number;
  length: number;
}

export interface LexOutput {
  tokens: IToken[];
  badChars: BadChars[];
  /** Unterminated `/*` comments and strings, in source order. */
  unterminated: IToken[];
}

export function lex(text: string): LexOutput {
  const r = cellLexer.tokenize(text);
  const badChars = r.errors.map((e) => ({ offset: e.offset, length: e.length }));
  const unterminated = [
    ...(r.groups["unterminated"] ?? []),
    ...r.tokens.filter((t) => t.tokenType === UnterminatedString),
  ];
  unterminated.sort((a, b) => a.startOffset - b.startOffset);
  return { tokens: r.tokens, badChars, unterminated };
}
