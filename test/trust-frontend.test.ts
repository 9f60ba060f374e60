// Regression tests for the front-end defects of issue 8 (Trust): line terminators and the comment
// sanitizer (3), names that are Object.prototype members (4), size expressions that are long or
// blow up when normalised (5), huge sizes (6), check and build agreeing (11), folding equal to
// running (12) and diagnostics without cascades, with hints, warnings and caller-specific text (13).

import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { tsComment } from "../backends/ts/escape.ts";
import { buildFile, check, compile, CompileError, formatDiagnostics, loadCell, type DimsSource } from "../driver/index.ts";
import { POINTWISE_FUNCTIONS } from "../compiler/functions.ts";
import { sizeOf } from "../compiler/check.ts";
import { parse, type CellDecl, type Diagnostic, type StateDecl } from "../grammar/index.ts";
import { loadKernel } from "../jit/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "cellc-trust-"));
const g = globalThis as { PWNED?: unknown };

/** Deterministic generator for the small randomized checks below (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const codes = (ds: readonly { code: string }[]) => ds.map((d) => d.code);
const rnnCell = (line: string) =>
  `cell c(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I], U: [H, H], b: [H]\n${line}\n  output h'\n}\n`;

/** forward over one step with a batch of 2 and zero parameters but b = 0.1. */
function runOnce(k: CellKernel): Tensors {
  const params = k.createParams({ zeros: true });
  params["b"]?.fill(0.1);
  const inputs: Tensors = {};
  for (const i of k.meta.inputs) inputs[i.name] = new Float32Array(2 * i.size).fill(0.5);
  return k.forward(params, inputs, { batchSize: 2 }).outputs;
}

