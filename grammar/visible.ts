// Text from a spec or a file name, made safe to show: in a terminal (a diagnostic's message and
// code frame) and inside a comment of generated code. Characters that move the cursor, end a line,
// ring the bell, start a terminal escape sequence or reorder text on screen are shown as escapes
// instead, so whoever reads the text sees every character and nothing acts on their terminal.

/** True for what `visible` escapes: C0 controls but tab, DEL and the C1 controls; line and
 *  paragraph separators; bidirectional formatting characters; the byte-order mark; and a lone
 *  half of a surrogate pair (it is no character). */
function hidden(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff ||
    (code >= 0xd800 && code <= 0xdfff)
  );
}

/** How one code point is shown: `\n`, `\r`, `\x1b`, `\u2028`, `\ud800`, or itself. */
export function visibleChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  // A well-formed pair iterates as one code point above U+FFFF, which `hidden` never holds.
  if (!hidden(code)) return ch;
  if (code === 0x0a) return "\\n";
  if (code === 0x0d) return "\\r";
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every control, line-ending and reordering character shown as an escape
 *  (see visibleChar); the rest, backslashes included, as it is. Linear in the length of `text`. */
export function visible(text: string): string {
  let out = "";
  for (const ch of text) out += visibleChar(ch);
  return out;
}
