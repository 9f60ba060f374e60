// The registry's ONNX lowerings, entry by entry: each primitive's `onnx` formula, built into a
// one-formula model and run by onnxruntime-node, computes the primitive's float64 definition (in
// float32) on a grid that includes extremes, NaN and the infinities. And a kernel that uses a
// primitive without a lowering is refused with an error naming it.

import { afterAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { exportCellOnnx, OnnxExportError } from "../backends/onnx/index.ts";
import { Constants, Names, OnnxGraph } from "../backends/onnx/graph.ts";
import { ELEMENTWISE, SOFTPLUS_LINEAR_FROM } from "../compiler/primitives/elementwise.ts";
import type { Attrs, Elementwise } from "../compiler/primitives/types.ts";
import { encodeModel, valueInfo } from "../formats/onnx/schema.ts";

const GRID = [-800, -40, -20.5, -3, -1, -0.5, -1e-30, 0, 1e-30, 0.5, 1, 3, SOFTPLUS_LINEAR_FROM, 20.5, 40, 800, NaN, Infinity, -Infinity];
const SMALL = [-800, -2, -0.5, 0, 0.75, 3, 800, NaN, Infinity, -Infinity];
const ATTRS: Record<string, Attrs> = { clip: { lo: -1, hi: 2 }, between: { lo: -1, hi: 2 } };
/** onnxruntime's Sigmoid is accurate in absolute terms (about 5e-8 below 1e-6, where results
 *  flush to 0), not relative ones: its error is measured against max(|value|, 1/8). So is gelu,
 *  x/2 · (1 + erf(x/√2)) in float32 (opset 17 has no Gelu): 1 + erf cancels where erf ≈ -1
 *  (gelu(-3) is off by 6e-9, 1.4e-6 of its value). */
const FLOOR: Record<string, number> = { sigmoid: 0.125, gelu: 0.125 };

function points(p: Elementwise): number[][] {
  let out: number[][] = [[]];
  for (let k = 0; k < p.arity; k++) {
    const axis = p.op === "select" && k === 0 ? [0, 1] : p.arity === 1 ? GRID : SMALL;
    out = out.flatMap((t) => axis.map((x) => [...t, x]));
  }
  return out;
}

/** Runs p's ONNX formula over the points (operand k of every point in input x<k>). */
async function runFormula(p: Elementwise, pts: number[][]): Promise<Float32Array> {
  const names = new Names();
  const consts = new Constants(names);
  const g = new OnnxGraph(names, consts, new Set());
  const xs = Array.from({ length: p.arity }, (_, k) => names.reserve(`x${k}`));
  const y = p.onnx!(xs, ATTRS[p.op] ?? {}, g);
  g.node("Identity", [y], {}, [names.reserve("y")]);
  const bytes = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: p.op, node: g.nodes, initializer: consts.initializers, input: xs.map((x) => valueInfo(x, ["N"])), output: [valueInfo("y", ["N"])] },
  });
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  xs.forEach((x, k) => (feeds[x] = new ort.Tensor("float32", Float32Array.from(pts.map((t) => t[k]!)), [pts.length])));
  const out = await session.run(feeds);
  await session.release();
  return out["y"]!.data as Float32Array;
}

let worst = { op: "", err: 0 };
afterAll(() => console.log(`onnx-primitives: largest relative difference from the definition: ${worst.err.toExponential(2)} (${worst.op})`));

describe.each([...ELEMENTWISE.values()].map((p) => [p.op, p] as const))("%s", (_name, p) => {
  it("its ONNX formula, run by onnxruntime, computes its definition at every grid point (float32)", async () => {
    expect(p.onnx, `${p.op} has no onnx formula`).toBeDefined();
    const pts = points(p);
    const got = await runFormula(p, pts);
    pts.forEach((x, i) => {
      // The definition at the float32 operands, rounded to float32.
      const want = Math.fround(p.eval(x.map(Math.fround), ATTRS[p.op] ?? {}));
      const g = got[i]!;
      const what = `${p.op}(${x.join(", ")}) = ${g}, defined as ${want}`;
      if (!Number.isFinite(want) || !Number.isFinite(g)) {
        expect(Object.is(g, want) || (Number.isNaN(g) && Number.isNaN(want)), what).toBe(true);
        return;
      }
      const err = Math.abs(g - want) / Math.max(Math.abs(want), FLOOR[p.op] ?? 1e-30);
      if (want === 0) expect(Math.abs(g), what).toBeLessThan(1e-30);
      else expect(err, what).toBeLessThan(2 ** -20);
      if (want !== 0 && err > worst.err) worst = { op: `${p.op}(${x.join(", ")})`, err };
    });
  });
});

describe("a primitive without an ONNX lowering", () => {
  it("is refused with an error naming it", () => {
    const tanh = ELEMENTWISE.get("tanh")! as { onnx?: Elementwise["onnx"] };
    const saved = tanh.onnx;
    delete tanh.onnx;
    try {
      const src = "cell c(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I]\n  h' = tanh(W @ x + h)\n  output h'\n}\n";
      expect(() => exportCellOnnx(src, { dims: { I: 2, H: 3 } })).toThrow(OnnxExportError);
      expect(() => exportCellOnnx(src, { dims: { I: 2, H: 3 } })).toThrow(/primitive 'tanh' has no ONNX lowering/);
    } finally {
      tanh.onnx = saved;
    }
  });
});
