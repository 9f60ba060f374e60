// The plan of the new forms: which ops a spec becomes (tied weights stay a GEMM, a low-rank
// product is reassociated into two GEMMs, the outer products of the inputs are hoisted out of the
// time loop, a per-sample matrix product is a bmm), verifyPlan rejecting broken uses of the new
// ops (rowmax, rowscan, bmm, transpose), and support code inlined only into modules that use it
// (the structural entries' TypeScript against the reference: test/structural-primitives.test.ts).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile, loadCell, planKernel } from "../driver/index.ts";
import { dumpPlan } from "../compiler/plan/dump.ts";
import type { Plan, PlanOp, RowPlanOp, StructPlanOp, View } from "../compiler/plan/types.ts";
import type { StructOpName } from "../compiler/primitives/structural.ts";
import { verifyPlan } from "../compiler/plan/verify.ts";
import { Rng } from "./helpers/rng.ts";
import { gradCheck } from "./helpers/gradcheck.ts";

const dims = { I: 3, H: 4, J: 2 };
function plan(src: string, optimize = true): Plan {
  const r = planKernel(src, { dims, optimize });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.plan!;
}
const specPlan = (file: string, optimize = true) => plan(readFileSync(file, "utf8"), optimize);
const opsOf = (p: Plan) => [...p.forward.stages, ...p.backward.stages].flatMap((s) => [...s.ops, ...(s.carry ?? [])]);

describe("what the new forms become", () => {
  it("transpose(W) @ v reads W transposed in a GEMM (xw), copying nothing", () => {
    const p = plan(`cell t(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I]\n  y = transpose(W) @ h\n  h' = tanh(W @ (x + y))\n  output h'\n}`);
    const text = dumpPlan(p);
    expect(text).toMatch(/gemm xw n=3 k=4 y = h_read · W/);
    expect(opsOf(p).some((o) => o.op === "transpose" || o.op === "bmm")).toBe(false);
  });

  it("(U @ V) @ h becomes U @ (V @ h): two GEMMs in the optimised build, one per-sample product chain in the plain one", () => {
    const src = `cell lr(H, J) {\n  state h: [H]\n  param U: [H, J], V: [J, H]\n  h' = tanh((U @ V) @ h)\n  output h'\n}`;
    const opt = dumpPlan(plan(src));
    expect(opt).toMatch(/gemm xwT n=2 k=4 \S+ = h_read · V/);
    expect(opt).toMatch(/gemm xwT n=4 k=2 \S+ = \S+ · U/);
    expect(opt).not.toMatch(/bmm/);
    const plain = dumpPlan(plan(src, false));
    expect(plain).toMatch(/bmm 4×2·2×4 \S+ = bmm\(U, V\)/);
  });

  it("mlstm: the outer product of the inputs is hoisted out of the loop; the read-out C' @ q is a bmm per step", () => {
    const p = specPlan("examples/specs/mlstm.cell");
    const [hoisted, loop] = p.forward.stages;
    expect(hoisted!.kind).toBe("all");
    expect(hoisted!.ops.some((o) => o.op === "bmm" && o.attrs["k"] === 1 && o.attrs["m"] === 4 && o.attrs["n"] === 4)).toBe(true);
    expect(loop!.kind).toBe("loop");
    expect(loop!.ops.filter((o): o is StructPlanOp => o.op === "bmm").map((o) => [o.attrs["m"], o.attrs["k"], o.attrs["n"]])).toEqual([[4, 4, 1]]);
    // The matrix state is carried in place, 16 numbers per sample.
    const C = p.buffers.find((b) => b.name === "C")!;
    expect([C.kind, C.rows, C.width]).toEqual(["state", "carry", 16]);
  });

  it("softmax's shift is a row max with no gradient: onlstm's backward has no row max and no scan of a mask", () => {
    const p = specPlan("examples/specs/onlstm.cell");
    const fwd = p.forward.stages.flatMap((s) => s.ops).map((o) => o.op);
    const bwd = p.backward.stages.flatMap((s) => [...s.ops, ...(s.carry ?? [])]).map((o) => o.op);
    expect(fwd.filter((o) => o === "rowmax")).toHaveLength(2);
    expect(fwd.filter((o) => o === "rowscan")).toHaveLength(2);
    expect(bwd.filter((o) => o === "rowmax")).toHaveLength(0);
    // cumsum's adjoint is a reverse scan, one per master gate.
    expect(opsOf(p).filter((o) => o.op === "rowscan" && o.reverse)).toHaveLength(2);
  });

  it("outer(b, c) @ h of parameter vectors stays per-sample products with the right value (fuzzer find: reassociation made a GEMM of the vector c and the plan failed)", async () => {
    const src = `cell o(H) {\n  state h: [H]\n  input x: [H]\n  param b: [H], c: [H]\n  h' = tanh(outer(b, c) @ h + x)\n  output h'\n}`;
    const p = dumpPlan(plan(src));
    expect(p).not.toMatch(/gemm/);
    expect(p).toMatch(/bmm 1×4·4×1 \S+ = bmm\(c, h_read\)/);
    // The value against a hand loop: outer(b, c) @ h = b · (c · h).
    const k = await loadCell(src, { dims: { H: 4 } });
    const rng = new Rng(11);
    const params = k.createParams();
    for (const q of k.meta.params) for (let j = 0; j < q.size; j++) params[q.name]![j] = rng.normal();
    const T = 3;
    const x = Float32Array.from({ length: T * 4 }, () => rng.normal());
    const out = k.forward(params, { x }, { batchSize: 1 }).outputs[k.meta.outputs[0]!.name]!;
    let h = [0, 0, 0, 0];
    for (let t = 0; t < T; t++) {
      const ch = h.reduce((s, v, j) => s + params.c![j]! * v, 0);
      h = h.map((_, i) => Math.tanh(params.b![i]! * ch + x[t * 4 + i]!));
      h.forEach((v, i) => expect(out[t * 4 + i]).toBeCloseTo(v, 5));
    }
  });
});

