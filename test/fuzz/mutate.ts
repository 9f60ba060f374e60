// Inputs for the front-end fuzzer: mutations of the corpus at byte, token and line level, and
// generated texts (token soups, deep nesting, huge literals, long names, long size expressions).
// A case is a small structure fast-check can shrink (fewer mutations, earlier positions, shorter
// strings); `render` turns it into the spec text.

import fc from "fast-check";
import { lex } from "../../grammar/lexer.ts";
import { corpus } from "./corpus.ts";

export type Mutation =
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; len: number }
  | { kind: "duplicate"; at: number; len: number }
  | { kind: "tokenDelete"; at: number }
  | { kind: "tokenReplace"; at: number; text: string }
  | { kind: "tokenSwap"; at: number; with: number }
  | { kind: "tokenDuplicate"; at: number; times: number }
  | { kind: "lineDelete"; at: number }
  | { kind: "lineDuplicate"; at: number }
  | { kind: "lineSwap"; at: number; with: number }
  | { kind: "lineFrom"; at: number; file: number; line: number };

export type CheckCase =
  | { kind: "mutant"; base: number; mutations: Mutation[] }
  | { kind: "generated"; text: string };

/** Characters that matter to a lexer: line terminators of every kind, NUL, BOM, lone surrogates,
 *  non-ASCII letters, and the language's punctuation. */
const ODD_CHARS = ["\r", "\n", "\r\n", "\0", "\t", "\v", "\f", "\u2028", "\u2029", "\ufeff", "\u00a0", "\ud800", "\udfff", "é", "😀", "'", '"', "\\", "/*", "*/", "//", "$", "#", "`", "\u0085"];

const VOCAB = [
  "cell", "stack", "layer", "input", "state", "param", "output", "import", "from", "{", "}", "(", ")", "[", "]", ",", ":", ";", "=",
  "+", "-", "*", "/", "@", "'", "x", "h", "h'", "W", "H", "I", "P", "0", "1", "2", "0.5", "1e400", "1e-400", "99999999999999999999",
  "sigmoid", "tanh", "concat", "layernorm", "clip", "zeros", "glorot", "const", "uniform", '"./lstm.cell"', '"x', "/*", "//", "\n",
  "__proto__", "constructor", "toString",
];

const oddText = fc.oneof(
  fc.constantFrom(...ODD_CHARS),
  fc.constantFrom(...VOCAB),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
);

const pos = fc.nat({ max: 100_000 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: pos, text: oddText }),
  fc.record({ kind: fc.constant("delete" as const), at: pos, len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: pos, len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant("tokenDelete" as const), at: pos }),
  fc.record({ kind: fc.constant("tokenReplace" as const), at: pos, text: fc.constantFrom(...VOCAB) }),
  fc.record({ kind: fc.constant("tokenSwap" as const), at: pos, with: pos }),
  fc.record({ kind: fc.constant("tokenDuplicate" as const), at: pos, times: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant("lineDelete" as const), at: pos }),
  fc.record({ kind: fc.constant("lineDuplicate" as const), at: pos }),
  fc.record({ kind: fc.constant("lineSwap" as const), at: pos, with: pos }),
  fc.record({ kind: fc.constant("lineFrom" as const), at: pos, file: pos, line: pos }),
);

const repeat = (s: string, n: number, sep = "") => Array.from({ length: n }, () => s).join(sep);

