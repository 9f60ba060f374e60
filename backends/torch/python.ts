// The Python escaper, and Python source for data: strings and JSON-like values (the module's
// META) as Python literals, comments and docstrings.

import { pyNum } from "../../compiler/primitives/elementwise.ts";
import { visible } from "../../grammar/visible.ts";
import { INVISIBLE_IN_LITERALS, unicodeEscape, type Escaper } from "../escaper.ts";

/** A double-quoted Python string literal of `s`. JSON's escapes (\" \\ \/ \b \f \n \r \t \uXXXX)
 *  are Python's too, with the same meaning, and JSON.stringify escapes every control character
 *  and lone surrogate (Python source may hold no NUL, and a str may hold a lone surrogate). */
export function pyString(s: string): string {
  return JSON.stringify(s).replace(INVISIBLE_IN_LITERALS, unicodeEscape);
}

/** `s` after `#`: a Python comment ends at a line feed or carriage return, which visible()
 *  escapes, as it does NUL (a SyntaxError anywhere in Python source). */
export function pyComment(s: string): string {
  return visible(s);
}

/** A triple-quoted docstring of `s`: its lines stay lines, and within them every character is
 *  escaped as in pyString, so no `"""` (each `"` is `\"`), no stray backslash escape (`\N`) and
 *  no control character can appear. */
export function pyDocstring(s: string): string {
  return `"""${s.split("\n").map((line) => pyString(line).slice(1, -1)).join("\n")}"""`;
}

/** `s` as literal text inside a double-quoted f-string: escaped as in pyString, braces doubled. */
export function pyFormatText(s: string): string {
  return pyString(s).slice(1, -1).replaceAll("{", "{{").replaceAll("}", "}}");
}

export const pyEscaper: Escaper = { language: "Python", string: pyString, comment: pyComment };

/** A JSON-like value as a Python literal: objects become dicts, true/false/null True/False/None. */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyNum(v);
  if (typeof v === "string") return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyString(k)}: ${pyLiteral(x)}`).join(", ")}}`;
  }
  throw new Error(`torch backend: no Python literal for ${typeof v}`);
}
