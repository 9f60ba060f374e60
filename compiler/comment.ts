// The one gate through which spec text and file names reach a comment of generated code. A
// comment can only be left by a line terminator (ending a `//` comment) or by `*/` (ending a block
// or doc comment), so removing both leaves text that stays a comment whatever it contains.

/**
 * `text` made safe inside a `//` or `/* *\/` comment: every line terminator JavaScript knows
 * (LF, CR, U+2028, U+2029) is removed, and so is every `*\/`, including one that removing another
 * would create (`**\/\/` leaves nothing, not `*\/`). Linear in the length of `text`.
 */
export function commentText(text: string): string {
  const out: string[] = [];
  for (const ch of text) {
    if (ch === "\n" || ch === "\r" || ch === "\u2028" || ch === "\u2029") continue;
    // A `/` after a kept `*` would close a comment: drop both. The kept text never holds `*/`, and
    // only a `/` can complete one, so one look back at each `/` keeps it that way.
    if (ch === "/" && out[out.length - 1] === "*") {
      out.pop();
      continue;
    }
    out.push(ch);
  }
  return out.join("");
}
