// A text reducer run after fast-check's shrinking: the tape shrinks poorly once a failure needs a
// particular choice deep in it (removing a choice shifts every later one), so the failing text is
// reduced directly, by deleting lines and items of comma lists, keeping each deletion after which
// the case still fails the same way. A deletion that breaks the program only gives a different
// failure (a diagnostic), so it is not kept.

import type { Rendered } from "./kinds.ts";


export async function reduceText(
  start: Rendered,
  stillFails: (r: Rendered) => Promise<boolean>,
  deadline: number,
): Promise<{ reduced: Rendered; steps: number }> {
  let cur = start;
  let steps = 0;
  let progress = true;
  while (progress && performance.now() < deadline) {
    progress = false;
    const lines = cur.text.split("\n");
    for (let i = lines.length - 1; i >= 0 && performance.now() < deadline; i--) {
      const candidates: string[][] = [lines.filter((_, k) => k !== i)];
      // Items of a comma list (outputs, declarations), one at a time.
      const items = splitTopLevel(lines[i]!);
      if (items.length > 1) {
        for (let j = items.length - 1; j >= 0; j--) {
          const kept = items.filter((_, k) => k !== j);
          const head = j === 0 ? items[0]!.match(/^\s*(output|input|state|param)\s+/)?.[0] ?? "" : "";
          const joined = kept.join(",");
          candidates.push(lines.map((l, k) => (k === i ? (head && !joined.trimStart().startsWith(head.trim()) ? head + joined.trimStart() : joined) : l)));
        }
      }
      for (const c of candidates) {
        const next = { ...cur, text: c.join("\n") };
        if (next.text === cur.text) continue;
        if (await stillFails(next)) {
          cur = next;
          steps++;
          progress = true;
          break;
        }
      }
      if (progress) break;
    }
  }
  return { reduced: cur, steps };
}

/** Splits a line at commas outside brackets and parentheses. */
function splitTopLevel(line: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth--;
    else if (ch === "," && depth === 0) {
      out.push(line.slice(from, i));
      from = i + 1;
    }
  }
  out.push(line.slice(from));
  return out;
}


