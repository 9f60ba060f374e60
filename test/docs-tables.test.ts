// The docs' tables that mirror code (functions, diagnostics, flags: scripts/docs/tables.ts) are
// regenerated in memory and compared with the committed docs; a difference names the doc and the
// command that rewrites it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogue } from "../grammar/diagnostics.ts";
import { functionNames } from "../compiler/functions.ts";
import { generatedTables, regionNames, rewriteRegions } from "../scripts/docs/tables.ts";
import { docFiles, repoRoot } from "./helpers/doc-blocks.ts";

const tables = generatedTables();
const docs = docFiles().map((f) => ({ file: f, text: readFileSync(join(repoRoot, f), "utf8") }));

describe("generated tables in the docs", () => {
  for (const { file, text } of docs) {
    it(`${file} holds the tables as the code generates them`, () => {
      const fresh = rewriteRegions(text, tables, file);
      expect(fresh === text, `${file}: a generated table differs from its source; run 'npm run docs:tables'`).toBe(true);
    });
  }

  it("every table appears in the docs exactly once", () => {
    const used = docs.flatMap((d) => regionNames(d.text));
    expect(used.sort()).toEqual(Object.keys(tables).sort());
  });

  it("the tables list every function and every diagnostic code", () => {
    for (const f of functionNames) expect(tables.functions).toContain(`| \`${f}\` |`);
    for (const c of Object.keys(catalogue)) expect(tables.diagnostics).toContain(`| ${c} |`);
  });

  it("a stale table is found, and an unknown region name is an error", () => {
    const stale = "<!-- generated:diagnostics -->\n| code |\n<!-- /generated -->\n";
    expect(rewriteRegions(stale, tables)).not.toBe(stale);
    expect(() => rewriteRegions("<!-- generated:fuctions -->\n<!-- /generated -->", tables, "x.md")).toThrow(/x\.md: unknown generated region 'fuctions'/);
  });
});
