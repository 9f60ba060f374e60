// What every backend declares about the language it writes: its one escaper. Spec text — names,
// the spec's own lines, file names and paths — reaches generated code only through it, so a file
// named `a"""b.cell` or a comment holding `*/` is data in every language, never code.

export interface Escaper {
  /** The language, for messages ("TypeScript", "WebAssembly text", "Python", "ONNX"). */
  readonly language: string;
  /** A string literal of the language whose value is `text` (ONNX: the string field's value). */
  string(text: string): string;
  /** `text` as it may stand inside a comment (after `//`, `;;`, `#`; ONNX: a doc_string): it cannot
   *  end the comment, and control, line-ending and reordering characters show as escapes. */
  comment(text: string): string;
}

/** Characters a string literal shows as `\uXXXX` although the language would take them raw: DEL,
 *  the C1 controls, line and paragraph separators, bidirectional formatting, the byte-order mark.
 *  (JSON.stringify already escapes the C0 controls and lone surrogates.) */
export const INVISIBLE_IN_LITERALS = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** `\uXXXX` for one UTF-16 code unit. */
export const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** `text` with each lone surrogate replaced by U+FFFD: what UTF-8 can hold. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}
