// The ONNX layer on its own: models written by buildRnnModel load and run in onnxruntime-node and
// agree with the ONNX operator equations (hand-written here in ONNX layout, in double precision);
// readRnnNodes gives back the exact weights; nodes that disagree with a mapping are refused.

import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { KernelMeta } from "../abi/kernel.ts";
import { InteropError, buildRnnModel, importOnnx, loadMapping, readRnnNodes, type ForeignTensor, type RnnLayerSpec } from "../runtime/interop/index.ts";

const SPECS = new URL("../examples/specs/", import.meta.url).pathname;
const [T, B, I, H] = [10, 3, 5, 7];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function tensor(shape: number[], next: () => number, scale = 0.5): ForeignTensor {
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * next()) };
}

async function runOrt(bytes: Uint8Array, x: Float32Array, inputSize: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ X: new ort.Tensor("float32", x, [T, B, inputSize]) });
  return out["Y"]!.data as Float32Array;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** One layer of the ONNX LSTM / GRU / RNN equations over [T, B, in] -> [T, B, H], ONNX layout weights. */
function reference(layer: RnnLayerSpec, x: ArrayLike<number>, inSize: number): Float64Array {
  const { W, R, B: Bt, P } = layer.weights;
  const gates = W!.shape[1]! / H;
  const w = (g: number, r: number, c: number) => W!.data[(g * H + r) * inSize + c]!;
  const rr = (g: number, r: number, c: number) => R!.data[(g * H + r) * H + c]!;
  const wb = (g: number, r: number) => (Bt ? Bt.data[g * H + r]! : 0);
  const rb = (g: number, r: number) => (Bt ? Bt.data[gates * H + g * H + r]! : 0);
  const p = (g: number, r: number) => (P ? P.data[g * H + r]! : 0);
  const lbr = layer.attributes?.["linear_before_reset"] === 1;
  const y = new Float64Array(T * B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    let c = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const xt = (k: number) => x[(t * B + b) * inSize + k]!;
      const wx = (g: number, r: number) => {
        let s = 0;
        for (let k = 0; k < inSize; k++) s += w(g, r, k) * xt(k);
        return s;
      };
      const rh = (g: number, r: number, v: ArrayLike<number>) => {
        let s = 0;
        for (let k = 0; k < H; k++) s += rr(g, r, k) * v[k]!;
        return s;
      };
      const hn = new Float64Array(H);
      if (layer.op === "LSTM") {
        const cn = new Float64Array(H);
        for (let r = 0; r < H; r++) {
          // gate blocks i, o, f, c; peepholes i, o, f
          const pre = (g: number) => wx(g, r) + rh(g, r, h) + wb(g, r) + rb(g, r);
          const i = sig(pre(0) + p(0, r) * c[r]!);
          const f = sig(pre(2) + p(2, r) * c[r]!);
          const cc = Math.tanh(pre(3));
          cn[r] = f * c[r]! + i * cc;
          const o = sig(pre(1) + p(1, r) * cn[r]!);
          hn[r] = o * Math.tanh(cn[r]!);
        }
        c = cn;
      } else if (layer.op === "GRU") {
        const z = Float64Array.from({ length: H }, (_, r) => sig(wx(0, r) + rh(0, r, h) + wb(0, r) + rb(0, r)));
        const rg = Float64Array.from({ length: H }, (_, r) => sig(wx(1, r) + rh(1, r, h) + wb(1, r) + rb(1, r)));
        const rhProd = Float64Array.from({ length: H }, (_, k) => rg[k]! * h[k]!);
        for (let r = 0; r < H; r++) {
          const cand = lbr
            ? Math.tanh(wx(2, r) + rg[r]! * (rh(2, r, h) + rb(2, r)) + wb(2, r))
            : Math.tanh(wx(2, r) + rh(2, r, rhProd) + rb(2, r) + wb(2, r));
          hn[r] = (1 - z[r]!) * cand + z[r]! * h[r]!;
        }
      } else {
        for (let r = 0; r < H; r++) hn[r] = Math.tanh(wx(0, r) + rh(0, r, h) + wb(0, r) + rb(0, r));
      }
      h = hn;
      y.set(h, (t * B + b) * H);
    }
  }
  return y;
}

