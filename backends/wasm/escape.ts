// The WebAssembly text escaper: WAT strings are byte strings, and its line comments (`;;`) end at
// a line feed or carriage return.

import { visible } from "../../grammar/visible.ts";
import { wellFormed, type Escaper } from "../escaper.ts";

/** A WAT string literal holding the UTF-8 bytes of `text` (lone surrogates as U+FFFD): printable
 *  ASCII but `"` and `\` as itself, every other byte as `\hh`. */
export function watString(text: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(wellFormed(text))) {
    out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

/** `text` after `;;`: no line terminator (visible() escapes them); a block comment's `(;` or `;)`
 *  means nothing inside a line comment. */
export function watComment(text: string): string {
  return visible(text);
}

export const watEscaper: Escaper = { language: "WebAssembly text", string: watString, comment: watComment };
