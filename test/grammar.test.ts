// Tests for the grammar (lexer, parser with recovery, CST -> AST): every example spec parses clean
// with the right tree, spans land on the right line and column, the error corpus in
// test/errors/syntax/ reports exactly what each file's `// expect` header says, and garbage or
// pathological input returns diagnostics instead of throwing.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  declsWithSyntaxErrors,
  parse,
  parserHealth,
  type Assign,
  type CellDecl,
  type Expr,
  type ParamDecl,
  type SizeExpr,
  type Span,
  type Stmt,
} from "../grammar/index.ts";

const root = new URL("..", import.meta.url).pathname;
const specsDir = join(root, "examples/specs");
const corpusDir = join(root, "test/errors/syntax");

// ---------- helpers: an independent view of the tree and of positions ----------

/** Fully parenthesised rendering, so precedence and associativity can be read off a string. */
function show(e: Expr | SizeExpr): string {
  switch (e.kind) {
    case "number":
    case "sizeNum":
      return String(e.value);
    case "ref":
      return e.name + (e.primed ? "'" : "");
    case "sizeName":
      return e.name;
    case "binary":
    case "sizeBinary":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "unary":
      return `(-${show(e.operand)})`;
    case "call":
      return `${e.callee.name}(${e.args.map(show).join(", ")})`;
    case "slice":
      return `${show(e.target)}[${show(e.lo)}:${show(e.hi)}]`;
  }
}

/** 1-based line and column of the n-th occurrence of `needle`, counted by hand from the text. */
function where(text: string, needle: string, nth = 0): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' occurs fewer than ${nth + 1} times`);
  }
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

function startOf(s: Span): { line: number; column: number } {
  return { line: s.start.line, column: s.start.column };
}

function textOf(text: string, s: Span): string {
  return text.slice(s.start.offset, s.end.offset);
}

function parseClean(text: string): CellDecl[] {
  const r = parse(text, "<test>");
  expect(r.diagnostics).toEqual([]);
  return r.ast.decls.filter((d): d is CellDecl => d.kind === "cell");
}

/** The value of assignment `target` (e.g. "c'") in a cell. */
function assigned(cell: CellDecl, target: string): Expr {
  const a = cell.body.find(
    (s): s is Assign => s.kind === "assign" && s.target.name + (s.target.primed ? "'" : "") === target,
  );
  if (!a) throw new Error(`no assignment to ${target}`);
  return a.value;
}

function exprOf(source: string): string {
  const [cell] = parseClean(`cell t(H) {\n  y = ${source}\n  output y\n}\n`);
  return show(assigned(cell!, "y"));
}

afterAll(() => {
  // parse() guards against internal exceptions; none of these inputs may have needed the guard.
  expect(parserHealth.internalErrors).toBe(0);
});

// ---------- the examples ----------

