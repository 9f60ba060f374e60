// A spec whose file name and comments hold everything that ends a string or a comment somewhere
// (triple quotes, a backslash before N, */, ;;, (;, a line feed, U+2028, ESC, BEL, U+010A whose low
// byte is a line feed, a right-to-left override), built the way a user builds it — the cellc
// command in a child process — for every target: the TypeScript and WebAssembly modules parse and
// their code (as the TypeScript parser reads it) is that of the same spec under a plain name (so no comment ended
// early), the WebAssembly text assembles, the Python module imports without running the command
// its old docstring let through, the ONNX model passes onnx.checker and loads in onnxruntime-node;
// and each computes the Elman cell h = tanh(W x + U h + b) as a hand computation does.

import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../backends/wasm/module.ts";
import { decodeModel, onnx } from "../formats/onnx/schema.ts";
import { findTorch } from "./helpers/torch.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CELLC = join(ROOT, "cli/bin/cellc.mjs");
const HOSTILE = 'a""" if __import__("os").system("touch PWNED") else """b \\N{BULLET} \\ * ;; (; ;) \n \u2028 \x1b]0;x\x07 \u010a \u202e';
const NAME = `${HOSTILE}.cell`;
/** The file name as every comment shows it: controls, line ends and the override as escapes. */
const SHOWN = 'a""" if __import__("os").system("touch PWNED") else """b \\N{BULLET} \\ * ;; (; ;) \\n \\u2028 \\x1b]0;x\\x07 \u010a \\u202e.cell';
const COMMENT = '/* """ \\N{BULLET} \\x ;; (; ;) #{ \x1b[2J \x07 \u010a \u202e PWNED */';
const SPEC = (comment: string) => `cell rnn(I, H) {
  input x: [I]
  state h: [H]
  param W: [H, I], U: [H, H], b: [H]
  h' = tanh(W @ x + U @ h + b) ${comment}
  output h'
}
`;
const I = 2;
const H = 3;
const T = 3;
const W = [0.5, -0.25, 0.125, 0.75, -0.5, 0.3];
const U = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9];
const Bias = [0.05, -0.1, 0.2];
const X = [1, -1, 0.5, 2, -0.75, 0.25];

/** The Elman cell by hand: h(t) = tanh(W x(t) + U h(t-1) + b), batch 1, from h = 0. */
function reference(w = W, u = U, b = Bias): number[] {
  let h = [0, 0, 0];
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const x = X.slice(t * I, t * I + I);
    h = h.map((_, r) => Math.tanh(x.reduce((s, v, k) => s + w[r * I + k]! * v, 0) + h.reduce((s, v, k) => s + u[r * H + k]! * v, 0) + b[r]!));
    out.push(...h);
  }
  return out;
}