describe("reassociation leaves products with a one-column matrix alone", () => {
  it("(A @ B) @ M with M [k, 1] builds and equals a hand loop (fuzzer find: the vector rewrite gave a [m] value for a [m, 1] one)", async () => {
    const src = `cell r(H, K) {\n  state s: [H, 1]\n  input x: [H]\n  param A: [H, K], B: [K, H], M: [H, 1]\n  s' = tanh((A @ B) @ M + s)\n  output x\n}`;
    const k = await loadCell(src, { dims: { H: 3, K: 2 }, dtype: "float64" });
    const rng = new Rng(3);
    const params = k.createParams();
    for (const q of k.meta.params) for (let j = 0; j < q.size; j++) params[q.name]![j] = rng.normal();
    const T = 2;
    const r = k.forward(params, { x: new Float64Array(T * 3) as never }, { batchSize: 1 });
    const { A, B, M } = params as unknown as Record<string, Float64Array>;
    let s = [0, 0, 0];
    for (let t = 0; t < T; t++) {
      const BM = [0, 1].map((j) => [0, 1, 2].reduce((acc, l) => acc + B![j * 3 + l]! * M![l]!, 0));
      s = s.map((v, i) => Math.tanh(A![i * 2]! * BM[0]! + A![i * 2 + 1]! * BM[1]! + v));
    }
    s.forEach((v, i) => expect(r.finalState["s"]![i]).toBeCloseTo(v, 12));
  });
});

describe("a [1] param scaling a matrix that is itself [1, 1]", () => {
  it("gets its gradient summed to [1] and equal to central differences (fuzzer find: the adjoint kept the [1, 1] shape and the build threw)", async () => {
    const src = `cell s(H) {\n  input x: [H]\n  state h: [H]\n  param a: [1], W: [H, H]\n  M = a * W\n  h' = tanh(M @ h + x)\n  output h'\n}`;
    for (const H of [1, 3]) {
      const k = await loadCell(src, { dims: { H }, dtype: "float64" });
      const r = gradCheck({ kernel: k, T: 4, B: 2, seed: 7, arrayType: Float64Array });
      expect(r.checked).toBeGreaterThan(k.meta.paramCount);
      for (const [name, err] of Object.entries(r.worst)) expect(err, name).toBeLessThan(1e-6);
    }
  });
});

describe("verifyPlan rejects broken uses of the new ops", () => {
  const fresh = () => structuredClone(specPlan("test/specs/matrix_forms.cell"));
  type OpOf<K extends PlanOp["op"]> = K extends StructOpName ? StructPlanOp : Extract<PlanOp, { op: K }> extends never ? RowPlanOp : Extract<PlanOp, { op: K }>;
  const find = <K extends PlanOp["op"]>(p: Plan, op: K, pred: (o: OpOf<K>) => boolean = () => true) =>
    opsOf(p).find((o): o is OpOf<K> => o.op === op && pred(o as OpOf<K>))!;

  it("a bmm whose sizes disagree with its views", () => {
    const p = fresh();
    const o = find(p, "bmm");
    o.attrs = { ...o.attrs, k: (o.attrs["k"] as number) + 1 };
    expect(() => verifyPlan(p)).toThrow(/bmm: operand views \[\d+,\d+\] for \d+×\d+·\d+×\d+.* \(expected \[\d+,\d+\]\)/);
  });

  it("a bmm writing over an operand", () => {
    const p = fresh();
    const o = find(p, "bmm", (x) => x.attrs["k"] === x.attrs["n"]);
    o.dst = { ...o.src[0]!, value: (o.dst as View).value };
    expect(() => verifyPlan(p)).toThrow(/bmm: writes \S+ over columns it reads/);
  });

  it("a transpose of the wrong size, and a row reduction into more than one column", () => {
    const p = fresh();
    const t = find(p, "transpose");
    t.attrs = { ...t.attrs, m: 3 };
    expect(() => verifyPlan(p)).toThrow(/transpose: operand views \[16\] for 3×4 \(expected \[12\]\)/);
    const q = structuredClone(specPlan("test/specs/new_functions.cell"));
    const mx = find(q, "rowmax");
    mx.dst = { ...mx.dst, width: 2 };
    expect(() => verifyPlan(q)).toThrow(/rowmax/);
  });

  it("a scan in place", () => {
    const q = structuredClone(specPlan("test/specs/new_functions.cell"));
    const sc = find(q, "rowscan");
    sc.dst = { ...sc.src, value: sc.dst.value };
    expect(() => verifyPlan(q)).toThrow(/rowscan: writes \S+ over columns it reads/);
  });
});

describe("support code is inlined only where used", () => {
  it("lstm carries neither the row ops nor erf; mlstm carries the row ops; a gelu cell carries erf", async () => {
    const code = async (src: string) => (await compile(src, { dims, format: false })).module!.code;
    const lstm = await code(readFileSync("examples/specs/lstm.cell", "utf8"));
    expect(lstm).not.toMatch(/function (rowMax|bmm|erf)\(/);
    const mlstm = await code(readFileSync("examples/specs/mlstm.cell", "utf8"));
    expect(mlstm).toMatch(/function bmm\(/);
    expect(mlstm).not.toMatch(/function erf\(/);
    const gelu = await code(`cell g(H) {\n  state h: [H]\n  h' = gelu(h) + 1\n  output h'\n}`);
    expect(gelu).toMatch(/function erf\(/);
    expect(gelu).not.toMatch(/function bmm\(/);
  });
});