describe("example specs", () => {
  const files = readdirSync(specsDir).filter((f) => f.endsWith(".cell"));

  it("finds the example specs", () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  for (const f of files) {
    it(`${f} parses with no diagnostics`, () => {
      const r = parse(readFileSync(join(specsDir, f), "utf8"), f);
      expect(r.diagnostics).toEqual([]);
      expect(r.ast.decls.length).toBeGreaterThan(0);
      expect(r.ast.file).toBe(f);
    });
  }

  const lstmText = readFileSync(join(specsDir, "lstm.cell"), "utf8");
  const lstm = parseClean(lstmText)[0]!;

  it("lstm: header, declarations and inits", () => {
    expect(lstm.name.name).toBe("lstm");
    expect(lstm.dims.map((d) => d.name.name)).toEqual(["I", "H"]);
    const kinds = lstm.body.map((s) => s.kind);
    expect(kinds.filter((k) => k === "param")).toHaveLength(4);
    expect(kinds.filter((k) => k === "assign")).toHaveLength(6);
    expect(kinds[0]).toBe("input");
    expect(kinds[1]).toBe("state");
    expect(kinds[kinds.length - 1]).toBe("output");
    const params = lstm.body.filter((s): s is ParamDecl => s.kind === "param").flatMap((p) => p.vars);
    expect(params.map((p) => p.name.name)).toEqual([
      "W_i",
      "U_i",
      "b_i",
      "W_f",
      "U_f",
      "b_f",
      "W_g",
      "U_g",
      "b_g",
      "W_o",
      "U_o",
      "b_o",
    ]);
    const bf = params.find((p) => p.name.name === "b_f")!;
    expect(bf.init?.name.name).toBe("ones");
    expect(bf.init?.args).toEqual([]);
    expect(params.find((p) => p.name.name === "b_i")!.init).toBeUndefined();
    expect(params[0]!.shape.dims.map(show)).toEqual(["H", "I"]);
  });

  it("lstm: c' = f * c + i * g is a '+' of two '*' with a primed target", () => {
    const a = lstm.body.find((s): s is Assign => s.kind === "assign" && s.target.name === "c")!;
    expect(a.target).toMatchObject({ kind: "ref", name: "c", primed: true });
    const v = a.value;
    if (v.kind !== "binary") throw new Error("expected a binary");
    expect(v.op).toBe("+");
    expect(v.left).toMatchObject({ kind: "binary", op: "*" });
    expect(v.right).toMatchObject({ kind: "binary", op: "*" });
    expect(show(v)).toBe("((f * c) + (i * g))");
  });

  it("lstm: @ binds tighter than +, and + is left-associative", () => {
    expect(show(assigned(lstm, "i"))).toBe("sigmoid((((W_i @ x) + (U_i @ h)) + b_i))");
    expect(show(assigned(lstm, "h'"))).toBe("(o * tanh(c'))");
    const out = lstm.body[lstm.body.length - 1]!;
    expect(out.kind === "output" && out.values.map(show)).toEqual(["h'"]);
  });

  it("lstm: spans point at the right line and column", () => {
    const a = lstm.body.find((s): s is Assign => s.kind === "assign" && s.target.name === "c")!;
    expect(startOf(a.span)).toEqual({ line: 17, column: 3 });
    expect(startOf(a.span)).toEqual(where(lstmText, "c' = f"));
    expect(textOf(lstmText, a.span)).toBe("c' = f * c + i * g");
    expect(textOf(lstmText, a.target.span)).toBe("c'");
    if (a.value.kind !== "binary") throw new Error("expected a binary");
    expect(startOf(a.value.opSpan)).toEqual({ line: 17, column: 14 });
    expect(textOf(lstmText, a.value.opSpan)).toBe("+");
    expect(startOf(lstm.name.span)).toEqual({ line: 3, column: 6 });
    expect(textOf(lstmText, lstm.span)).toMatch(/^cell lstm\(I, H\) \{[\s\S]*output h'\n\}$/);
    const bf = lstm.body
      .filter((s): s is ParamDecl => s.kind === "param")
      .flatMap((p) => p.vars)
      .find((p) => p.name.name === "b_f")!;
    expect(startOf(bf.span)).toEqual(where(lstmText, "b_f: [H]"));
    expect(textOf(lstmText, bf.span)).toBe("b_f: [H] = ones");
    expect(textOf(lstmText, bf.shape.span)).toBe("[H]");
  });

  it("gru: a parenthesised expression spans its parentheses", () => {
    const text = readFileSync(join(specsDir, "gru.cell"), "utf8");
    const gru = parseClean(text)[0]!;
    const h = assigned(gru, "h'");
    expect(show(h)).toBe("((z * h) + ((1 - z) * n))");
    if (h.kind !== "binary" || h.right.kind !== "binary") throw new Error("shape");
    const paren = h.right.left;
    expect(textOf(text, paren.span)).toBe("(1 - z)");
    expect(startOf(paren.span)).toEqual(where(text, "(1 - z) * n", 1));
    expect(show(assigned(gru, "n"))).toBe("tanh((((W_n @ x) + (U_n @ (r * h))) + b_n))");
  });

  it("deep_lstm: import and stack", () => {
    const text = readFileSync(join(specsDir, "deep_lstm.cell"), "utf8");
    const r = parse(text, "deep_lstm.cell");
    const [imp, stack] = r.ast.decls;
    expect(imp).toMatchObject({ kind: "import", from: { kind: "string", value: "./lstm.cell" } });
    expect(imp?.kind === "import" && imp.names.map((n) => n.name)).toEqual(["lstm"]);
    if (stack?.kind !== "stack") throw new Error("expected a stack");
    expect(stack.name.name).toBe("deep_lstm");
    expect(stack.layers.map((l) => `${l.cell.name}(${l.args.map(show).join(", ")})`)).toEqual([
      "lstm(I, H)",
      "lstm(H, H)",
      "lstm(H, H)",
    ]);
    expect(startOf(stack.layers[1]!.span)).toEqual({ line: 7, column: 3 });
    expect(textOf(text, stack.layers[1]!.span)).toBe("layer lstm(H, H)");
  });
});

// ---------- the language, construct by construct ----------

describe("expressions", () => {
  it("applies precedence + - < * / < @ < unary - < slice, all left-associative", () => {
    expect(exprOf("a * W @ x")).toBe("(a * (W @ x))");
    expect(exprOf("W @ x + U @ h + b")).toBe("(((W @ x) + (U @ h)) + b)");
    expect(exprOf("a - b - c")).toBe("((a - b) - c)");
    expect(exprOf("a / b * c")).toBe("((a / b) * c)");
    expect(exprOf("a + b * c - d / e")).toBe("((a + (b * c)) - (d / e))");
    expect(exprOf("A @ B @ x")).toBe("((A @ B) @ x)");
    expect(exprOf("-W @ x")).toBe("((-W) @ x)");
    expect(exprOf("- -x")).toBe("(-(-x))");
    expect(exprOf("1 - -x")).toBe("(1 - (-x))");
    expect(exprOf("-v[0:H]")).toBe("(-v[0:H])");
    expect(exprOf("v[H:2*H][0:1]")).toBe("v[H:(2 * H)][0:1]");
    expect(exprOf("(a + b) * c")).toBe("((a + b) * c)");
  });

  it("parses calls, numbers, primed refs and slices", () => {
    expect(exprOf("clip(v, -1, 1e-3)")).toBe("clip(v, (-1), 0.001)");
    expect(exprOf("concat(a, b, c')")).toBe("concat(a, b, c')");
    expect(exprOf(".5 * 12 + 0.25")).toBe("((0.5 * 12) + 0.25)");
    expect(exprOf("layernorm(v[0:H + 1], g, b)")).toBe("layernorm(v[0:(H + 1)], g, b)");
    expect(exprOf("f()")).toBe("f()");
  });

  it("gives slices and unary nodes spans from their first to last character", () => {
    const text = "cell t(H) {\n  y = -v[1:H]\n  output y\n}\n";
    const y = assigned(parseClean(text)[0]!, "y");
    expect(textOf(text, y.span)).toBe("-v[1:H]");
    if (y.kind !== "unary") throw new Error("expected unary");
    expect(textOf(text, y.operand.span)).toBe("v[1:H]");
    expect(startOf(y.operand.span)).toEqual({ line: 2, column: 8 });
  });
});

describe("declarations", () => {
  const text = [
    "/* block comment",
    "   over two lines */",
    "cell proj(I, H, P = 32) {",
    "  input x: [I], y: [I + H];",
    "  state r: [P], c: [H]",
    "  param W: [4*H, I + P] = glorot, b: [H] = const(0.5), u: [H] = uniform(-0.1, 0.1); param n: [(H + 1) * 2] = normal(.5)",
    "  c' = c; r' = W @ x",
    "  output r', c'",
    "}",
    "",
  ].join("\n");
  const cell = parseClean(text)[0]!;

  it("reads size defaults", () => {
    expect(cell.dims.map((d) => [d.name.name, d.default?.value])).toEqual([
      ["I", undefined],
      ["H", undefined],
      ["P", 32],
    ]);
    expect(textOf(text, cell.dims[2]!.span)).toBe("P = 32");
  });

  it("reads statements separated by ; or newlines", () => {
    expect(cell.body.map((s: Stmt) => s.kind)).toEqual([
      "input",
      "state",
      "param",
      "param",
      "assign",
      "assign",
      "output",
    ]);
  });

  it("reads shapes with size arithmetic", () => {
    const params = cell.body.filter((s): s is ParamDecl => s.kind === "param").flatMap((p) => p.vars);
    expect(params[0]!.shape.dims.map(show)).toEqual(["(4 * H)", "(I + P)"]);
    expect(params[3]!.shape.dims.map(show)).toEqual(["((H + 1) * 2)"]);
    const input = cell.body[0]!;
    expect(input.kind === "input" && input.vars.map((v) => v.shape.dims.map(show))).toEqual([["I"], ["(I + H)"]]);
  });

  it("reads initializers with signed numeric arguments", () => {
    const params = cell.body.filter((s): s is ParamDecl => s.kind === "param").flatMap((p) => p.vars);
    expect(params.map((p) => [p.init?.name.name, p.init?.args.map((a) => a.value)])).toEqual([
      ["glorot", []],
      ["const", [0.5]],
      ["uniform", [-0.1, 0.1]],
      ["normal", [0.5]],
    ]);
    expect(textOf(text, params[2]!.init!.span)).toBe("uniform(-0.1, 0.1)");
    expect(textOf(text, params[2]!.init!.args[0]!.span)).toBe("-0.1");
  });

  it("reads outputs and primed targets", () => {
    const out = cell.body[6]!;
    expect(out.kind === "output" && out.values.map(show)).toEqual(["r'", "c'"]);
    const assigns = cell.body.filter((s): s is Assign => s.kind === "assign");
    expect(assigns.map((a) => [a.target.name, a.target.primed])).toEqual([
      ["c", true],
      ["r", true],
    ]);
    expect(startOf(assigns[1]!.span)).toEqual({ line: 7, column: 11 });
  });

  it("handles CRLF line endings and a byte-order mark", () => {
    const crlf = "\ufeffcell t(H) {\r\n  state h: [H]\r\n  h' = h\r\n  output h'\r\n}\r\n";
    const t = parseClean(crlf)[0]!;
    expect(startOf(t.body[1]!.span)).toEqual({ line: 3, column: 3 });
  });

  it("treats an empty file (or only comments) as no declarations and no errors", () => {
    for (const text of ["", "   \n\n", "// nothing here\n/* or here */"]) {
      const r = parse(text, "empty.cell");
      expect(r.diagnostics).toEqual([]);
      expect(r.ast.decls).toEqual([]);
    }
  });
});

// ---------- the error corpus ----------

interface Expected {
  code: string;
  line: number;
  column: number;
  message: string;
}

/** Reads the `// expect CODE LINE:COL message` lines at the top of a corpus file. */
function expectations(text: string): Expected[] {
  const out: Expected[] = [];
  for (const line of text.split("\n")) {
    const m = /^\/\/ expect (CE\d{3}) (\d+):(\d+) (.+)$/.exec(line);
    if (!m) break;
    out.push({ code: m[1]!, line: Number(m[2]), column: Number(m[3]), message: m[4]! });
  }
  return out;
}

describe("error corpus (test/errors/syntax)", () => {
  const files = readdirSync(corpusDir)
    .filter((f) => f.endsWith(".cell"))
    .sort();

  it("has one file or more for each syntax code", () => {
    const codes = new Set(
      files.flatMap((f) => expectations(readFileSync(join(corpusDir, f), "utf8")).map((e) => e.code)),
    );
    for (const code of ["CE101", "CE102", "CE103", "CE104"]) expect(codes.has(code)).toBe(true);
  });

  for (const f of files) {
    it(f, () => {
      const text = readFileSync(join(corpusDir, f), "utf8");
      const want = expectations(text);
      expect(want.length).toBeGreaterThan(0);
      const r = parse(text, f);
      const got = r.diagnostics.map((d) => ({
        code: d.code,
        line: d.span?.start.line,
        column: d.span?.start.column,
        message: d.message,
      }));
      expect(got).toEqual(want);
      for (const d of r.diagnostics) {
        expect(d.severity).toBe("error");
        expect(d.span?.file).toBe(f);
      }
    });
  }

  it("reports all errors of a file at once and keeps the cells that parsed", () => {
    const text = readFileSync(join(corpusDir, "multi-three-cells.cell"), "utf8");
    const r = parse(text, "multi.cell");
    const positions = new Set(r.diagnostics.map((d) => `${d.span!.start.line}:${d.span!.start.column}`));
    expect(positions.size).toBeGreaterThanOrEqual(3);
    const cells = r.ast.decls.filter((d): d is CellDecl => d.kind === "cell");
    expect(cells.map((c) => c.name.name)).toEqual(["a", "b", "c"]);
    // Statements after each error are still in the tree; a broken expression is left out...
    expect(cells[1]!.body.map((s) => s.kind)).toEqual(["input", "state", "param", "output"]);
    // ...while `[H H]` is repaired by dropping the stray token (the error still stands).
    expect(cells[2]!.body.map((s) => s.kind)).toEqual(["input", "state", "param", "assign", "output"]);
  });

  it("tells which declarations hold a syntax error", () => {
    const text = readFileSync(join(corpusDir, "multi-three-cells.cell"), "utf8");
    const r = parse(text, "multi.cell");
    const extra = parse(`${text}\ncell ok(H) {\n  state h: [H]\n  h' = h\n  output h'\n}\n`, "multi.cell");
    expect([...declsWithSyntaxErrors(r)].map((d) => d.kind !== "import" && d.name.name)).toEqual(["a", "b", "c"]);
    expect([...declsWithSyntaxErrors(extra)].map((d) => d.kind !== "import" && d.name.name)).toEqual(["a", "b", "c"]);
    expect(extra.ast.decls).toHaveLength(4);
    const lexical = parse(readFileSync(join(corpusDir, "ce101-non-ascii.cell"), "utf8"), "x.cell");
    expect(declsWithSyntaxErrors(lexical).size).toBe(1);
    expect(declsWithSyntaxErrors(parse(readFileSync(join(specsDir, "lstm.cell"), "utf8"), "lstm.cell")).size).toBe(0);
  });

  it("keeps going after a broken declaration to the next one", () => {
    const text = "cell a(H) {\n  y = (h\n}\ncell b(H) {\n  state h: [H]\n  h' = h\n  output h'\n}\n";
    const r = parse(text, "two.cell");
    expect(r.diagnostics.map((d) => [d.code, d.span!.start.line, d.span!.start.column, d.message])).toEqual([
      ["CE102", 3, 1, "expected ')' but found '}'"],
    ]);
    expect(r.ast.decls.map((d) => d.kind === "cell" && d.name.name)).toEqual(["a", "b"]);
  });

  it("CE001: NUL bytes and invalid UTF-8 are not text", () => {
    const withNul = Buffer.from([...Buffer.from("cell a(H) {\n  "), 0, ...Buffer.from(" }")]).toString("utf8");
    const r1 = parse(withNul, "nul.cell");
    expect(r1.diagnostics.map((d) => [d.code, d.span!.start.line, d.span!.start.column, d.message])).toEqual([
      ["CE001", 2, 3, "input is not text: it contains a NUL byte"],
    ]);
    expect(r1.ast.decls).toEqual([]);
    const badUtf8 = Buffer.from([0x63, 0x65, 0x6c, 0x6c, 0x20, 0xc3, 0x28]).toString("utf8");
    const r2 = parse(badUtf8, "latin.cell");
    expect(r2.diagnostics.map((d) => [d.code, d.span!.start.column, d.message])).toEqual([
      ["CE001", 6, "input is not text: it contains invalid UTF-8 (a U+FFFD replacement character)"],
    ]);
    expect(r2.ast.decls).toEqual([]);
  });
});

// ---------- garbage and pathological input ----------

/** A small seeded generator so the garbage is the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("garbage in, diagnostics out", () => {
  it("random binary bytes give one CE001", () => {
    const rand = prng(7);
    for (let round = 0; round < 5; round++) {
      const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
      const r = parse(Buffer.from(bytes).toString("utf8"), "noise.bin");
      expect(r.diagnostics).toHaveLength(1);
      expect(r.diagnostics[0]!.code).toBe("CE001");
      expect(r.ast.decls).toEqual([]);
    }
  });

  it("random printable text gives syntax diagnostics, each with a position", () => {
    const rand = prng(11);
    const text = Array.from({ length: 4000 }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join("");
    const r = parse(text, "noise.txt");
    expect(r.diagnostics.length).toBeGreaterThan(0);
    for (const d of r.diagnostics) {
      expect(["CE101", "CE102", "CE103", "CE104"]).toContain(d.code);
      expect(d.span!.start.offset).toBeGreaterThanOrEqual(0);
      expect(d.span!.start.offset).toBeLessThanOrEqual(text.length);
    }
  });

  it("random token soup never breaks the parser and keeps diagnostics in order", () => {
    const rand = prng(3);
    const words = ["cell", "stack", "layer", "input", "param", "output", "x", "h'", "=", "(", ")", "[", "]", "{", "}"];
    const more = [",", ":", "@", "+", "-", "*", "1", "0.5", '"s"', "import", "from", ";", "\n"];
    const vocab = [...words, ...more];
    for (let round = 0; round < 20; round++) {
      const text = Array.from({ length: 300 }, () => vocab[Math.floor(rand() * vocab.length)]).join(" ");
      const r = parse(text, "soup.cell");
      const offsets = r.diagnostics.map((d) => d.span!.start.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(r.diagnostics.every((d) => /^CE10[1-4]$/.test(d.code))).toBe(true);
    }
  });

  it("10,000-deep parentheses and brackets give one CE103 at the first token past 200", () => {
    for (const [open, close] of [
      ["(", ")"],
      ["[", "]"],
      ["{", "}"],
    ] as const) {
      const text = open.repeat(10_000) + "x" + close.repeat(10_000);
      const r = parse(text, "deep.cell");
      expect(r.diagnostics.map((d) => [d.code, d.span!.start.line, d.span!.start.column, d.message])).toEqual([
        ["CE103", 1, 201, "nesting is deeper than 200 levels"],
      ]);
    }
    const inCell = `cell d(H) {\n  y = ${"(".repeat(10_000)}h${")".repeat(10_000)}\n  output y\n}\n`;
    const r = parse(inCell, "deep.cell");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CE103"]);
    expect(startOf(r.diagnostics[0]!.span!)).toEqual({ line: 2, column: 7 + 199 });
  });

  it("200 levels of nesting is still fine", () => {
    const text = `cell d(H) {\n  y = ${"f(".repeat(199)}h${")".repeat(199)}\n  output y\n}\n`;
    let e = assigned(parseClean(text)[0]!, "y");
    let depth = 0;
    while (e.kind === "call") {
      e = e.args[0]!;
      depth++;
    }
    expect(depth).toBe(199);
    expect(e).toMatchObject({ kind: "ref", name: "h" });
  });

  it("long flat chains build iteratively", () => {
    const text = `cell d(H) {\n  y = ${Array.from({ length: 5000 }, () => "h").join(" + ")} - ${"-".repeat(5000)}h\n  output y\n}\n`;
    const y = assigned(parseClean(text)[0]!, "y");
    expect(y).toMatchObject({ kind: "binary", op: "-" });
  });

  it("the reused parser carries nothing from one parse to the next", () => {
    const bad = parse("cell a(H) { y = (h }\nstack", "bad.cell");
    expect(bad.diagnostics.length).toBeGreaterThan(0);
    const good = readFileSync(join(specsDir, "rnn.cell"), "utf8");
    expect(parse(good, "rnn.cell").diagnostics).toEqual([]);
    expect(JSON.stringify(parse(good, "rnn.cell").ast)).toBe(JSON.stringify(parse(good, "rnn.cell").ast));
  });
});
