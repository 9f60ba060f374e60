// The compile API moved from compiler/index.ts to driver/index.ts (issue 22: the package entry
// prints with the backends, so it sits above them). This rewrites every relative import of the old
// file to the new one, in place, across the tree; rerun it after merging a branch that still
// imports compiler/index.ts:
//
//   npx tsx scripts/move-driver.ts        (prints each file it changed)
//
// Only string literals that resolve to <root>/compiler/index(.ts|.js) change; a path built at
// run time (test/bench/versus.ts reads another checkout) and comments are left alone.

import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = new Set(["node_modules", "dist", ".git", "generated"]);
const OLD = join(ROOT, "compiler", "index");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name) || name.startsWith(".")) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

const specifier = /(["'`])((?:\.\.?\/)+)compiler\/index(\.ts|\.js)?\1/g;

export function rewrite(file: string, text: string): string {
  return text.replace(specifier, (whole, quote: string, up: string, ext: string | undefined) => {
    if (resolve(dirname(file), `${up}compiler/index`) !== OLD) return whole;
    return `${quote}${up}driver/index${ext ?? ""}${quote}`;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of files(ROOT)) {
    const text = readFileSync(file, "utf8");
    const next = rewrite(file, text);
    if (next !== text) {
      writeFileSync(file, next);
      console.log(relative(ROOT, file).split(sep).join("/"));
    }
  }
}