function cellc(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CELLC, ...args], { cwd, encoding: "utf8" }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cellc-escape-"));
  for (const [dir, name, comment] of [["hostile", NAME, COMMENT], ["plain", "rnn.cell", ""]] as const) {
    mkdirSync(join(work, dir));
    writeFileSync(join(work, dir, name), SPEC(comment));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A TypeScript text's code as the TypeScript parser reads it, printed again without comments. */
function code(text: string): string {
  const sf = ts.createSourceFile("m.ts", text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ts.createPrinter({ removeComments: true }).printFile(sf);
}

async function buildBoth(target: string, extra: string[] = []): Promise<{ hostile: string; plain: string; dir: string }> {
  for (const dir of ["hostile", "plain"]) {
    const spec = readdirSync(join(work, dir)).find((f) => f.endsWith(".cell"))!;
    const r = await cellc(join(work, dir), "build", spec, "--target", target, "--dims", `I=${I},H=${H}`, "--out", target, ...extra);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  }
  const read = (dir: string) => readFileSync(join(work, dir, target, readdirSync(join(work, dir, target)).find((f) => !f.endsWith(".wat"))!), "utf8");
  return { hostile: read("hostile"), plain: read("plain"), dir: join(work, "hostile", target) };
}

/** Runs a TypeScript or WebAssembly kernel module on the test's weights and input. */
async function runKernel(file: string): Promise<number[]> {
  copyFileSync(file, `${file}.mts`);
  const k = (await import(pathToFileURL(`${file}.mts`).href)) as { createParams(): Record<string, Float32Array>; forward(p: unknown, i: unknown, o: unknown): { outputs: Record<string, Float32Array> } };
  const p = k.createParams();
  p["W"]!.set(W);
  p["U"]!.set(U);
  p["b"]!.set(Bias);
  return Array.from(k.forward(p, { x: Float32Array.from(X) }, { batchSize: 1 }).outputs["h"]!);
}

function expectClose(got: ArrayLike<number>, want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
}

describe("a hostile file name and comment, built with the cellc command for every target", () => {
  for (const target of ["ts", "wasm"]) {
    it(`--target ${target}: the module parses, its code is the plain spec's, and it computes the cell`, async () => {
      const { hostile, plain, dir } = await buildBoth(target, target === "wasm" ? ["--emit-wat"] : []);
      const parsed = ts.transpileModule(hostile, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } });
      expect(parsed.diagnostics ?? []).toEqual([]);
      expect(code(hostile)).toBe(code(plain));
      // The spec's comment and file name are there, escaped, and only in comments.
      expect(hostile).toContain("PWNED *\\/");
      expect(hostile).toContain("\\x1b[2J \\x07 \u010a \\u202e");
      expect(hostile).toContain(`// Generated by cellc from ${SHOWN}: cell rnn`);
      const file = join(dir, readdirSync(dir).find((f) => f.endsWith(".ts"))!);
      expectClose(await runKernel(file), reference());
      if (target === "wasm") {
        const wat = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".wat"))!), "utf8");
        expect(wat).toContain(`;; ${SHOWN}:5  h' = tanh(W @ x + U @ h + b) /* """ \\N{BULLET} \\x ;; (; ;) #{ \\x1b[2J \\x07 \u010a \\u202e PWNED */`);
        expect((await assemble(wat, "hostile")).length).toBeGreaterThan(0);
      }
    });
  }

  const torch = findTorch();
  it.skipIf(typeof torch === "string")(`--target torch: python3 imports the module without running the name's command, and it computes the cell${typeof torch === "string" ? ` (skipped: ${torch})` : ""}`, async () => {
    const { hostile, dir } = await buildBoth("torch");
    expect(hostile).toContain('"""cell rnn (I=2, H=3) from a\\"\\"\\" if __import__(\\"os\\").system(\\"touch PWNED\\") else \\"\\"\\"b \\\\N{BULLET}');
    const script = [
      "import json, sys, torch",
      "sys.path.insert(0, '.')",
      "from rnn_I2_H3 import Cell",
      "cell = Cell()",
      "w = json.loads(sys.argv[1])",
      "cell.load_cellc_state_dict({k: torch.tensor(v, dtype=torch.float32).reshape(cell.cellc_state_dict()[k].shape) for k, v in w.items()})",
      "y, _ = cell(torch.tensor(json.loads(sys.argv[2]), dtype=torch.float32).reshape(3, 1, 2))",
      "print(json.dumps({'doc': Cell.__doc__, 'y': y.reshape(-1).tolist()}))",
    ].join("\n");
    const r = spawnSync((torch as { python: string }).python, ["-c", script, JSON.stringify({ W, U, b: Bias }), JSON.stringify(X)], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(existsSync(join(dir, "PWNED"))).toBe(false);
    const got = JSON.parse(r.stdout) as { doc: string; y: number[] };
    expect(got.doc.split("\n")[0]).toBe(`cell rnn (I=2, H=3) from ${HOSTILE}.cell, as a torch.nn.Module.`.split("\n")[0]);
    expect(got.doc).toContain(`${HOSTILE}.cell, as a torch.nn.Module.`);
    expectClose(got.y, reference());
  });

  const onnxPython = spawnSync("/usr/bin/python3", ["-c", "import onnx"]).status === 0;
  it("cellc export: the model loads in onnxruntime-node, says where it came from, and computes the cell", async () => {
    const dir = join(work, "hostile");
    const r = await cellc(dir, "export", NAME, "--dims", `I=${I},H=${H}`, "-o", "model.onnx", "--seed", "3");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const bytes = readFileSync(join(dir, "model.onnx"));
    const model = decodeModel(bytes);
    expect(onnx.ModelProto.decode(bytes).docString).toBe(`Generated by cellc from ${SHOWN}: cell rnn with I=2, H=3.`);
    // The parameters the export drew from its seed, as the model holds them.
    const init = (name: string): number[] => {
      const t = model.graph!.initializer!.find((x) => x.name === name)!;
      return t.floatData?.length ? Array.from(t.floatData) : Array.from(new Float32Array(new Uint8Array(t.rawData!).slice().buffer));
    };
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const out = await s.run({ x: new ort.Tensor("float32", Float32Array.from(X), [T, 1, I]), lengths: new ort.Tensor("int32", Int32Array.from([T]), [1]) });
    expectClose(out["output_h"]!.data as Float32Array, reference(init("W"), init("U"), init("b")));
    expect(init("W").some((v) => v !== 0)).toBe(true);
  });

  it.skipIf(!onnxPython)(`cellc export: onnx.checker accepts the model${onnxPython ? "" : " (skipped: /usr/bin/python3 has no onnx; apt-get install python3-onnx)"}`, async () => {
    const dir = join(work, "hostile");
    const r = await cellc(dir, "export", NAME, "--dims", `I=${I},H=${H}`, "-o", "checked.onnx");
    expect(r.code, r.err).toBe(0);
    const c = spawnSync("/usr/bin/python3", ["-c", "import onnx, sys\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint(m.doc_string.startswith('Generated by cellc from a\"\"\"'))", join(dir, "checked.onnx")], { encoding: "utf8" });
    expect(c.stdout.trim(), c.stderr).toBe("True");
  });
});

describe("a 40,000-character name", () => {
  it("checks, builds (no regular expression is made of it) and computes the cell, with the cellc command", async () => {
    const dir = join(work, "long");
    mkdirSync(dir);
    const name = `W${"w".repeat(39_999)}`;
    writeFileSync(join(dir, "long.cell"), SPEC("").replace("param W:", `param ${name}:`).replace("tanh(W @", `tanh(${name} @`));
    const checked = await cellc(dir, "check", "long.cell");
    expect(checked.err).toBe("");
    expect(checked.code).toBe(0);
    const built = await cellc(dir, "build", "long.cell", "--dims", `I=${I},H=${H}`, "--out", "ts");
    expect(built.err).toBe("");
    expect(built.code).toBe(0);
    const file = join(dir, "ts", readdirSync(join(dir, "ts"))[0]!);
    copyFileSync(file, `${file}.mts`);
    const k = (await import(pathToFileURL(`${file}.mts`).href)) as { createParams(): Record<string, Float32Array>; forward(p: unknown, i: unknown, o: unknown): { outputs: Record<string, Float32Array> } };
    const p = k.createParams();
    expect(Object.keys(p).sort()).toEqual([name, "U", "b"].sort());
    p[name]!.set(W);
    p["U"]!.set(U);
    p["b"]!.set(Bias);
    expectClose(k.forward(p, { x: Float32Array.from(X) }, { batchSize: 1 }).outputs["h"]!, reference());
  });
});