describe("defect 3: line terminators end comments, and spec text reaches generated code only as comments", () => {
  const injected = 'globalThis.PWNED = "injected";';

  for (const [label, lt] of [["a lone CR", "\r"], ["U+2028", "\u2028"], ["U+2029", "\u2029"]] as const) {
    it(`${label} ends a // comment: what follows is spec text, checked as such, and never runs`, async () => {
      const src = rnnCell(`  h' = tanh(W @ x + U @ h + b) // note${lt}${injected}`);
      const { diagnostics } = check(src, { file: "evil.cell" });
      // The injected text is now on a line of its own: `.` is no character of the language.
      expect(diagnostics[0]).toMatchObject({ code: "CE101", span: { start: { line: 6, column: 11 } } });
      const built = await compile(src, { file: "evil.cell", dims: { I: 2, H: 3 } });
      expect(built.module).toBeUndefined();
      await expect(loadCell(src, { file: "evil.cell", dims: { I: 2, H: 3 } })).rejects.toBeInstanceOf(CompileError);
      expect(g.PWNED).toBeUndefined();
    });
  }

  it("old Mac (CR-only) and mixed line endings give the same lines, columns and code frames as LF", () => {
    const lines = ["cell c(H) {", "  state h: [H]", "  h' = tanh(h + q)", "  output h'", "}"];
    const lf = check(lines.join("\n"), { file: "a.cell" });
    for (const text of [lines.join("\r"), lines.join("\r\n"), lines.join("\u2028"), "cell c(H) {\r  state h: [H]\r\n  h' = tanh(h + q)\u2029  output h'\n}"]) {
      const r = check(text, { file: "a.cell" });
      const at = (ds: typeof lf.diagnostics) => ds.map((d) => [d.code, d.message, d.span!.start.line, d.span!.start.column, d.span!.end.line, d.span!.end.column]);
      expect(at(r.diagnostics)).toEqual(at(lf.diagnostics));
      expect(formatDiagnostics(r.diagnostics, r.sources)).toBe(formatDiagnostics(lf.diagnostics, lf.sources));
    }
    expect(lf.diagnostics.map((d) => [d.code, d.span!.start.line, d.span!.start.column])).toEqual([["CE203", 3, 17]]);
    expect(formatDiagnostics(lf.diagnostics, lf.sources)).toContain("   3 |   h' = tanh(h + q)\n     |                 ^");
  });

  it("a string literal cannot span a lone CR or U+2028 either", () => {
    const r = parse('import { a } from "x\u2028y.cell"\n', "s.cell");
    expect(codes(r.diagnostics)).toContain("CE104");
  });

  it("a valid spec whose text and file name hold line terminators and */ builds, loads and runs; none of it becomes code", async () => {
    // The block comment spans a CR; its first line is the spec line the kernel's comments quote.
    const src = rnnCell(`  h' = tanh(W @ x + U @ h + b) /* note\r${injected} */ /* a */ /*\u2028${injected} */`);
    const file = `evil\r${injected}\u2028${injected}\u2029*/${injected}/*\n.cell`;
    expect(check(src, { file }).diagnostics).toEqual([]);
    for (const optimize of [true, false]) {
      const r = await compile(src, { file, dims: { I: 2, H: 3 }, optimize, format: false });
      expect(r.module, formatDiagnostics(r.diagnostics, r.sources)).toBeDefined();
      const code = r.module!.code;
      expect(code).not.toMatch(/[\r\u2028\u2029]/);
      // Every line holding spec text is a comment that stays one.
      for (const line of code.split("\n").filter((l) => l.includes("PWNED"))) {
        expect(line.trimStart().startsWith("//")).toBe(true);
        expect(line).not.toContain("*/");
      }
      const k = await loadCell(src, { file, dims: { I: 2, H: 3 }, optimize });
      const out = runOnce(k);
      expect(Array.from(out["h"]!).map((v) => +v.toFixed(6))).toEqual(Array(6).fill(+Math.tanh(0.1).toFixed(6)));
    }
    expect(g.PWNED).toBeUndefined();
  });

  it("tsComment shows every line terminator as an escape and breaks every */, and what it returns stays inside a comment", () => {
    expect(tsComment("a\nb\rc\u2028d\u2029e")).toBe("a\\nb\\rc\\u2028d\\u2029e");
    expect(tsComment("x */ y")).toBe("x *\\/ y");
    expect(tsComment("**//")).toBe("**\\//");
    expect(tsComment("*\r/")).toBe("*\\r/");
    const r = rng(7);
    const alphabet = ["*", "/", "\n", "\r", "\u2028", "\u2029", "a", " ", "`", "'", '"', "\\", ";", "x=1", "\u2027", "\u0085"];
    for (let n = 0; n < 2000; n++) {
      const s = Array.from({ length: int(r, 0, 24) }, () => pick(r, alphabet)).join("");
      const c = tsComment(s);
      expect(c).not.toMatch(/[\n\r\u2028\u2029]|\*\//);
      // JavaScript itself agrees: in both kinds of comment the text is inert.
      expect(new Function(`// ${c}\nreturn 1;`)()).toBe(1);
      expect(new Function(`/* ${c} */ return 2;`)()).toBe(2);
    }
  });
});

describe("defect 4: sizes named like Object.prototype members bind through dims", () => {
  const names = ["toString", "constructor", "valueOf", "hasOwnProperty", "__proto__", "isPrototypeOf"];
  const spec = (n: string) => `cell t(${n}, K) {\n  input x: [K]\n  state h: [${n}]\n  param W: [${n}, K]\n  h' = tanh(W @ x + h)\n  output h'\n}`;

  for (const n of names) {
    it(`'${n}' binds to the value given, and only that`, async () => {
      // JSON.parse makes an own property even of __proto__, as a config file or a script would.
      const dims = JSON.parse(`{ "${n}": 3, "K": 2 }`) as Record<string, number>;
      const r = await compile(spec(n), { file: "t.cell", dims, format: false });
      expect(r.diagnostics).toEqual([]);
      expect(r.module!.meta.params.map((p) => p.shape)).toEqual([[3, 2]]);
      expect(Object.hasOwn(r.module!.dims, n) && r.module!.dims[n]).toBe(3);
      const none = await compile(spec(n), { file: "t.cell", dims: { K: 2 } });
      expect(none.diagnostics.map((d) => [d.code, d.message])).toEqual([
        ["CE401", `size '${n}' is not bound: pass dims: { ${n}: N } or give it a default`],
      ]);
    });
  }

  it("a stack whose layer's size is named __proto__ lowers with the right sizes", async () => {
    const src = `cell c(__proto__) {\n  input x: [__proto__]\n  state h: [__proto__]\n  h' = tanh(x + h)\n  output h'\n}\nstack s(H) {\n  layer c(H)\n  layer c(H)\n}`;
    const r = await compile(src, { dims: { H: 4 }, format: false });
    expect(r.diagnostics).toEqual([]);
    expect(r.module!.meta.states.map((s) => [s.name, s.size])).toEqual([["l0_h", 4], ["l1_h", 4]]);
  });

  it("a spec file named like a prototype member is checked, built and formatted", async () => {
    for (const file of ["__proto__", "toString", "constructor"]) {
      const bad = check(`cell c(H) {\n  state h: [H]\n  h' = q\n  output h'\n}`, { file });
      expect(formatDiagnostics(bad.diagnostics, bad.sources)).toMatch(new RegExp(`^${file}:3:8 error CE203: unknown name 'q'`));
      const r = await compile(`cell c(H) {\n  state h: [H]\n  h' = tanh(h)\n  output h'\n}`, { file, dims: { H: 2 }, format: false });
      expect(r.module?.code).toContain(`// Generated by cellc from ${file}: cell c with H=2.`);
    }
  });

  it("functions and initializers named like prototype members are unknown, not crashes", () => {
    const src = `cell c(H) {\n  state h: [H]\n  param b: [H] = constructor\n  h' = toString(h) + b\n  output h'\n}`;
    expect(codes(check(src).diagnostics)).toEqual(["CE213", "CE207"]);
  });
});

describe("defect 5: long and exploding size expressions are bounded, coded diagnostics", () => {
  const withState = (dims: string, size: string) => `cell c(${dims}) {\n  state h: [${size}]\n  h' = h\n  output h'\n}`;

  it("7,000 factors H*H*...*H: CE221, no stack overflow", () => {
    const { diagnostics } = check(withState("H", Array(7000).fill("H").join("*")));
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["CE221", "size expression is too large: more than 1000 numbers, names and operators"],
    ]);
  });

  for (const n of [24, 30]) {
    it(`(A+B+C+D+E+H) to the ${n}th: CE221 without expanding it`, () => {
      const { diagnostics } = check(withState("A, B, C, D, E, H", Array(n).fill("(A+B+C+D+E+H)").join("*")));
      expect(codes(diagnostics)).toEqual(["CE221"]);
      expect(diagnostics[0]!.message).toMatch(/terms; the limit is 256$/);
    });
  }

  it("the limits are generous: degree 8 and 252 terms are fine, degree 9 is not", () => {
    expect(check(withState("H", Array(8).fill("H").join("*"))).diagnostics).toEqual([]);
    // (A+B+C+D+E+H)^5 has C(10, 5) = 252 terms.
    expect(check(withState("A, B, C, D, E, H", Array(5).fill("(A+B+C+D+E+H)").join("*"))).diagnostics).toEqual([]);
    expect(check(withState("H", Array(9).fill("H").join("*"))).diagnostics[0]!.message).toBe(
      "size expression is too large: a term of degree 9; the limit is 8",
    );
    expect(codes(check(withState("H", "99999999999999999999 * H")).diagnostics)).toEqual(["CE221"]);
  });

  it("a stack cannot push a layer's sizes past the limits", () => {
    const src = `cell c(H) {\n  input x: [H*H*H*H]\n  state h: [H*H*H*H]\n  h' = x + h\n  output h'\n}\nstack s(H) {\n  layer c(H*H*H)\n}`;
    expect(check(src).diagnostics.map((d) => [d.code, d.message, d.span?.start.line])).toEqual([
      ["CE221", "size expression is too large: a term of degree 9; the limit is 8", 8],
    ]);
  });

  it("normalised sizes evaluate like the written expression under random bindings (BigInt reference)", () => {
    const r = rng(11);
    const names = ["A", "B", "H"];
    type E = { text: string; value: (b: Record<string, bigint>) => bigint };
    const gen = (depth: number): E => {
      if (depth === 0 || r() < 0.25) {
        const n = r() < 0.4 ? String(int(r, 0, 9)) : pick(r, names);
        return { text: n, value: (b) => b[n] ?? BigInt(n) };
      }
      const [a, c] = [gen(depth - 1), gen(depth - 1)];
      const op = pick(r, ["+", "-", "*"] as const);
      const value = (b: Record<string, bigint>) =>
        op === "+" ? a.value(b) + c.value(b) : op === "-" ? a.value(b) - c.value(b) : a.value(b) * c.value(b);
      return { text: `(${a.text} ${op} ${c.text})`, value };
    };
    let compared = 0;
    let nonPositive = 0;
    for (let n = 0; n < 300; n++) {
      const e = gen(4);
      const ast = parse(`cell c(A, B, H) {\n  state h: [${e.text}]\n}`, "r.cell").ast;
      const decl = ast.decls[0] as CellDecl;
      const sizeExpr = (decl.body[0] as StateDecl).vars[0]!.shape.dims[0]!;
      const out: Diagnostic[] = [];
      const size = sizeOf(sizeExpr, new Set(names), "A, B, H", out);
      if (!size) {
        expect(codes(out)).toEqual(["CE221"]); // past the degree limit: reported, not expanded
        continue;
      }
      for (let k = 0; k < 5; k++) {
        const b = { A: int(r, 1, 6), B: int(r, 1, 6), H: int(r, 1, 6) };
        const big = { A: BigInt(b.A), B: BigInt(b.B), H: BigInt(b.H) };
        expect(BigInt(size.evaluate(b)!), `${e.text} = ${size} at ${JSON.stringify(b)}`).toBe(e.value(big));
        // Sound sign reasoning: "never positive" holds at every binding it is claimed for.
        if (size.alwaysNonPositive()) expect(e.value(big) <= 0n, `${e.text} = ${size}`).toBe(true);
      }
      if (size.alwaysNonPositive()) nonPositive++;
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
    expect(nonPositive).toBeGreaterThan(10);
  });
});

