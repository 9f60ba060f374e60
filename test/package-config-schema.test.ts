// The config's schema: the JSON Schema editors read (shipped in the package as
// dist/cellc.config.schema.json and committed in the VS Code extension) is the one `cellc build`
// validates with, and the example config passes it. The extension's TextMate grammar knows every
// keyword of the lexer.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchema, validateConfig } from "../cli/config-schema.ts";
import { keywordTypes } from "../grammar/lexer.ts";

describe("cellc.config.json's schema", () => {
  it("the extension's copy is the schema config validation uses (regenerate it from configJsonSchema())", () => {
    const committed = JSON.parse(readFileSync("editor/vscode/schemas/cellc.config.schema.json", "utf8")) as unknown;
    expect(committed).toEqual(configJsonSchema());
  });

  it("describes the fields and their constraints", () => {
    const s = configJsonSchema() as { required: string[]; additionalProperties: boolean; properties: Record<string, { items?: { required?: string[]; properties?: Record<string, unknown> } }> };
    expect(s.required).toEqual(["entries"]);
    expect(s.additionalProperties).toBe(false);
    const entry = s.properties["entries"]!.items!;
    expect(entry.required).toEqual(["spec"]);
    expect(Object.keys(entry.properties!)).toEqual(["spec", "dims", "out", "cell", "optimize", "target", "threads", "fma", "format"]);
  });

  it("accepts the example config and names the field of a mistake", () => {
    expect(validateConfig(JSON.parse(readFileSync("examples/cellc.config.json", "utf8")))).toMatchObject({ ok: true });
    expect(validateConfig({ $schema: "x.json", entries: [{ spec: "a.cell", dims: [{ H: 2 }, { H: "0" }] }] })).toEqual({
      ok: false,
      where: "entries[0].dims[1].H",
      problem: "must be a positive integer, got 0",
    });
  });
});

describe("the TextMate grammar", () => {
  it("highlights every keyword the lexer has", () => {
    const grammar = readFileSync("editor/vscode/syntaxes/cell.tmLanguage.json", "utf8");
    const words = [...keywordTypes].map((t) => String(t.PATTERN).replace(/^\/|\/$/g, ""));
    expect(words.length).toBeGreaterThan(5);
    for (const w of words) expect(grammar).toMatch(new RegExp(`[(|]${w}[|)]`));
  });
});
