// The docs' tables that mirror code (functions, diagnostics, flags: scripts/docs/tables.ts) are
// regenerated in memory and compared with the committed docs; a difference names the doc and the
// command that rewrites it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogue } from "../grammar/diagnostics.ts";
import { functionNames } from "../compiler/functions.ts";
import { generatedTables, regionNames, rewriteRegions, usageFlagsTable } from "../scripts/docs/tables.ts";
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

  it("cellc export's flags are read from the usage text it prints, continuation lines joined", () => {
    const usage = "Usage: x\n\nOptions:\n  --dims I=64    Size bindings; repeat\n                 or separate with commas\n  -h, --help     Show this help\n\nExit status: 0";
    expect(usageFlagsTable(usage)).toBe(
      "| option | meaning |\n| --- | --- |\n| `--dims I=64` | Size bindings; repeat or separate with commas |\n| `-h, --help` | Show this help |",
    );
    expect(() => usageFlagsTable("Options:\nbad line\n")).toThrow(/cannot read the usage line 'bad line'/);
    for (const flag of ["--dims", "--out", "--cell", "--weights", "--layer", "--seed", "--no-lengths", "--initial-states", "--input-defaults", "--fused", "--help"]) {
      expect(tables["flags-export"]).toMatch(new RegExp(`\\| \`(-\\w, )?${flag}[ \`]`));
    }
  });

  it("a stale table is found, and an unknown region name is an error", () => {
    const stale = "<!-- generated:diagnostics -->\n| code |\n<!-- /generated -->\n";
    expect(rewriteRegions(stale, tables)).not.toBe(stale);
    expect(() => rewriteRegions("<!-- generated:fuctions -->\n<!-- /generated -->", tables, "x.md")).toThrow(/x\.md: unknown generated region 'fuctions'/);
  });
});
