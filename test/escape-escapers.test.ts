// The one escaper of each language, checked by that language itself over random strings (a
// fixed-seed slice of fast-check; adversarial pieces — triple quotes, backslashes, \N{...}, */,
// ;;, (;, line terminators, U+2028, NUL, ESC, lone surrogates — mixed into arbitrary code units):
//   TypeScript   the scanner reads the literal back as the string; a comment stays one token
//   Python       /usr/bin/python3 evaluates the literal and the docstring back to the string, and a
//                comment line compiles as a comment (one subprocess for the whole batch)
//   WAT          wabt assembles the literals as data segments whose bytes are the string's UTF-8,
//                and every comment line leaves the definition after it intact
//   ONNX         strings are what UTF-8 holds; doc strings show controls as escapes
// and the terminal form (grammar/visible.ts) holds no control character.

import { spawnSync } from "node:child_process";
import fc from "fast-check";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { onnxEscaper } from "../backends/onnx/escape.ts";
import { pyComment, pyDocstring, pyString } from "../backends/torch/python.ts";
import { tsComment, tsString } from "../backends/ts/escape.ts";
import { watComment, watString } from "../backends/wasm/escape.ts";
import { assemble } from "../backends/wasm/module.ts";
import { visible } from "../grammar/visible.ts";

const PIECES = ['"""', "'''", '"', "'", "\\", "\\N{BULLET}", "\\x", "\\u", "*/", "/*", "//", ";;", "(;", ";)", "#", "{", "}", "`", "${", "\n", "\r", "\r\n", "\u2028", "\u2029", "\0", "\x07", "\x1b]0;title\x07", "\x7f", "\u0085", "\u202e", "\ufeff", "\ud800", "\udfff", "\ud83d\ude00"];
const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.array(fc.oneof(fc.constantFrom(...PIECES), unit, fc.string({ unit: "binary", maxLength: 6 })), { maxLength: 24 }).map((a) => a.join(""));
const SAMPLE = [...PIECES, PIECES.join(""), ...fc.sample(text, { seed: 21, numRuns: 400 })];

/** The engine's WebAssembly API, as far as this test uses it (the project's lib has no types for it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object) => { exports: Record<string, unknown> };
}

/** The same string with lone surrogates as U+FFFD (what UTF-8 holds). */
const utf8 = (s: string) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(new TextEncoder().encode(s));

describe("the TypeScript escaper, read back by the TypeScript scanner", () => {
  const tokens = (source: string): { kind: ts.SyntaxKind; value: string }[] => {
    const sc = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, source);
    const out: { kind: ts.SyntaxKind; value: string }[] = [];
    for (let k = sc.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = sc.scan()) out.push({ kind: k, value: sc.getTokenValue() });
    return out;
  };

  it("a string literal scans as one string token whose value is the string", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(tokens(tsString(s))).toEqual([{ kind: ts.SyntaxKind.StringLiteral, value: s }]);
      }),
      { seed: 21, numRuns: 500, examples: PIECES.map((p) => [p]) },
    );
  });

  it("comment text stays inside a line comment, a block comment and a doc comment", () => {
    const K = ts.SyntaxKind;
    for (const s of SAMPLE) {
      const c = tsComment(s);
      expect(tokens(`// ${c}\nx`).map((t) => t.kind)).toEqual([K.SingleLineCommentTrivia, K.NewLineTrivia, K.Identifier]);
      expect(tokens(`/* ${c} */x`).map((t) => t.kind)).toEqual([K.MultiLineCommentTrivia, K.Identifier]);
      expect(tokens(`/** ${c} */x`).map((t) => t.kind)).toEqual([K.MultiLineCommentTrivia, K.Identifier]);
      expect(c).not.toMatch(/[\0-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/);
    }
  });
});

describe("the Python escaper, read back by /usr/bin/python3", () => {
  const python = spawnSync("/usr/bin/python3", ["-c", "pass"]).status === 0;
  it.skipIf(!python)("literals and docstrings evaluate to the string; a comment line is only a comment", () => {
    const script = [
      "import ast, json, sys",
      "out = []",
      "for lit, comment, doc in json.load(sys.stdin):",
      "    value = ast.literal_eval(lit)",
      "    env = {}",
      "    exec(compile('# ' + comment + '\\nx = 1\\ndef f():\\n    ' + doc + '\\n', '<t>', 'exec'), env)",
      "    out.append([value, env['x'], env['f'].__doc__, sorted(k for k in env if k != '__builtins__')])",
      "json.dump(out, sys.stdout)",
    ].join("\n");
    const jobs = SAMPLE.map((s) => [pyString(s), pyComment(s), pyDocstring(s)]);
    const r = spawnSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify(jobs), encoding: "utf8", maxBuffer: 64 << 20 });
    expect(r.stderr).toBe("");
    const results = JSON.parse(r.stdout) as [string, number, string, string[]][];
    expect(results.length).toBe(SAMPLE.length);
    results.forEach(([value, x, doc, names], i) => {
      expect(value).toBe(SAMPLE[i]);
      expect(doc).toBe(SAMPLE[i]);
      expect([x, names]).toEqual([1, ["f", "x"]]);
    });
  });
});

describe("the WebAssembly text escaper, read back by wabt", () => {
  it("string literals assemble to the string's UTF-8; a `;;` comment never ends early", async () => {
    const bytes = SAMPLE.map((s) => new TextEncoder().encode(utf8(s)));
    const offsets: number[] = [];
    let at = 0;
    for (const b of bytes) (offsets.push(at), (at += b.length));
    const pages = Math.max(1, Math.ceil(at / 65536));
    const wat = [
      "(module",
      `  (memory (export "m") ${pages})`,
      ...SAMPLE.flatMap((s, i) => [`  ;; ${watComment(s)}`, `  (global (export "g${i}") i32 (i32.const ${i}))`, `  (data (i32.const ${offsets[i]}) ${watString(s)})`]),
      ")",
    ].join("\n");
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const inst = new wasm.Instance(new wasm.Module(await assemble(wat, "escapes")));
    const mem = new Uint8Array((inst.exports["m"] as { buffer: ArrayBuffer }).buffer);
    SAMPLE.forEach((_, i) => {
      expect(Array.from(mem.subarray(offsets[i]!, offsets[i]! + bytes[i]!.length))).toEqual(Array.from(bytes[i]!));
      expect((inst.exports[`g${i}`] as { value: number }).value).toBe(i);
    });
    expect(Object.keys(inst.exports).length).toBe(SAMPLE.length + 1);
  });
});

describe("the ONNX escaper and the terminal form", () => {
  it("ONNX strings are the string as UTF-8 holds it; doc strings and terminal text hold no control character", () => {
    for (const s of SAMPLE) {
      expect(onnxEscaper.string(s)).toBe(utf8(s));
      for (const shown of [onnxEscaper.comment(s), visible(s)]) {
        expect(shown).not.toMatch(/[\0-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/);
        expect(utf8(shown)).toBe(shown); // no lone surrogate
      }
    }
    expect(visible("a\x1b[2Jb\x07\n\u2028\ud800é😀")).toBe("a\\x1b[2Jb\\x07\\n\\u2028\\ud800é😀");
  });
});
