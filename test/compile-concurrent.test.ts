// Several compile() calls at once, even for the same file name, each print their own module:
// the TypeScript printer's ts-morph project once handed two of them one source file, so a
// module came out holding another's statements too.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../driver/index.ts";

const spec = (name: string) => readFileSync(new URL(`../examples/specs/${name}.cell`, import.meta.url), "utf8");

describe("compile() called concurrently", () => {
  it("prints each module as it prints it alone, for one file name", async () => {
    const sources = ["lstm", "gru", "lstm", "gru"].map(spec);
    const options = { file: "same.cell", dims: { I: 4, H: 8 } };
    const alone: string[] = [];
    for (const s of sources.slice(0, 2)) alone.push((await compile(s, options)).module!.code);
    const together = await Promise.all(sources.map((s) => compile(s, options)));
    expect(together.map((r) => r.diagnostics)).toEqual([[], [], [], []]);
    expect(together.map((r) => r.module!.code)).toEqual([...alone, ...alone]);
  });
});
