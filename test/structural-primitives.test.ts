// The registry of structural primitives (compiler/primitives/structural.ts), entry by entry: each
// one's float64 definition (its eval, with its summation order) against what every backend computes
// with it on random rows that include NaN, ±∞ and ±0 — its TypeScript support function on strided
// rows and on a weight shared by every row; the TypeScript and WebAssembly kernels of a spec using
// it (float32 and float64 builds, as a user loads them; the gradient sum through a bias's gradient);
// its ONNX lowering run by onnxruntime; its PyTorch template run by torch. Its derivative, through
// the kernels' backward, against central differences.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { ts } from "ts-morph";
import { Constants, Names, OnnxGraph } from "../backends/onnx/graph.ts";
import { loadCell } from "../driver/index.ts";
import { STRUCTURAL_PRIMITIVES } from "../compiler/primitives/structural.ts";
import type { StructAttrs, StructuralPrimitive } from "../compiler/primitives/structural-types.ts";
import { encodeModel, valueInfo } from "../formats/onnx/schema.ts";
import { gradCheck } from "./helpers/gradcheck.ts";
import { Rng } from "./helpers/rng.ts";
import { findTorch, torchName, type TorchEnv } from "./helpers/torch.ts";

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0];
const R = 9;

/** R rows of w float32 numbers; rows 2, 5 and 8 hold a special (NaN, ±∞, ±0) or two. */
function rows(seed: number, w: number, n = R): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, r) => {
    const row = Array.from({ length: w }, () => Math.fround(rng.normal() * 2));
    if (r % 3 === 2) for (let k = 0; k < 1 + (r % 2); k++) row[Math.floor(rng.next() * w)] = SPECIAL[Math.floor(rng.next() * SPECIAL.length)]!;
    return row;
  });
}

/** Float32 rounding allowed a term (of a product's k, or a gradient sum's rows) where another
 *  library adds in its own order, relative to the result's scale (at least 1). */
const TOL = 64 * 2 ** -23;

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** Exact: every element the same number (NaN any NaN, zero signs included); else within `rel` of
 *  the row's scale, with NaN and the infinities where the definition has them. */
function expectRow(got: readonly number[], want: readonly number[], exact: boolean, rel: number, what: string): void {
  const scale = want.reduce((s, x) => (Number.isFinite(x) ? Math.max(s, Math.abs(x)) : s), 1);
  want.forEach((w, j) => {
    const g = got[j]!;
    const msg = `${what}: element ${j} = ${g}, defined as ${w}`;
    if (exact || !Number.isFinite(w) || !Number.isFinite(g)) expect(exact ? same(g, w) : same(g, w) || (Object.is(g, 0) && Object.is(w, -0)) || (Object.is(g, -0) && Object.is(w, 0)), msg).toBe(true);
    else expect(Math.abs(g - w), msg).toBeLessThanOrEqual(rel * scale);
  });
}

/** Attributes each entry is tried with: every transposition of a product, outer products (k = 1),
 *  a matrix times a vector (n = 1). */
const CASES: Record<string, StructAttrs[]> = {
  bmm: [
    ...[false, true].flatMap((ta) => [false, true].map((tb) => ({ m: 3, k: 4, n: 2, ta, tb }))),
    { m: 4, k: 1, n: 3, ta: false, tb: false },
    { m: 5, k: 3, n: 1, ta: false, tb: false },
  ],
  transpose: [{ m: 3, n: 4 }, { m: 1, n: 5 }],
  colsum: [{ n: 7 }, { n: 1 }],
};

const ENTRIES = [...STRUCTURAL_PRIMITIVES.values()];
const show = (a: StructAttrs) => JSON.stringify(a);

/** What a float32 kernel computes from the definition: rounded once per number, or (a gradient
 *  sum) every row's result added into `start` in row order, each add rounded. */
