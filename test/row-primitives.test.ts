// The registry of row primitives (compiler/primitives/rows.ts), entry by entry: each one's float64
// definition (its eval, NaN and tie rules included) against what every backend computes with it on
// random rows that include NaN, ±∞, ±0 and ties — the TypeScript and WebAssembly kernels of a spec
// calling it (float32 and float64 builds, as a user loads them; a scan's reverse direction through
// the kernel's backward, which is its adjoint), its ONNX lowering run by onnxruntime, and its
// PyTorch template run by torch. Its derivative, through the kernels' backward, against central
// differences.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { Constants, Names, OnnxGraph } from "../backends/onnx/graph.ts";
import { compile, loadCell } from "../driver/index.ts";
import { ROW_PRIMITIVES } from "../compiler/primitives/rows.ts";
import type { RowPrimitive } from "../compiler/primitives/row-types.ts";
import { encodeModel, valueInfo } from "../formats/onnx/schema.ts";
import { gradCheck } from "./helpers/gradcheck.ts";
import { Rng } from "./helpers/rng.ts";
import { findTorch, torchName, type TorchEnv } from "./helpers/torch.ts";

const N = 7;
const T = 4;
const B = 6;
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 3, 3, -2];

/** T·B rows of N float32 numbers: plain ones, rows with a special or two, all-equal rows (ties),
 *  rows of ±0 only, rows of -∞ only. */
function rows(seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: T * B }, (_, r) => {
    if (r % 8 === 5) return Array.from({ length: N }, () => 1.25);
    if (r % 8 === 6) return Array.from({ length: N }, (_, j) => ((j + r) % 3 === 0 ? 0 : -0));
    if (r % 8 === 7) return Array.from({ length: N }, () => -Infinity);
    const row = Array.from({ length: N }, () => Math.fround(rng.normal() * 3));
    const specials = r % 8 < 2 ? 0 : 1 + (r % 2);
    for (let k = 0; k < specials; k++) row[Math.floor(rng.next() * N)] = SPECIAL[Math.floor(rng.next() * SPECIAL.length)]!;
    if (r % 8 === 2) row[N - 1] = Math.max(...row.filter((x) => !Number.isNaN(x))); // a tie for the maximum
    return row;
  });
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** got equals want (exact), or is within `rel` of the row's scale or the value (NaN, ±∞ and zero signs of
 *  exact entries must match). */
function expectRow(got: readonly number[], want: readonly number[], row: readonly number[], exact: boolean, rel: number, what: string): void {
  const scale = row.reduce((s, x) => (Number.isFinite(x) ? s + Math.abs(x) : s), 0);
  want.forEach((w, j) => {
    const g = got[j]!;
    const msg = `${what}: [${row.join(", ")}] -> element ${j} = ${g}, defined as ${w}`;
    if (exact || !Number.isFinite(w) || !Number.isFinite(g)) expect(same(g, w), msg).toBe(true);
    else expect(Math.abs(g - w), msg).toBeLessThanOrEqual(rel * Math.max(scale, Math.abs(w), 1e-30));
  });
}

const spec = (p: RowPrimitive) => `cell probe(N) {\n  input x: [N]\n  output ${p.surface}(x)\n}\n`;
const flat = (rs: number[][]) => rs.flat();
const split = (a: ArrayLike<number>, w: number) => Array.from({ length: a.length / w }, (_, r) => Array.from(a).slice(r * w, r * w + w));

const ENTRIES = [...ROW_PRIMITIVES.values()];

