// The checker's error corpus: one tiny bad spec per diagnostic code under test/errors/check/,
// each naming on its first line the code, position and message it must produce (and nothing
// else, warnings included). Plus build-time diagnostics, which need a size binding, and a file
// with many errors.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildFile, check, compile, formatDiagnostics } from "../driver/index.ts";
import { catalogue } from "../grammar/diagnostics.ts";

const dir = "test/errors/check";
const files = readdirSync(dir).filter((f) => f.endsWith(".cell"));

describe("checker error corpus", () => {
  for (const f of files) {
    it(f, () => {
      const file = path.join(dir, f);
      const text = readFileSync(file, "utf8");
      const m = /^\/\/ expect (CE\d{3}) (?:@(\S+) )?(\d+):(\d+) (.*)$/.exec(text.split("\n")[0]!);
      expect(m, "first line must be `// expect CODE [@file] line:col message`").not.toBeNull();
      const [, code, inFile, line, col, message] = m!;
      const { diagnostics } = check(text, { file });
      expect(diagnostics.map((d) => d.code)).toEqual([code]);
      const d = diagnostics[0]!;
      expect(d.message).toBe(message);
      expect(d.span?.file).toBe(inFile ? path.join(dir, inFile) : file);
      expect([d.span?.start.line, d.span?.start.column]).toEqual([Number(line), Number(col)]);
    });
  }

  it("covers every checker code in the catalogue", () => {
    const covered = new Set(files.map((f) => f.slice(0, 5)));
    const buildTime = new Set(["CE401", "CE403", "CE404", "CE405", "CE406", "CE407", "CE408"]);
    const syntax = /^CE[01]/;
    for (const code of Object.keys(catalogue)) {
      if (syntax.test(code) || buildTime.has(code)) continue;
      expect(covered, `no corpus file for ${code}`).toContain(code);
    }
  });
});

describe("build-time diagnostics", () => {
  const cell = `cell c(I, H) {
  input x: [I]
  state h: [H - 2]
  param W: [H - 2, I]
  h' = tanh(W @ x + h)
  output h'
}`;
  it("CE401: a size left unbound names the size and where it is declared", async () => {
    const r = await compile(cell, { file: "c.cell", dims: { I: 3 } });
    expect(r.module).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span?.start.line, d.span?.start.column])).toEqual([
      ["CE401", "size 'H' is not bound: pass dims: { H: N } or give it a default", 1, 11],
    ]);
  });
  it("CE402: a binding that is not a positive integer", async () => {
    const r = await compile(cell, { file: "c.cell", dims: { I: 3, H: 2.5 } });
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE402", "size 'H' must be a positive integer, got 2.5"]]);
  });
  it("CE404: a size that is not positive once bound", async () => {
    const r = await compile(cell, { file: "c.cell", dims: { I: 3, H: 2 } });
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span?.start.line])).toEqual([["CE404", "'h' has size 0 after binding; sizes must be positive", 3]]);
  });
  it("CE216 at bind time: a slice past the end once sizes are known", async () => {
    const src = `cell s(H, K) {\n  input x: [H]\n  state h: [K]\n  h' = x[0:K] + h\n  output h'\n}`;
    expect((await compile(src, { dims: { H: 4, K: 3 } })).module).toBeDefined();
    const r = await compile(src, { file: "s.cell", dims: { H: 4, K: 5 } });
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span?.start.line, d.span?.start.column])).toEqual([
      ["CE216", "slice [0:5] is out of range for a vector of size 4", 4, 8],
    ]);
  });
  it("CE216 at check time when the overrun does not depend on the sizes", () => {
    const src = `cell s(H) {\n  input x: [H]\n  state h: [H]\n  h' = x[1:H + 1] + h\n  output h'\n}`;
    const { diagnostics } = check(src, { file: "s.cell" });
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([["CE216", "slice [1:H + 1] is out of range for a vector of size H"]]);
  });
  it("CE407: an unknown target names the targets there are", async () => {
    const r = await compile(cell, { file: "c.cell", dims: { I: 3, H: 4 }, target: "fortran" });
    expect(r.module).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE407", "unknown target 'fortran' (the targets are ts, wasm, torch, webgpu)"]]);
  });
  it("CE403: no such cell", async () => {
    const r = await compile(cell, { file: "c.cell", dims: { I: 3, H: 4 }, cell: "nope" });
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE403", "no cell or stack named 'nope' in c.cell"]]);
  });
  it("a missing spec file is a diagnostic, not an exception", async () => {
    const r = await buildFile("test/errors/no-such.cell", { dims: {} });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CE301"]);
  });
});

describe("pathological input", () => {
  it("a 10,000-term expression is a diagnostic with a short code frame, not a stack overflow", () => {
    const sum = Array.from({ length: 10_000 }, () => "h").join(" + ");
    const src = `cell deep(H) {\n  state h: [H]\n  h' = tanh(${sum})\n  output h'\n}\n`;
    const { diagnostics, sources } = check(src, { file: "deep.cell" });
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([["CE220", "expression is nested 10001 levels deep; the limit is 256"]]);
    const frame = formatDiagnostics(diagnostics, sources).split("\n");
    expect(frame).toHaveLength(3);
    for (const line of frame.slice(1)) expect(line.length).toBeLessThan(120);
    expect(frame[2]).toMatch(/^ {5}\| {8}\^+$/);
  });
});

describe("many errors in one file", () => {
  it("reports all of them at once, in order, with code frames", () => {
    const src = [
      "cell a(I, H) {", //               1
      "  input x: [I]", //               2
      "  state h: [H], c: [H]", //       3
      "  param W: [H, I], U: [H, H]", // 4
      "  y = W @ h", //                  5  CE201
      "  h' = tanh(U @ h + q)", //       6  CE203
      "  z = x + h", //                  7  CE202
      "  output h'", //                  8  (c never written: CE205 at 3:17)
      "}",
      "cell b(H) {",
      "  state h: [H]",
      "  h' = sigmoidd(h)", //           12 CE207
      "  output h'",
      "}",
    ].join("\n");
    const { diagnostics, sources } = check(src, { file: "many.cell" });
    expect(diagnostics.map((d) => `${d.code}@${d.span!.start.line}:${d.span!.start.column}`)).toEqual([
      "CE205@3:17",
      "CE201@5:7",
      "CE203@6:21",
      "CE202@7:9",
      "CE207@12:8",
    ]);
    const text = formatDiagnostics(diagnostics, sources);
    expect(text).toContain("many.cell:5:7 error CE201: cannot apply [H, I] @ [H]: inner sizes I and H differ\n   5 |   y = W @ h\n     |       ^^^^^");
  });
});