function expected(p: StructuralPrimitive, a: StructAttrs, src: number[][][], round: (x: number) => number, start?: number[]): number[][] {
  const per = src[0]!.map((_, r) => p.eval(src.map((s) => s[r]!), a));
  if (p.rounding === "once") return per.map((row) => row.map(round));
  const acc = [...start!];
  for (const row of per) row.forEach((v, j) => (acc[j] = round(acc[j]! + v)));
  return [acc];
}

/** The entry's TypeScript function, compiled as a module carries it. */
function tsFunction(p: StructuralPrimitive, float64: boolean): (...args: unknown[]) => void {
  const source = float64 ? p.ts.source.replace(/\bFloat32Array\b/g, "Float64Array") : p.ts.source;
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  return new Function(`${js}\nreturn ${p.ts.fn};`)() as (...args: unknown[]) => void;
}

describe.each(ENTRIES.map((p) => [p.op, p] as const))("%s", (_name, p) => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`its TypeScript function (${dtype}) computes the definition on strided rows and on a shared weight (stride 0)`, () => {
      const fn = tsFunction(p, dtype === "float64");
      const Arr = dtype === "float32" ? Float32Array : Float64Array;
      const round = dtype === "float32" ? Math.fround : (x: number) => x;
      for (const a of CASES[p.op]!) {
        const w = p.widths(a);
        for (const shared of w.src.map((_, k) => k)) {
          // Operand k `shared` is the same numbers for every row; the others are strided with a gap of 3.
          const src = w.src.map((n, k) => (k === shared && w.src.length > 1 ? Array.from({ length: R }, () => rows(40 + k, n, 1)[0]!) : rows(30 + k, n)));
          const args: unknown[] = [];
          w.src.forEach((n, k) => {
            const stride = k === shared && w.src.length > 1 ? 0 : n + 3;
            const arr = new Arr(2 + (stride ? R * stride : n));
            src[k]!.forEach((row, r) => arr.set(row, 2 + r * stride));
            args.push(arr, 2, stride);
          });
          const start = rows(50, w.dst, 1)[0]!.map(round);
          const out = new Arr(p.into === "view" ? 1 + R * (w.dst + 2) : w.dst);
          if (p.into === "view") args.push(out, 1, w.dst + 2);
          else (out.set(start), args.push(out));
          fn(R, ...p.ts.args(a), ...args);
          const want = expected(p, a, src, round, start);
          want.forEach((row, r) => expectRow(Array.from(out.subarray(p.into === "view" ? 1 + r * (w.dst + 2) : 0).slice(0, w.dst)), row, true, 0, `${show(a)} row ${r}`));
        }
      }
    });
  }

  it("its ONNX lowering, run by onnxruntime, computes the definition within float32 rounding", async () => {
    if (!p.onnx) {
      // A gradient sum is not part of an exported (forward) graph: the ONNX printer refuses it.
      expect(p.into).toBe("grad");
      return;
    }
    for (const a of CASES[p.op]!) {
      const w = p.widths(a);
      const names = new Names();
      const consts = new Constants(names);
      const g = new OnnxGraph(names, consts, new Set());
      const xs = w.src.map((_, k) => names.reserve(`x${k}`));
      const y = p.onnx(
        {
          op: (o, inputs) => g.op(o, inputs),
          matrix: (k, r, c, transposed) => {
            const m = g.op("Reshape", [xs[k]!, consts.ints([0, r, c])]);
            return transposed ? g.node("Transpose", [m], { perm: { ints: [0, 2, 1] } })[0]! : m;
          },
          flat: (x, width) => g.op("Reshape", [x, consts.ints([0, width])]),
        },
        a,
      );
      g.node("Identity", [y], {}, [names.reserve("y")]);
      const bytes = encodeModel({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: { name: p.op, node: g.nodes, initializer: consts.initializers, input: xs.map((x, k) => valueInfo(x, ["R", w.src[k]!])), output: [valueInfo("y", ["R", w.dst])] },
      });
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      const src = w.src.map((n, k) => rows(60 + k, n));
      const feeds = Object.fromEntries(xs.map((x, k) => [x, new ort.Tensor("float32", Float32Array.from(src[k]!.flat()), [R, w.src[k]!])]));
      const out = (await session.run(feeds))["y"]!.data as Float32Array;
      await session.release();
      expected(p, a, src, Math.fround).forEach((row, r) => expectRow(Array.from(out.slice(r * w.dst, (r + 1) * w.dst)), row, false, TOL * ((a["k"] as number | undefined) ?? 1), `onnxruntime ${show(a)} row ${r}`));
    }
  });
});

