// The TypeScript backend's escaper (also the WebAssembly backend's, whose module is TypeScript).

import { visible } from "../../grammar/visible.ts";
import { INVISIBLE_IN_LITERALS, unicodeEscape, type Escaper } from "../escaper.ts";

/** A double-quoted TypeScript string literal of `text`. JSON.stringify's escapes are JavaScript's,
 *  and since ES2019 every JSON string is a JavaScript string literal; it escapes lone surrogates as
 *  \udXXX, and the characters that would hide in an editor are escaped too. */
export function tsString(text: string): string {
  return tsLiteral(text);
}

/** `text` inside a `//`, `/* *\/` or `/** *\/` comment. A comment ends only at a line terminator
 *  (`//`) or at `*\/`: visible() escapes every terminator, and each `*\/` becomes `*\\/` (the
 *  inserted backslash cannot start a new one). */
export function tsComment(text: string): string {
  return visible(text).replaceAll("*/", "*\\/");
}

/** A JSON-like value (strings, numbers, arrays, plain objects) as a TypeScript expression: JSON,
 *  with its strings escaped as tsString escapes them (the characters it adds escapes for can only
 *  stand inside a JSON string). */
export function tsLiteral(value: unknown): string {
  return JSON.stringify(value).replace(INVISIBLE_IN_LITERALS, unicodeEscape);
}

export const tsEscaper: Escaper = { language: "TypeScript", string: tsString, comment: tsComment };