describe.each(ENTRIES.map((p) => [p.op, p] as const))("%s", (_name, p) => {
  it("is callable from a spec (every entry here has a surface name)", () => {
    expect(p.surface, `${p.op} has no surface name`).toBeTruthy();
  });

  for (const target of ["ts", "wasm"] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`the ${target} kernel (${dtype}) computes the definition on every row${p.kind === "scan" ? ", and the reverse scan in its backward" : ""}`, async () => {
        const kernel = await loadCell(spec(p), { dims: { N }, target, dtype });
        const round = dtype === "float32" ? Math.fround : (x: number) => x;
        // A float64 build takes Float64Array (Tensors names Float32Array).
        const arr = (xs: number[]) => (dtype === "float32" ? Float32Array.from(xs) : (Float64Array.from(xs) as unknown as Float32Array));
        const xs = rows(11);
        const { outputs, tape } = kernel.forward({}, { x: arr(flat(xs)) }, { batchSize: B });
        const out = outputs[kernel.meta.outputs[0]!.name]!;
        const width = p.kind === "reduce" ? 1 : N;
        // float32: a float64 computation rounded once (exact entries); float64: the definition itself.
        const rel = dtype === "float32" ? N * 2 ** -23 : N * 2 ** -52;
        split(out, width).forEach((got, r) => expectRow(got, p.eval(xs[r]!, false).map(round), xs[r]!, p.exact || (target === "ts"), rel, `${target} ${dtype}`));
        if (p.kind !== "scan") return;
        const dys = rows(12);
        const g = kernel.backward({}, tape, { [kernel.meta.outputs[0]!.name]: arr(flat(dys)) });
        split(g.inputs.x!, N).forEach((got, r) => expectRow(got, p.eval(dys[r]!, true).map(round), dys[r]!, p.exact || target === "ts", rel, `${target} ${dtype} backward`));
      });
    }
  }

  it("its derivative, through the float64 kernels of a recurrent spec (ts and wasm), equals central differences", async () => {
    const src = `cell g(H) {\n  input x: [H]\n  state h: [H]\n  param W: [H, H]\n  a = tanh(W @ h + x)\n  h' = tanh(a + ${p.surface}(a) * 0.3)\n  output h'\n}\n`;
    for (const target of ["ts", "wasm"] as const) {
      const k = await loadCell(src, { dims: { H: 5 }, target, dtype: "float64" });
      const r = gradCheck({ kernel: k, T: 4, B: 2, seed: 3, arrayType: Float64Array });
      expect(r.checked).toBeGreaterThan(k.meta.paramCount);
      for (const [name, err] of Object.entries(r.worst)) expect(err, `${target} ${name}`).toBeLessThan(1e-6);
    }
  });

  for (const reverse of p.kind === "scan" ? [false, true] : [false]) {
    it(`its ONNX lowering${reverse ? " (reverse)" : ""}, run by onnxruntime, computes the definition within float32 rounding`, async () => {
      const names = new Names();
      const consts = new Constants(names);
      const g = new OnnxGraph(names, consts, new Set());
      const x = names.reserve("x");
      const y = p.onnx(x, reverse, {
        op: (o, inputs) => g.op(o, inputs),
        node: (o, inputs, attrs) => g.node(o, inputs, attrs)[0]!,
        const: (v) => g.const(v),
        ints: (v) => consts.ints(v),
      });
      g.node("Identity", [y], {}, [names.reserve("y")]);
      const width = p.kind === "reduce" ? 1 : N;
      const bytes = encodeModel({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: { name: p.op, node: g.nodes, initializer: consts.initializers, input: [valueInfo(x, ["R", N])], output: [valueInfo("y", ["R", width])] },
      });
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      const xs = rows(13);
      const out = await session.run({ [x]: new ort.Tensor("float32", Float32Array.from(flat(xs)), [xs.length, N]) });
      await session.release();
      split(out["y"]!.data as Float32Array, width).forEach((got, r) => {
        // onnxruntime computes in float32: not exact, but NaN and the infinities where defined.
        expectRow(got.map((v) => (Object.is(v, -0) ? 0 : v)), p.eval(xs[r]!, reverse).map((v) => (Object.is(v, -0) ? 0 : Math.fround(v))), xs[r]!, false, 4 * N * 2 ** -23, "onnxruntime");
      });
    });
  }
});

describe("the PyTorch templates, run by torch", () => {
  const torch = findTorch();
  it.skipIf(typeof torch === "string")(torchName("every entry's template computes its definition within float32 rounding", torch), () => {
    const cases = ENTRIES.flatMap((p) => (p.kind === "scan" ? [false, true] : [false]).map((reverse) => ({ p, reverse })));
    const xs = rows(14);
    // JSON has no NaN or infinities: they travel as strings.
    const text = JSON.stringify(xs.map((r) => r.map((v) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v))));
    const script = [
      "import json, math, sys, torch",
      "x = torch.tensor([[float(v) for v in r] for r in json.loads(sys.stdin.read())], dtype=torch.float32)",
      "out = []",
      ...cases.map(({ p, reverse }) => `out.append((${p.torch("x", reverse)}).tolist())`),
      "print(json.dumps(out).replace('NaN', '\"nan\"').replace('-Infinity', '\"-inf\"').replace('Infinity', '\"inf\"'))",
    ].join("\n");
    const run = spawnSync((torch as TorchEnv).python, ["-c", script], { input: text, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const parse = (v: number | string) => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number));
    const results = JSON.parse(run.stdout) as (number | string)[][][];
    cases.forEach(({ p, reverse }, k) => {
      results[k]!.forEach((got, r) => {
        expectRow(got.map(parse).map((v) => (Object.is(v, -0) ? 0 : v)), p.eval(xs[r]!, reverse).map((v) => (Object.is(v, -0) ? 0 : Math.fround(v))), xs[r]!, false, 4 * N * 2 ** -23, `torch ${p.op}${reverse ? " reverse" : ""}`);
      });
    });
  });
});

describe("two row primitives of one vector", () => {
  it("stay two equations: sum(x) + 2·max(x) + cumsum(x) equals a hand loop (common-subexpression elimination once merged them)", async () => {
    const src = `cell two(N) {\n  input x: [N]\n  output sum(x) + max(x) * 2 + cumsum(x) + logsumexp(x) * 0\n}\n`;
    const k = await loadCell(src, { dims: { N: 4 }, dtype: "float64" });
    const x = [0.5, -2, 3, 1.25];
    const out = k.forward({}, { x: Float64Array.from(x) as unknown as Float32Array }, { batchSize: 1 }).outputs[k.meta.outputs[0]!.name]!;
    let run = 0;
    const want = x.map((v) => (run += v) + 2.75 + 2 * 3);
    expect(Array.from(out)).toEqual(want);
  });
});