/** A spec computing each structural op of per-sample matrices (states: inputs and outputs are
 *  vectors), the products in every transposition, into the states it hands back; its parameter's
 *  gradient is the gradient sum. */
const SPEC = `cell probe(M, K, N) {
  input v: [K]
  state a: [M, K], b: [K, N], c: [K, M], d: [N, K]
  state e1: [M, N], e2: [M, N], e3: [M, N], e4: [M, N], o: [M, K], t: [K, M]
  param p: [M, N]
  a' = a
  b' = b
  c' = c
  d' = d
  e1' = a @ b + p
  e2' = transpose(c) @ b
  e3' = a @ transpose(d)
  e4' = transpose(c) @ transpose(d)
  o' = outer(a @ v, v)
  t' = transpose(a)
  output a @ v
}
`;
const DIMS = { M: 3, K: 4, N: 2 };

describe("the kernels of a spec using every entry, as a user loads them", () => {
  const bmm = STRUCTURAL_PRIMITIVES.get("bmm")!;
  const transpose = STRUCTURAL_PRIMITIVES.get("transpose")!;
  const colsum = STRUCTURAL_PRIMITIVES.get("colsum")!;
  const { M, K, N } = DIMS;
  // One step of B samples: the rows are the samples, each state's initial value arbitrary numbers.
  const B = 9;
  const mm = (ta: boolean, tb: boolean, k = K, n = N) => ({ m: M, k, n, ta, tb });
  for (const target of ["ts", "wasm"] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`${target} ${dtype}: every output is its definition rounded once; the bias gradient is the gradient sum in row order`, async () => {
        const kernel = await loadCell(SPEC, { dims: DIMS, target, dtype, optimize: false });
        const round = dtype === "float32" ? Math.fround : (x: number) => x;
        const arr = (xs: number[]) => (dtype === "float32" ? Float32Array.from(xs) : (Float64Array.from(xs) as unknown as Float32Array));
        const R2 = B;
        const x = { a: rows(1, M * K, R2), b: rows(2, K * N, R2), c: rows(3, K * M, R2), d: rows(4, N * K, R2), v: rows(5, K, R2) };
        const initialState = { a: arr(x.a.flat()), b: arr(x.b.flat()), c: arr(x.c.flat()), d: arr(x.d.flat()) };
        const params = kernel.createParams({ zeros: true });
        const { outputs, finalState, tape } = kernel.forward(params, { v: arr(x.v.flat()) }, { batchSize: B, initialState });
        const fin = (name: string) => Array.from(finalState[name]!);
        const want: [string, StructuralPrimitive, StructAttrs, number[][][]][] = [
          ["e1", bmm, mm(false, false), [x.a, x.b]],
          ["e2", bmm, mm(true, false), [x.c, x.b]],
          ["e3", bmm, mm(false, true), [x.a, x.d]],
          ["e4", bmm, mm(true, true), [x.c, x.d]],
          ["t", transpose, { m: M, n: K }, [x.a]],
        ];
        for (const [name, p, a, src] of want) {
          const w = p.widths(a).dst;
          // e1 adds zeros (p): x + 0 is x, but -0 becomes +0.
          expected(p, a, src, round).forEach((row, r) => expectRow(fin(name).slice(r * w, (r + 1) * w), name === "e1" ? row.map((v) => v + 0) : row, true, 0, `${target} ${dtype} ${name} row ${r}`));
        }
        const av = expected(bmm, mm(false, false, K, 1), [x.a, x.v], round);
        const out = Array.from(outputs[kernel.meta.outputs[0]!.name]!);
        av.forEach((row, r) => expectRow(out.slice(r * M, (r + 1) * M), row, true, 0, `${target} ${dtype} a @ v row ${r}`));
        expected(bmm, { m: M, k: 1, n: K, ta: false, tb: false }, [av, x.v], round).forEach((row, r) => expectRow(fin("o").slice(r * M * K, (r + 1) * M * K), row, true, 0, `${target} ${dtype} outer row ${r}`));
        // The gradient of p (used as it is in every row): the seeds of e1 summed over rows.
        const seed = rows(6, M * N, R2);
        const g = kernel.backward(params, tape, {}, { dFinalState: { e1: arr(seed.flat()) }, inputGradients: false });
        const [dp] = expected(colsum, { n: M * N }, [seed], round, new Array<number>(M * N).fill(0));
        expectRow(Array.from(g.params["p"]!), dp!, true, 0, `${target} ${dtype} gradient of p`);
      });
    }
  }

  it("their derivatives, through the float64 kernels of a recurrent spec (ts and wasm), equal central differences", async () => {
    const src = `cell g(H, I) {
  input x: [I]
  state h: [H], C: [H, H]
  param W: [H, I], b: [H], Q: [H, H]
  P = outer(tanh(W @ x + b), h)
  C' = tanh(C * 0.5 + transpose(P) @ Q + Q @ transpose(C))
  h' = tanh(C' @ h + transpose(C') @ (P @ h) + b)
  output h'
}
`;
    for (const target of ["ts", "wasm"] as const) {
      for (const optimize of [false, true]) {
        const k = await loadCell(src, { dims: { H: 3, I: 2 }, target, dtype: "float64", optimize });
        const r = gradCheck({ kernel: k, T: 3, B: 2, seed: 5, arrayType: Float64Array });
        expect(r.checked).toBeGreaterThan(k.meta.paramCount);
        for (const [name, err] of Object.entries(r.worst)) expect(err, `${target} optimize=${optimize} ${name}`).toBeLessThan(1e-6);
      }
    }
  });
});