function layerSpec(op: "LSTM" | "GRU" | "RNN", inSize: number, seed: number, extra: { peep?: boolean; lbr?: number } = {}): RnnLayerSpec {
  const next = rng(seed);
  const g = op === "LSTM" ? 4 : op === "GRU" ? 3 : 1;
  const weights: Record<string, ForeignTensor> = {
    W: tensor([1, g * H, inSize], next),
    R: tensor([1, g * H, H], next),
    B: tensor([1, 2 * g * H], next),
  };
  if (extra.peep) weights["P"] = tensor([1, 3 * H], next);
  return { op, hiddenSize: H, weights, ...(extra.lbr === undefined ? {} : { attributes: { linear_before_reset: extra.lbr } }) };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

describe("ONNX models built by cellc run in onnxruntime and follow the operator equations", () => {
  const x = tensor([T, B, I], rng(99), 1).data;
  const cases: Array<[string, RnnLayerSpec[]]> = [
    ["LSTM", [layerSpec("LSTM", I, 1)]],
    ["LSTM with peepholes", [layerSpec("LSTM", I, 2, { peep: true })]],
    ["GRU linear_before_reset=0", [layerSpec("GRU", I, 3, { lbr: 0 })]],
    ["GRU linear_before_reset=1", [layerSpec("GRU", I, 4, { lbr: 1 })]],
    ["RNN", [layerSpec("RNN", I, 5)]],
    ["two stacked LSTMs", [layerSpec("LSTM", I, 6), layerSpec("LSTM", H, 7)]],
  ];
  for (const [name, layers] of cases) {
    it(name, async () => {
      const bytes = buildRnnModel(layers, { inputSize: I });
      const got = await runOrt(bytes, x, I);
      let want: ArrayLike<number> = x;
      let inSize = I;
      for (const l of layers) {
        want = reference(l, want, inSize);
        inSize = H;
      }
      expect(got.length).toBe(T * B * H);
      expect(maxRelDiff(got, want)).toBeLessThan(1e-5);
      // Reading the file back gives the exact weights and attributes.
      const nodes = readRnnNodes(bytes);
      expect(nodes.map((n) => n.op)).toEqual(layers.map((l) => l.op));
      nodes.forEach((n, k) => {
        for (const [slot, t] of Object.entries(layers[k]!.weights)) {
          expect(n.weights[slot]!.shape).toEqual(t!.shape);
          expect(n.weights[slot]!.data).toEqual(t!.data);
        }
        expect(n.attributes["hidden_size"]).toBe(H);
      });
    });
  }
});

describe("ONNX import checks the node against the mapping", () => {
  const gruMeta: KernelMeta = {
    abiVersion: 1,
    backend: "ts",
    name: "gru",
    kind: "cell",
    dims: { I, H },
    inputs: [],
    states: [],
    outputs: [],
    params: ["z", "r", "n"].flatMap((g) => [
      { name: `W_${g}`, shape: [H, I], size: H * I, init: { kind: "zeros" } as const },
      { name: `U_${g}`, shape: [H, H], size: H * H, init: { kind: "zeros" } as const },
      { name: `b_${g}`, shape: [H], size: H, init: { kind: "zeros" } as const },
    ]),
    paramCount: 3 * (H * I + H * H + H),
  };
  const gruMap = loadMapping(`${SPECS}gru.map.json`);
  const expectError = (f: () => unknown, text: string) => {
    expect(f).toThrow(InteropError);
    expect(f).toThrow(text);
  };

  it("imports a matching GRU and sums Wb + Rb into the spec bias", () => {
    const spec = layerSpec("GRU", I, 8, { lbr: 0 });
    const params = importOnnx(gruMeta, gruMap, buildRnnModel([spec], { inputSize: I }));
    const Bt = spec.weights.B!.data;
    for (let r = 0; r < H; r++) expect(params["b_r"]![r]).toBeCloseTo(Bt[H + r]! + Bt[4 * H + r]!, 6);
    expect(params["U_n"]![3]).toBe(spec.weights.R!.data[2 * H * H + 3]);
  });

  it("refuses a reset-after GRU for the reset-before spec, an LSTM node, and two nodes for one cell", () => {
    expectError(() => importOnnx(gruMeta, gruMap, buildRnnModel([layerSpec("GRU", I, 8, { lbr: 1 })], { inputSize: I })), "linear_before_reset is 1");
    expectError(() => importOnnx(gruMeta, gruMap, buildRnnModel([layerSpec("LSTM", I, 8)], { inputSize: I })), "is an LSTM node");
    const two = buildRnnModel([layerSpec("GRU", I, 8), layerSpec("GRU", H, 9)], { inputSize: I });
    expectError(() => importOnnx(gruMeta, gruMap, two), "2 recurrent nodes");
  });

  it("refuses unsupported attributes, bidirectional nodes and wrong weight shapes", () => {
    const withClip: RnnLayerSpec = { ...layerSpec("GRU", I, 8), attributes: { clip: 3.5 } };
    expectError(() => importOnnx(gruMeta, gruMap, buildRnnModel([withClip], { inputSize: I })), 'attribute "clip"');
    const reverse: RnnLayerSpec = { ...layerSpec("GRU", I, 8), attributes: { direction: "reverse" } };
    expectError(() => importOnnx(gruMeta, gruMap, buildRnnModel([reverse], { inputSize: I })), "direction");
    const wide = layerSpec("GRU", I + 1, 8);
    expectError(() => importOnnx(gruMeta, gruMap, buildRnnModel([wide], { inputSize: I + 1 })), "W_z, W_r, W_n");
    expectError(() => importOnnx(gruMeta, gruMap, new Uint8Array([0xff, 0xff, 0xff])), "not a readable ONNX model");
  });
});