describe("defect 6: one rule for huge sizes, in every caller", () => {
  const lstm = `cell lstm(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I], U: [H, H], b: [H]\n  h' = tanh(W @ x + U @ h + b)\n  output h'\n}`;

  it("a binding that is not a safe positive integer is CE402, as on the command line", async () => {
    for (const [H, shown] of [
      [1e20, "100000000000000000000 (larger than 2^53 - 1)"],
      [2 ** 53, "9007199254740992 (larger than 2^53 - 1)"],
      [Infinity, "Infinity"],
      [NaN, "NaN"],
      [-3, "-3"],
      ["3", 'the string "3"'],
    ] as const) {
      const r = await compile(lstm, { dims: { I: 2, H: H as number } });
      expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE402", `size 'H' must be a positive integer, got ${shown}`]]);
    }
  });

  it("an array past 2^31 - 1 elements is CE406, naming it and its element count; nothing is built", async () => {
    const r = await compile(lstm, { file: "lstm.cell", dims: { I: 2, H: 99999999999 } });
    expect(r.module).toBeUndefined();
    const msgs = r.diagnostics.map((d) => `${d.code} ${d.span?.start.line}:${d.span?.start.column} ${d.message}`);
    const limit = "an array holds at most 2,147,483,647 (2^31 - 1)";
    expect(msgs).toEqual([
      `CE406 3:9 state 'h' (per sample and step) would hold 99,999,999,999 elements; ${limit}`,
      `CE406 4:9 parameter 'W' [99,999,999,999, 2] would hold 199,999,999,998 elements; ${limit}`,
      `CE406 4:20 parameter 'U' [99,999,999,999, 99,999,999,999] would hold 9,999,999,999,800,000,000,000 elements; ${limit}`,
      `CE406 4:31 parameter 'b' [99,999,999,999] would hold 99,999,999,999 elements; ${limit}`,
    ]);
  });

  it("the limit is exact: 46,340² fits, 46,341² does not; a local made by concat counts too", async () => {
    const sq = (H: number) => compile(lstm, { dims: { I: 1, H }, format: false, optimize: false });
    expect((await sq(46340)).diagnostics).toEqual([]);
    const over = await sq(46341);
    expect(codes(over.diagnostics)).toEqual(["CE406"]);
    expect(over.diagnostics[0]!.message).toContain("2,147,488,281 elements");
    const cat = `cell c(H) {\n  input x: [H]\n  state h: [H]\n  y = concat(x, x, x)\n  h' = y[0:H] + h\n  output h'\n}`;
    const r = await compile(cat, { file: "c.cell", dims: { H: 1_000_000_000 } });
    expect(r.diagnostics.map((d) => [d.code, d.span?.start.line, d.message])).toEqual([
      ["CE406", 4, "local 'y' (per sample and step) would hold 3,000,000,000 elements; an array holds at most 2,147,483,647 (2^31 - 1)"],
    ]);
  });

  it("loadCell with a huge binding throws CompileError, never a RangeError", async () => {
    const err = await loadCell(lstm, { dims: { I: 2, H: 99999999999 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect((err as CompileError).diagnostics.every((d) => d.code === "CE406")).toBe(true);
  });
});

describe("defect 11: check reports what every build would report", () => {
  it("y[H:2*H] on a [H] vector: CE216 from check and from build", async () => {
    const src = `cell s(H) {\n  input y: [H]\n  state h: [H]\n  h' = y[H:2*H] + h\n  output h'\n}`;
    const fromCheck = check(src, { file: "s.cell" }).diagnostics.map((d) => [d.code, d.message, d.span?.start.line]);
    expect(fromCheck).toEqual([["CE216", "slice [H:2*H] is out of range for a vector of size H", 4]]);
    for (const H of [1, 2, 7]) {
      const built = await compile(src, { file: "s.cell", dims: { H } });
      expect(codes(built.diagnostics)).toEqual(["CE216"]);
    }
  });

  it("slices a*H + b : c*H + d on [H]: CE216 from check exactly when a bind-time condition fails for every H", () => {
    const r = rng(3);
    let provable = 0;
    for (let n = 0; n < 300; n++) {
      const [a, b, c, d] = [int(r, -2, 2), int(r, -4, 4), int(r, -2, 2), int(r, -4, 4)];
      const bound = (k: number, m: number) => `0 ${k < 0 ? "-" : "+"} ${Math.abs(k)}*H ${m < 0 ? "-" : "+"} ${Math.abs(m)}`;
      const src = `cell s(H) {\n  input y: [H]\n  state h: [H]\n  z = y[${bound(a, b)}:${bound(c, d)}]\n  h' = h\n  output h', z\n}`;
      // Reference: the build's conditions (0 <= lo, hi <= H, lo < hi) evaluated for H = 1..40.
      const Hs = Array.from({ length: 40 }, (_, i) => i + 1);
      const loNegative = Hs.every((H) => a * H + b < 0);
      const pastEnd = Hs.every((H) => c * H + d > H);
      const empty = Hs.every((H) => c * H + d <= a * H + b);
      const failsEverywhere = Hs.every((H) => a * H + b < 0 || c * H + d > H || c * H + d <= a * H + b);
      const got = codes(check(src).diagnostics);
      expect(got.filter((c) => c !== "CE216")).toEqual([]);
      const reported = got.includes("CE216");
      const what = `y[${bound(a, b)}:${bound(c, d)}]`;
      expect(reported, what).toBe(loNegative || pastEnd || empty);
      if (reported) expect(failsEverywhere, what).toBe(true); // never a false alarm
      if (reported) provable++;
    }
    expect(provable).toBeGreaterThan(50);
  });

  it("sizes and layer sizes that are never positive: CE404 from check, as from every build", async () => {
    for (const size of ["H - H", "1 - H", "H - 2*H", "2 - 2*H*H"]) {
      const src = `cell c(H) {\n  state h: [${size}]\n  h' = h\n  output h'\n}`;
      expect(check(src).diagnostics.map((d) => [d.code, d.span?.start.line]), size).toEqual([["CE404", 2]]);
      expect(codes((await compile(src, { dims: { H: 1 } })).diagnostics)).toEqual(["CE404"]);
    }
    const stack = `cell c(H) {\n  state h: [H]\n  h' = h\n  output h'\n}\nstack s(H) {\n  layer c(H - H)\n}`;
    expect(check(stack).diagnostics.map((d) => [d.code, d.message])).toEqual([["CE404", "'H' has size 0 after binding; sizes must be positive"]]);
    // H*H - 4*H + 4 = (H - 2)^2 is zero only at H = 2: not provable, left to the build.
    expect(check(`cell c(H) {\n  state h: [H*H - 4*H + 4]\n  h' = h\n  output h'\n}`).diagnostics).toEqual([]);
  });

  it("an empty or comment-only spec gets CE307 at 1:1 from check, compile and buildFile alike", async () => {
    for (const text of ["", "// only a comment\n", "/* a block */\r\n\r\n", "   \n\t"]) {
      const file = join(tmp, "empty.cell");
      writeFileSync(file, text);
      const want = [["CE307", `${file} declares no cell or stack`, 1, 1]];
      const at = (ds: readonly Diagnostic[]) => ds.map((d) => [d.code, d.message, d.span?.start.line, d.span?.start.column]);
      expect(at(check(text, { file }).diagnostics)).toEqual(want);
      expect(at((await compile(text, { file })).diagnostics)).toEqual(want);
      expect(at((await buildFile(file)).diagnostics)).toEqual(want);
    }
    // A syntax error already says why nothing was declared.
    expect(codes(check("garbage", { file: "g.cell" }).diagnostics)).toEqual(["CE102"]);
  });
});

describe("defect 12: a folded function equals the function run in a float64 kernel", () => {
  // Constants as spec text: NaN and the infinities are written as expressions that fold to them.
  const grid: [string, number][] = [
    ["800", 800], ["-800", -800], ["1e-30", 1e-30], ["-1e-30", -1e-30], ["0", 0], ["1", 1], ["-1", -1],
    ["0.5", 0.5], ["20", 20], ["20.5", 20.5], ["-20", -20], ["36", 36], ["-745", -745], ["709", 709], ["710", 710],
    ["3.5", 3.5], ["-2.5", -2.5], ["log(-1)", NaN], ["exp(800)", Infinity], ["-exp(800)", -Infinity],
  ];
  const calls: [string, (x: string) => string][] = [
    ...POINTWISE_FUNCTIONS.map((f): [string, (x: string) => string] => [f, (x) => `${f}(${x})`]),
    ["clip", (x) => `clip(${x}, -1, 2.5)`],
  ];
  const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

  it("covers every scalar function of the language", () => {
    expect(new Set(calls.map(([f]) => f))).toEqual(new Set([...POINTWISE_FUNCTIONS, "clip"]));
  });

  for (const [f, call] of calls) {
    it(`${f}: folded at build time, run in the kernel (plain and optimised), on ${grid.length} points`, async () => {
      const N = grid.length;
      // Folded: every output is x * 0 + f(constant), with x = 0, so the kernel adds 0 to the fold.
      const folded = `cell fd(N) {\n  input x: [N]\n${grid.map(([c], i) => `  y${i} = x * 0 + ${call(c)}\n`).join("")}  output ${grid.map((_, i) => `y${i}`).join(", ")}\n}`;
      const kf = await loadCell(folded, { dims: { N: 1 }, dtype: "float64" });
      const fo = kf.forward(kf.createParams(), { x: new Float64Array(1) as unknown as Float32Array }, { batchSize: 1 }).outputs;
      // Run: the same function of an input vector holding the grid, one sample per point.
      const run = `cell rt(N) {\n  input x: [N]\n  y = ${call("x")}\n  output y\n}`;
      for (const optimize of [false, true]) {
        const kr = await loadCell(run, { dims: { N: 1 }, dtype: "float64", optimize });
        const xs = new Float64Array(grid.map(([, v]) => v));
        const ro = kr.forward(kr.createParams(), { x: xs as unknown as Float32Array }, { batchSize: N }).outputs["y"]!;
        grid.forEach(([c], i) => {
          const atBuild = fo[`y${i}`]![0]!;
          expect(same(atBuild, ro[i]!), `${call(c)}: folded ${atBuild}, run ${ro[i]} (optimize ${optimize})`).toBe(true);
        });
      }
    });
  }

  it("softplus(800) is 800 both ways (it was Infinity when folded)", async () => {
    const k = await loadCell(`cell c(N) {\n  input x: [N]\n  y = x * 0 + softplus(800)\n  output y\n}`, { dims: { N: 1 }, dtype: "float64" });
    expect(k.forward(k.createParams(), { x: new Float64Array(1) as unknown as Float32Array }, { batchSize: 1 }).outputs["y"]![0]).toBe(800);
  });
});

describe("defect 13: diagnostics without cascades, with hints, warnings and the caller's own words", () => {
  const at = (src: string) => check(src, { file: "d.cell" }).diagnostics.map((d) => [d.code, d.severity, d.message, d.span?.start.line]);

  it("a state never written is CE205 only, even where h' is read", () => {
    expect(at(`cell c(H) {\n  input y: [H]\n  state h: [H]\n  z = y\n  output h', z\n}`)).toEqual([
      ["CE205", "error", "state 'h' is never written: add h' = ...", 3],
    ]);
    // Read before the statement that writes it is still CE211.
    expect(at(`cell c(H) {\n  state h: [H]\n  z = h' + h\n  h' = h\n  output h', z\n}`).map((d) => d[0])).toEqual(["CE211"]);
  });

  it("y' for a non-state is reported once, at its first use", () => {
    expect(at(`cell c(H) {\n  input y: [H]\n  state h: [H]\n  h' = h + y'\n  y' = h\n  output h', y'\n}`)).toEqual([
      ["CE210", "error", "'y' is not a state, so y' is not defined", 4],
    ]);
  });

  it("a state whose size has an error is still a state: no CE210 for writing it", () => {
    expect(at(`cell c(H) {\n  state h: [K]\n  h' = h\n  output h'\n}`).map((d) => d[0])).toEqual(["CE215"]);
  });

  it("did you mean: for close unknown functions, names and sizes; nothing for a far one", () => {
    const src = (body: string) => `cell c(I, H) {\n  input x: [I]\n  state h: [H]\n  param W_f: [H, I]\n${body}\n  output h'\n}`;
    expect(at(src(`  h' = sigmoidd(W_f @ x) + h`))[0]![2]).toBe("unknown function 'sigmoidd'; did you mean 'sigmoid'?");
    expect(at(src(`  h' = tnah(W_f @ x) + h`))[0]![2]).toBe("unknown function 'tnah'; did you mean 'tanh'?");
    expect(at(src(`  h' = tanh(W_ff @ x) + h`))[0]![2]).toBe("unknown name 'W_ff'; did you mean 'W_f'?");
    expect(at(src(`  h' = tanh(w_f @ x) + h`))[0]![2]).toBe("unknown name 'w_f'; did you mean 'W_f'?");
    expect(at(src(`  h' = tanh(W_f @ x) + q`))[0]![2]).toBe("unknown name 'q'");
    expect(at(src(`  h' = mish(W_f @ x) + h`))[0]![2]).toBe("unknown function 'mish'");
    expect(at(`cell c(H) {\n  state s: [h]\n  s' = s\n  output s'\n}`)[0]![2]).toBe("unknown size 'h' (the cell declares H); did you mean 'H'?");
    const cell = `cell lstm(H) {\n  state h: [H]\n  h' = h\n  output h'\n}\n`;
    expect(at(`${cell}stack s(H) {\n  layer lstn(H)\n}`)[0]![2]).toBe("unknown cell 'lstn'; did you mean 'lstm'?");
  });

  it("unused parameters, inputs and locals are warnings with their own codes; the spec still builds", async () => {
    const src = `cell c(I, H) {\n  input x: [I], u: [I]\n  state h: [H]\n  param W: [H, I], V: [H, H]\n  g = tanh(h)\n  h' = tanh(W @ x + h)\n  output h'\n}`;
    expect(at(src)).toEqual([
      ["CE223", "warning", "input 'u' is never used; callers must still pass it", 2],
      ["CE222", "warning", "parameter 'V' is never used; it is still counted and trained (its gradient is always zero)", 4],
      ["CE224", "warning", "local 'g' is never used", 5],
    ]);
    const r = await compile(src, { dims: { I: 2, H: 3 }, format: false });
    expect(r.module?.meta.paramCount).toBe(3 * 2 + 3 * 3); // V still counted
    expect(codes(r.diagnostics)).toEqual(["CE223", "CE222", "CE224"]);
  });

  it("`cellc check` exits 0 with warnings only", async () => {
    const file = join(tmp, "warn.cell");
    writeFileSync(file, `cell c(H) {\n  state h: [H]\n  param V: [H]\n  h' = tanh(h)\n  output h'\n}\n`);
    const run = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [join(root, "cli/bin/cellc.mjs"), "check", file], (e, stdout, stderr) =>
        resolve({ code: e ? Number(e.code) : 0, out: stdout + stderr }),
      ),
    );
    expect(run.out).toContain("warning CE222: parameter 'V' is never used");
    expect(run.code).toBe(0);
  });

  it("a dims name equal to a declared size only up to case is CE405, in the caller's words", async () => {
    const lstmp = `cell lstmp(I, H, P = 32) {\n  input x: [I]\n  state h: [P]\n  param W: [P, I]\n  h' = tanh(W @ x + h)\n  output h'\n}`;
    const r = await compile(lstmp, { file: "p.cell", dims: { I: 2, H: 3, p: 4 } });
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span?.start.line, d.span?.start.column])).toEqual([
      ["CE405", "dims binds 'p', but 'lstmp' declares 'P': size names are case-sensitive", 1, 18],
    ]);
    const cli = await compile(lstmp, { dims: { i: 2, H: 3 }, dimsSource: "cli" });
    expect(cli.diagnostics.map((d) => d.message)).toEqual(["--dims i=2 binds 'i', but 'lstmp' declares 'I': size names are case-sensitive"]);
    // Both spellings given: `p` is for some other cell, and P is bound.
    expect((await compile(lstmp, { dims: { I: 2, H: 3, p: 4, P: 5 }, format: false })).module?.dims).toEqual({ I: 2, H: 3, P: 5 });
  });

  it("CE401's hint is in the words of whoever left the size unbound", async () => {
    const src = `cell c(H) {\n  state h: [H]\n  h' = h\n  output h'\n}`;
    const hints: [DimsSource | undefined, string][] = [
      [undefined, "pass dims: { H: N }"],
      ["api", "pass dims: { H: N }"],
      ["cli", "pass --dims H=N"],
      ["config", `add "H": N to the entry's "dims" in the config`],
      ["layer", "pass it in the layer's options as dims: { H: N }"],
    ];
    for (const [dimsSource, hint] of hints) {
      const r = await compile(src, dimsSource ? { dimsSource } : {});
      expect(r.diagnostics.map((d) => d.message)).toEqual([`size 'H' is not bound: ${hint} or give it a default`]);
    }
  });

  it("a spec-built layer left with an unbound size names the layer's options", async () => {
    const file = join(tmp, "proj.cell");
    writeFileSync(file, `cell proj(I, H, P) {\n  input x: [I]\n  state h: [P]\n  param W: [P, I]\n  h' = tanh(W @ x + h)\n  output h'\n}\n`);
    const err = await loadKernel(file, { I: 2, H: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect((err as Error).message).toContain("error CE401: size 'P' is not bound: pass it in the layer's options as dims: { P: N } or give it a default");
  });
});