describe("the PyTorch templates, run by torch", () => {
  const torch = findTorch();
  it.skipIf(typeof torch === "string")(torchName("every entry's template computes its definition within float32 rounding", torch), () => {
    const cases = ENTRIES.flatMap((p) => CASES[p.op]!.map((a) => ({ p, a, src: p.widths(a).src.map((n, k) => rows(70 + k, n)) })));
    const enc = (v: number) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v);
    const text = JSON.stringify(cases.map((c) => c.src.map((s) => s.map((r) => r.map(enc)))));
    const script = [
      "import json, math, sys, torch",
      "cases = json.loads(sys.stdin.read())",
      "t = lambda rows: torch.tensor([[float(v) for v in r] for r in rows], dtype=torch.float32)",
      "out = []",
      ...cases.map(({ p, a }, i) => {
        const expr = p.torch({ arg: (k) => `x${k}`, matrix: (k, r, c) => `x${k}.reshape(-1, ${r}, ${c})`, lead: "-1, " }, a);
        return `x0, *rest = [t(s) for s in cases[${i}]]; x1 = rest[0] if rest else None; out.append((${expr}).reshape(-1).tolist())`;
      }),
      "print(json.dumps(out).replace('NaN', '\"nan\"').replace('-Infinity', '\"-inf\"').replace('Infinity', '\"inf\"'))",
    ].join("\n");
    const run = spawnSync((torch as TorchEnv).python, ["-c", script], { input: text, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const parse = (v: number | string) => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number));
    const results = JSON.parse(run.stdout) as (number | string)[][];
    cases.forEach(({ p, a, src }, i) => {
      const want = expected(p, a, src, Math.fround, new Array<number>(p.widths(a).dst).fill(0)).flat();
      expectRow(results[i]!.map(parse), want, false, TOL * R, `torch ${p.op} ${show(a)}`);
    });
  });
});
