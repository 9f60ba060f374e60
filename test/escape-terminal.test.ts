// Spec text that would act on a terminal (ESC starts an escape sequence that can set the window
// title or clear the screen, BEL rings) reaches it only as escapes: `cellc check` in a child
// process prints a file name and a code frame holding them as `\x1b`, `\x07`, with the caret
// still under the span; and formatDiagnostic keeps the caret aligned for any line (fast-check).

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../grammar/diagnostics.ts";
import { SourceText } from "../grammar/source.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cellc-terminal-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Any control character a terminal acts on (all C0 but tab and line feed, DEL, C1). */
const CONTROL = /[\0-\x08\x0b-\x1f\x7f-\x9f]/;

function cellc(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "cli/bin/cellc.mjs"), ...args], { cwd: work, encoding: "utf8" }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

const spec = (line5: string, line6 = "  output h'") =>
  ["cell rnn(I, H) {", "  input x: [I]", "  state h: [H]", "  param W: [H, I], U: [H, H], b: [H]", line5, line6, "}", ""].join("\n");

/** The column (0-based, in the frame's text) of the first caret, and the frame's source line. */
function frame(out: string): { line: string; caret: number } {
  const lines = out.split("\n");
  const i = lines.findIndex((l) => /^ +\| +\^/.test(l));
  return { line: lines[i - 1]!, caret: lines[i]!.indexOf("^") };
}

describe("cellc check shows control characters from a spec as escapes", () => {
  it("in the file name, the code frame and the message, with the caret under the span", async () => {
    const name = "bad\x1b]0;owned\x07\x9b2J.cell";
    writeFileSync(join(work, name), spec("  h' = /* \x1b[2J\x1b]0;title\x07 */ tanh(W @ x + q)"));
    const r = await cellc("check", name);
    expect(r.code).toBe(1);
    const all = r.out + r.err;
    expect(all).not.toMatch(CONTROL);
    expect(all).toContain("bad\\x1b]0;owned\\x07\\x9b2J.cell:5:42 error CE203: unknown name 'q'");
    const f = frame(all);
    expect(f.line).toBe("   5 |   h' = /* \\x1b[2J\\x1b]0;title\\x07 */ tanh(W @ x + q)");
    expect(f.line[f.caret]).toBe("q");
  });

  it("a stray control character is named, and the caret covers its escape", async () => {
    writeFileSync(join(work, "stray.cell"), spec("  h' = tanh(W @ x + U @ h + b)", "  output h' \x07"));
    const r = await cellc("check", "stray.cell");
    expect(r.code).toBe(1);
    expect(r.out + r.err).not.toMatch(CONTROL);
    const f = frame(r.out + r.err);
    expect(f.line).toBe("   6 |   output h' \\x07");
    expect(f.line.slice(f.caret)).toBe("\\x07");
    expect(f.caret + 4).toBe((r.out + r.err).split("\n").find((l) => l.includes("^"))!.trimEnd().length);
  });
});

describe("formatDiagnostic", () => {
  it("puts the caret under the span whatever controls, tabs and escapes come before it", () => {
    const noise = fc.array(fc.constantFrom("a", " ", "\t", "\x1b", "\x07", "\0", "\x7f", "\x85", "\u202e", "\ufeff", "\ud800", "😀", "\\", "é"), { maxLength: 30 }).map((a) => a.join(""));
    fc.assert(
      fc.property(noise, noise, (before, after) => {
        const text = `${before}TARGET${after}`;
        const src = new SourceText("f.cell", text);
        const at = before.length;
        const out = formatDiagnostic({ code: "CE203", severity: "error", message: "unknown name 'TARGET'", span: src.span(at, at + 6) }, src);
        expect(out).not.toMatch(CONTROL);
        const f = frame(out);
        expect(f.line.slice(f.caret, f.caret + 6)).toBe("TARGET");
        expect(out.split("\n")[2]!.trimEnd().endsWith("^^^^^^")).toBe(true);
      }),
      { seed: 3, numRuns: 300 },
    );
  });
});
