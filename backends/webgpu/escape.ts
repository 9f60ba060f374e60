// The WGSL escaper. WGSL has no string literals; spec text (names, the spec's own lines, the file
// name) reaches a shader only inside comments, through wgslComment. A line comment ends at any of
// WGSL's line breaks (LF, VT, FF, CR, NEL, U+2028, U+2029) and block comments nest, so both `/*`
// and `*/` are broken up. The shader text then sits in the TypeScript module as a string literal
// (the TypeScript escaper's), so the backend's descriptor names the TypeScript escaper.

import { visible } from "../../grammar/visible.ts";
import { wellFormed, type Escaper } from "../escaper.ts";

/** `text` after `//` in WGSL: no line break (visible() escapes LF, CR, NEL, U+2028/9 and the other
 *  controls, VT and FF among them), and no `/*` or `*\/` (a block comment nests in WGSL). */
export function wgslComment(text: string): string {
  return visible(wellFormed(text)).replaceAll("/*", "/\\*").replaceAll("*/", "*\\/");
}

/** WGSL has no strings: a name or text stands in a shader only as a comment. */
export function wgslString(text: string): string {
  return `/* ${wgslComment(text)} */`;
}

export const wgslEscaper: Escaper = { language: "WGSL", string: wgslString, comment: wgslComment };
