// `npm run docs:tables`: rewrites the generated tables of README.md and docs/*.md from the code
// they mirror (scripts/docs/tables.ts says which). Prints the files it changed.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedTables, rewriteRegions } from "./docs/tables.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The docs that may hold generated regions. */
export function docFiles(): string[] {
  const docs = join(root, "docs");
  return [join(root, "README.md"), ...readdirSync(docs).filter((f) => f.endsWith(".md")).sort().map((f) => join(docs, f))];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tables = generatedTables();
  let changed = 0;
  for (const file of docFiles()) {
    const before = readFileSync(file, "utf8");
    const after = rewriteRegions(before, tables, relative(root, file));
    if (after !== before) {
      writeFileSync(file, after);
      console.log(`rewrote ${relative(root, file)}`);
      changed++;
    }
  }
  console.log(changed === 0 ? "docs: every generated table is up to date" : `docs: ${changed} file(s) rewritten`);
}
