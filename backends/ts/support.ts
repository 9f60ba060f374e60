// The support code every generated TypeScript module carries, read from the real, type-checked
// and tested files in ./support/ and inlined: everything after a file's `// ---- inline from here`
// line (or the whole file after its header comment), with `export` removed.

import { readFileSync } from "node:fs";

const cache = new Map<string, string>();

/** The inlinable text of ./support/<name>.ts. */
export function supportText(name: "gemm" | "fastmath" | "checks" | "weights" | "rows" | "special"): string {
  let text = cache.get(name);
  if (text === undefined) {
    const raw = readFileSync(new URL(`./support/${name}.ts`, import.meta.url), "utf8");
    const marker = raw.indexOf("// ---- inline from here");
    let body = marker >= 0 ? raw.slice(raw.indexOf("\n", marker) + 1) : raw.replace(/^(\/\/.*\n)+\n?/, "");
    body = body.replace(/^export (?=(async )?function |const |let |interface |type |class )/gm, "");
    text = body.trim();
    cache.set(name, text);
  }
  return text;
}