/** Texts no mutation of a small spec reaches: each wraps its payload in an otherwise valid cell. */
const generated: fc.Arbitrary<string> = fc.oneof(
  // token soup
  fc.array(fc.constantFrom(...VOCAB), { maxLength: 200 }).map((ts) => ts.join(" ")),
  // deep nesting of brackets, parentheses, calls or unary minus
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom("(", "[", "{", "tanh(", "-", "concat(")).map(([n, open]) => {
    const close = open === "-" ? "" : open === "[" ? "]" : open === "{" ? "}" : ")";
    return `cell d(H) {\n  state h: [H]\n  h' = ${repeat(open, n)}h${repeat(close, n)}\n  output h'\n}\n`;
  }),
  // huge literals: numbers and sizes with many digits
  fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom("expr", "size", "init", "dim", "slice")).map(([n, where]) => {
    const big = repeat("9", n);
    const e = where === "expr" ? `h * ${big}.5e${n}` : "h";
    const size = where === "size" ? big : "H";
    const init = where === "init" ? ` = const(${big})` : "";
    const dim = where === "dim" ? ` = ${big}` : "";
    const sl = where === "slice" ? `[0:${big}]` : "";
    return `cell d(H${dim}) {\n  state h: [${size}]\n  param b: [H]${init}\n  h' = tanh(${e} + b)${sl}\n  output h'\n}\n`;
  }),
  // long names
  fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom("state", "size", "cell", "local")).map(([n, where]) => {
    const long = `a${repeat("b", n)}`;
    const st = where === "state" ? long : "h";
    const dim = where === "size" ? long : "H";
    const cell = where === "cell" ? long : "d";
    const local = where === "local" ? `  ${long} = ${st}\n` : "";
    return `cell ${cell}(${dim}) {\n  state ${st}: [${dim}]\n${local}  ${st}' = tanh(${st})\n  output ${st}'\n}\n`;
  }),
  // long size expressions: products, sums, and products of sums
  fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom("product", "sum", "product of sums", "slice")).map(([n, k, form]) => {
    const size =
      form === "product" ? repeat("H", n, "*") : form === "sum" ? repeat("H", n, " + ") : form === "slice" ? "H" : repeat("(A + B + C + D + E + H)", k, " * ");
    const sl = form === "slice" ? `[${repeat("H", Math.min(n, 3000), "*")} - ${repeat("H", Math.min(n, 3000), "*")}:H]` : "";
    return `cell d(A, B, C, D, E, H) {\n  state h: [${size}]\n  h' = tanh(h)${sl}\n  output h'\n}\n`;
  }),
  // many statements
  fc.integer({ min: 1, max: 5000 }).map((n) => `cell d(H) {\n  state h: [H]\n${Array.from({ length: n }, (_, i) => `  a${i} = ${i === 0 ? "h" : `a${i - 1}`} * 0.5`).join("\n")}\n  h' = a${n - 1}\n  output h'\n}\n`),
);

export const checkCaseArb: fc.Arbitrary<CheckCase> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("mutant" as const), base: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("generated" as const), text: generated }) },
);

function tokens(text: string): { start: number; end: number }[] {
  return lex(text).tokens.map((t) => ({ start: t.startOffset, end: t.startOffset + t.image.length }));
}

function applyMutation(text: string, m: Mutation): string {
  const at = (n: number, len: number) => (len === 0 ? 0 : n % len);
  switch (m.kind) {
    case "insert": {
      const i = at(m.at, text.length + 1);
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case "delete": {
      const i = at(m.at, text.length);
      return text.slice(0, i) + text.slice(i + m.len);
    }
    case "duplicate": {
      const i = at(m.at, text.length);
      return text.slice(0, i + m.len) + text.slice(i, i + m.len) + text.slice(i + m.len);
    }
    case "lineDelete":
    case "lineDuplicate":
    case "lineSwap":
    case "lineFrom": {
      const lines = text.split("\n");
      const i = at(m.at, lines.length);
      if (m.kind === "lineDelete") lines.splice(i, 1);
      else if (m.kind === "lineDuplicate") lines.splice(i, 0, lines[i]!);
      else if (m.kind === "lineSwap") {
        const j = at(m.with, lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      } else {
        const files = corpus();
        const other = files[at(m.file, files.length)]!.text.split("\n");
        lines.splice(i, 0, other[at(m.line, other.length)]!);
      }
      return lines.join("\n");
    }
    default: {
      const ts = tokens(text);
      if (ts.length === 0) return text;
      const t = ts[at(m.at, ts.length)]!;
      const tok = text.slice(t.start, t.end);
      if (m.kind === "tokenDelete") return text.slice(0, t.start) + text.slice(t.end);
      if (m.kind === "tokenReplace") return text.slice(0, t.start) + m.text + text.slice(t.end);
      if (m.kind === "tokenDuplicate") return text.slice(0, t.end) + ` ${tok}`.repeat(m.times) + text.slice(t.end);
      const u = ts[at(m.with, ts.length)]!;
      if (u.start === t.start) return text;
      const [a, b] = t.start < u.start ? [t, u] : [u, t];
      return text.slice(0, a.start) + text.slice(b.start, b.end) + text.slice(a.end, b.start) + text.slice(a.start, a.end) + text.slice(b.end);
    }
  }
}

/** The file name and text of a case. */
export function render(c: CheckCase): { file: string; text: string } {
  if (c.kind === "generated") return { file: "test/fuzz/generated.cell", text: c.text };
  const files = corpus();
  const base = files[c.base % files.length]!;
  return { file: base.file, text: c.mutations.reduce(applyMutation, base.text) };
}
