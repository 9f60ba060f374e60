// Parity of the Bidirectional layer (over the example lstm, gru and gru_reset_after kernels) with
// the three systems users bring bidirectional weights from:
// - TensorFlow.js: tf.layers.bidirectional over lstm / gru, every merge mode, with a mask for
//   per-sample lengths (tfjs supports masks here): outputs at every valid step, returned states, and
//   the gradients of a scalar loss for every weight of both directions and the input.
// - ONNX: direction "bidirectional" models run in onnxruntime-node with sequence_lens, exported from
//   cellc parameters and imported from random ONNX-layout weights: Y, Y_h, Y_c.
// - PyTorch: bidirectional=True state_dicts (weight_ih_l0_reverse, ...) against PyTorch's documented
//   equations for packed sequences (the reverse direction starts at each sequence's last element).
// Weights move through each spec's .map.json in both directions.

import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { Bidirectional, Recurrent, Rng, type MergeMode, type Tensor } from "../runtime/index.ts";
import {
  buildRnnModel,
  exportKerasBidirectional,
  exportOnnxBidirectional,
  exportPytorchBidirectional,
  importKerasBidirectional,
  importOnnxBidirectional,
  importPytorchBidirectional,
  type DirectionParams,
  type ForeignTensor,
} from "../runtime/interop/index.ts";
import { DiffLog, diff, exampleKernel, maxAbs, randomArray, randomParams, rng, swap01 } from "./interop-helpers.ts";

const [T, B, I, H] = [10, 3, 5, 7];
const LENGTHS = [10, 6, 3];
const TOL = 1e-5;
const log = new DiffLog();

beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
});
afterAll(() => log.print("parity-bidirectional: largest differences (cellc Bidirectional vs tfjs / onnxruntime / PyTorch equations)"));

interface Built {
  layer: Bidirectional;
  run(x: Float32Array, lengths?: number[]): Tensor[];
}

/** A Bidirectional layer over `kernel` holding the given parameters; x is batch-major [B, T, I]. */
async function bidi(kernel: CellKernel, params: DirectionParams, o: { mode?: MergeMode; seq?: boolean; state?: boolean } = {}): Promise<Built> {
  const layer = new Bidirectional(new Recurrent({ kernel, returnSequences: o.seq ?? true, returnState: o.state ?? false }), { mergeMode: o.mode ?? "concat", name: "bi" });
  await layer.buildCall([[null, I]], new Rng(1));
  layer.forwardLayer.setParams(params.forward);
  layer.backwardLayer.setParams(params.backward);
  return {
    layer,
    run(x, lengths) {
      const t: Tensor = { data: x, shape: [B, T, I] };
      if (lengths) t.lengths = Int32Array.from(lengths);
      return layer.forwardCall([t], { training: false }).map((y) => ({ ...y, data: Float32Array.from(y.data) }));
    },
  };
}

/** Zeroes the steps past each sample's length of a batch-major [B, T, n] array. */
function maskPadding(a: Float32Array, n: number, lengths: number[]): Float32Array {
  const out = Float32Array.from(a);
  for (let b = 0; b < B; b++) for (let t = lengths[b]!; t < T; t++) out.fill(0, (b * T + t) * n, (b * T + t + 1) * n);
  return out;
}

describe("Bidirectional matches tf.layers.bidirectional: outputs and gradients, with a mask", () => {
  const cases: Array<{ name: string; spec: string; mode: MergeMode; seq: boolean; state: boolean; lengths: boolean }> = [
    { name: "lstm concat, no mask", spec: "lstm", mode: "concat", seq: true, state: false, lengths: false },
    { name: "lstm concat", spec: "lstm", mode: "concat", seq: true, state: false, lengths: true },
    { name: "lstm sum", spec: "lstm", mode: "sum", seq: true, state: false, lengths: true },
    { name: "lstm mul", spec: "lstm", mode: "mul", seq: true, state: false, lengths: true },
    { name: "lstm ave", spec: "lstm", mode: "ave", seq: true, state: false, lengths: true },
    { name: "gru concat", spec: "gru", mode: "concat", seq: true, state: false, lengths: true },
    { name: "lstm last output + returnState", spec: "lstm", mode: "concat", seq: false, state: true, lengths: true },
    { name: "gru last output + returnState", spec: "gru", mode: "ave", seq: false, state: true, lengths: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { kernel, mapping } = await exampleKernel(c.spec, { I, H });
      const params = { forward: randomParams(kernel, 17), backward: randomParams(kernel, 18) };
      const ours = await bidi(kernel, params, { mode: c.mode, seq: c.seq, state: c.state });
      const next = rng(23);
      const x = randomArray(B * T * I, next);
      const lengths = c.lengths ? LENGTHS : [T, T, T];
      const ys = ours.run(x, c.lengths ? lengths : undefined);
      // loss = Σ y·w over every output; weights on padded steps are zero (tfjs carries the last
      // output there, cellc writes zeros: both are "no output", and no loss reads them).
      const ws = ys.map((y) => (y.shape.length === 3 ? maskPadding(randomArray(y.data.length, next), y.shape[2]!, lengths) : randomArray(y.data.length, next)));

      const inner = c.spec === "lstm" ? tf.layers.lstm : tf.layers.gru;
      const tfLayer = tf.layers.bidirectional({ layer: inner({ units: H, recurrentActivation: "sigmoid", returnSequences: c.seq, returnState: c.state }) as tf.RNN, mergeMode: c.mode });
      tf.tidy(() => void tfLayer.apply(tf.zeros([B, T, I])));
      const keras = exportKerasBidirectional(kernel.meta, mapping, params).map((w) => tf.tensor(w.data, [...w.shape]));
      tfLayer.setWeights(keras);
      tf.dispose(keras);
      const xTf = tf.tensor3d(x, [B, T, I]);
      const mask = c.lengths ? tf.tensor2d(lengths.flatMap((L) => Array.from({ length: T }, (_, t) => (t < L ? 1 : 0))), [B, T]) : undefined;
      const wTf = ys.map((y, k) => tf.tensor(ws[k]!, y.shape));
      const applyTf = (input: tf.Tensor): tf.Tensor[] => {
        const out = tfLayer.apply(input, mask ? { mask } : {}) as tf.Tensor | tf.Tensor[];
        return Array.isArray(out) ? out : [out];
      };
      const loss = (input: tf.Tensor) => tf.addN(applyTf(input).map((y, k) => tf.sum(tf.mul(y, wTf[k]!)))) as tf.Scalar;

      const yTf = tf.tidy(() => applyTf(xTf).map((y) => Float32Array.from(y.dataSync())));
      expect(yTf.length).toBe(ys.length);
      ys.forEach((y, k) => {
        const want = y.shape.length === 3 ? maskPadding(yTf[k]!, y.shape[2]!, lengths) : yTf[k]!;
        expect(maxAbs(want)).toBeGreaterThan(0.05);
        expect(log.add(`tfjs ${c.name} output ${k}`, diff(y.data, want)).rel).toBeLessThan(TOL);
      });

      // Our gradients: d loss / d outputs = ws.
      const layer = ours.layer;
      for (const p of layer.params()) p.grad.fill(0);
      ours.run(x, c.lengths ? lengths : undefined);
      const dx = Float32Array.from(layer.backwardCall(ws)[0]!);
      const vars = tfLayer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => loss(xTf), vars);
      const want = importKerasBidirectional(kernel.meta, mapping, vars.map((v) => grads[v.name]!));
      const got = (dir: "forward" | "backward", name: string) => layer.params().find((p) => p.name === `${dir}/${name}`)!.grad;
      for (const dir of ["forward", "backward"] as const) {
        for (const p of kernel.meta.params) {
          expect(log.add(`tfjs ${c.name} d/d${dir}/${p.name}`, diff(got(dir, p.name), want[dir][p.name]!)).rel, `${dir}/${p.name}`).toBeLessThan(TOL);
        }
      }
      const dxTf = tf.grad(loss)(xTf);
      expect(log.add(`tfjs ${c.name} d/dx`, diff(dx, dxTf.dataSync())).rel).toBeLessThan(TOL);
      tf.dispose([value, ...Object.values(grads), dxTf, xTf, ...wTf, ...(mask ? [mask] : [])]);
      tfLayer.dispose();
    });
  }
});

async function runOrt(bytes: Uint8Array, xTimeMajor: Float32Array, lengths: number[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ X: new ort.Tensor("float32", xTimeMajor, [T, B, I]), sequence_lens: new ort.Tensor("int32", Int32Array.from(lengths), [B]) });
  const res: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array;
  await session.release();
  return res;
}

/** [D, B, H] states from onnxruntime next to ours: forward then backward, [B, H] each. */
function compareOrt(label: string, ours: Tensor[], got: Record<string, Float32Array>, hasC: boolean): void {
  const y = swap01(got["Y"]!, T, B, 2 * H);
  expect(maxAbs(y)).toBeGreaterThan(0.05);
  expect(log.add(`${label} Y`, diff(ours[0]!.data, y)).rel).toBeLessThan(TOL);
  const n = hasC ? 2 : 1;
  const states = (name: string, k: number) => [ours[1 + k]!.data, ours[1 + n + k]!.data].flatMap((a) => Array.from(a));
  expect(log.add(`${label} Y_h`, diff(states("h", 0), got["Y_h"]!)).rel).toBeLessThan(TOL);
  if (hasC) expect(log.add(`${label} Y_c`, diff(states("c", 1), got["Y_c"]!)).rel).toBeLessThan(TOL);
}

describe("Bidirectional matches onnxruntime's bidirectional LSTM / GRU with sequence_lens", () => {
  const x = randomArray(B * T * I, rng(99)); // batch-major for cellc
  const xt = swap01(x, B, T, I); // time-major for ONNX
  for (const spec of ["lstm", "gru", "gru_reset_after"]) {
    it(`${spec}: exported to ONNX and run`, async () => {
      const { kernel, mapping } = await exampleKernel(spec, { I, H });
      const params = { forward: randomParams(kernel, 31), backward: randomParams(kernel, 32) };
      const ours = (await bidi(kernel, params, { state: true })).run(x, LENGTHS);
      const bytes = exportOnnxBidirectional(kernel.meta, mapping, params, { sequenceLengths: true, states: true });
      compareOrt(`onnx export ${spec}`, ours, await runOrt(bytes, xt, LENGTHS), spec === "lstm");
      const back = importOnnxBidirectional(kernel.meta, mapping, bytes);
      for (const p of kernel.meta.params) {
        expect(back.forward[p.name], p.name).toEqual(params.forward[p.name]);
        expect(back.backward[p.name], p.name).toEqual(params.backward[p.name]);
      }
    });
  }

  for (const [spec, op, lbr] of [["lstm", "LSTM", undefined], ["gru", "GRU", 0], ["gru_reset_after", "GRU", 1]] as const) {
    it(`${spec}: a bidirectional ${op} node with random ONNX weights, imported`, async () => {
      const { kernel, mapping } = await exampleKernel(spec, { I, H });
      const next = rng(7);
      const g = op === "LSTM" ? 4 : 3;
      const t = (shape: number[]): ForeignTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), next, 0.5) });
      const attributes = { direction: "bidirectional", ...(lbr === undefined ? {} : { linear_before_reset: lbr }) };
      const bytes = buildRnnModel([{ op, hiddenSize: H, weights: { W: t([2, g * H, I]), R: t([2, g * H, H]), B: t([2, 2 * g * H]) }, attributes }], {
        inputSize: I,
        sequenceLengths: true,
        states: true,
      });
      const want = await runOrt(bytes, xt, LENGTHS);
      const params = importOnnxBidirectional(kernel.meta, mapping, bytes);
      compareOrt(`onnx import ${spec}`, (await bidi(kernel, params, { state: true })).run(x, LENGTHS), want, op === "LSTM");
    });
  }
});

type Matrix = number[][];
const sig = (v: number) => 1 / (1 + Math.exp(-v));
const dot = (row: number[], v: ArrayLike<number>) => row.reduce((s, w, c) => s + w * v[c]!, 0);

/** One direction of nn.LSTM / nn.GRU over a packed batch (PyTorch docs' equations, float64):
 *  outputs [T, B, H] (zeros past each length) and the final h (and c). */
function torchDirection(mode: "LSTM" | "GRU", sd: Record<string, Matrix | number[]>, sfx: string, x: Float32Array, reverse: boolean) {
  const Wi = sd[`weight_ih_l0${sfx}`] as Matrix;
  const Wh = sd[`weight_hh_l0${sfx}`] as Matrix;
  const bi = sd[`bias_ih_l0${sfx}`] as number[];
  const bh = sd[`bias_hh_l0${sfx}`] as number[];
  const y = new Float64Array(T * B * H);
  const hn = new Float64Array(B * H);
  const cn = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    let c = new Float64Array(H);
    const L = LENGTHS[b]!;
    for (let s = 0; s < L; s++) {
      const t = reverse ? L - 1 - s : s;
      const xt = x.subarray((t * B + b) * I, (t * B + b + 1) * I);
      const gi = (r: number) => dot(Wi[r]!, xt) + bi[r]!;
      const gh = (r: number) => dot(Wh[r]!, h) + bh[r]!;
      const next = new Float64Array(H);
      if (mode === "LSTM") {
        const cNext = new Float64Array(H);
        for (let j = 0; j < H; j++) {
          const [i, f, g, o] = [sig(gi(j) + gh(j)), sig(gi(H + j) + gh(H + j)), Math.tanh(gi(2 * H + j) + gh(2 * H + j)), sig(gi(3 * H + j) + gh(3 * H + j))];
          cNext[j] = f * c[j]! + i * g;
          next[j] = o * Math.tanh(cNext[j]!);
        }
        c = cNext;
      } else {
        for (let j = 0; j < H; j++) {
          const r = sig(gi(j) + gh(j));
          const z = sig(gi(H + j) + gh(H + j));
          const n = Math.tanh(gi(2 * H + j) + r * gh(2 * H + j));
          next[j] = (1 - z) * n + z * h[j]!;
        }
      }
      h = next;
      y.set(h, (t * B + b) * H);
    }
    hn.set(h, b * H);
    cn.set(c, b * H);
  }
  return { y, hn, cn };
}

describe("PyTorch bidirectional=True state_dicts reproduce PyTorch's equations (packed sequences)", () => {
  const x = randomArray(B * T * I, rng(77));
  const xt = swap01(x, B, T, I);
  for (const [spec, mode] of [["lstm", "LSTM"], ["gru_reset_after", "GRU"]] as const) {
    it(`${spec} <- nn.${mode}(bidirectional=True)`, async () => {
      const { kernel, mapping } = await exampleKernel(spec, { I, H });
      const g = mode === "LSTM" ? 4 : 3;
      const next = rng(3);
      const mat = (r: number, c: number): Matrix => Array.from({ length: r }, () => Array.from(randomArray(c, next, 0.5)));
      const vec = (n: number) => Array.from(randomArray(n, next, 0.5));
      const sd: Record<string, Matrix | number[]> = {};
      for (const sfx of ["", "_reverse"]) {
        sd[`weight_ih_l0${sfx}`] = mat(g * H, I);
        sd[`weight_hh_l0${sfx}`] = mat(g * H, H);
        sd[`bias_ih_l0${sfx}`] = vec(g * H);
        sd[`bias_hh_l0${sfx}`] = vec(g * H);
      }
      const json = JSON.stringify(Object.fromEntries(Object.entries(sd).map(([k, v]) => [`enc.rnn.${k}`, v])));
      const params = importPytorchBidirectional(kernel.meta, mapping, json, { prefix: "enc.rnn." });
      const ours = (await bidi(kernel, params, { state: true })).run(x, LENGTHS);
      const f = torchDirection(mode, sd, "", xt, false);
      const r = torchDirection(mode, sd, "_reverse", xt, true);
      // output[t] = [forward h_t, reverse h_t]; h_n = [forward, reverse].
      const want = new Float64Array(T * B * 2 * H);
      for (let i = 0; i < T * B; i++) {
        want.set(f.y.subarray(i * H, (i + 1) * H), i * 2 * H);
        want.set(r.y.subarray(i * H, (i + 1) * H), i * 2 * H + H);
      }
      expect(maxAbs(want)).toBeGreaterThan(0.05);
      expect(log.add(`pytorch ${spec} output`, diff(ours[0]!.data, swap01(want, T, B, 2 * H))).rel).toBeLessThan(TOL);
      const n = mode === "LSTM" ? 2 : 1;
      expect(log.add(`pytorch ${spec} h_n`, diff([...ours[1]!.data, ...ours[1 + n]!.data], [...f.hn, ...r.hn])).rel).toBeLessThan(TOL);
      if (mode === "LSTM") expect(log.add(`pytorch ${spec} c_n`, diff([...ours[2]!.data, ...ours[4]!.data], [...f.cn, ...r.cn])).rel).toBeLessThan(TOL);
      // export -> import is the identity, and the exported dict has PyTorch's keys.
      const exported = exportPytorchBidirectional(kernel.meta, mapping, params);
      expect(Object.keys(exported).sort()).toEqual(Object.keys(sd).sort());
      const again = importPytorchBidirectional(kernel.meta, mapping, exported);
      for (const p of kernel.meta.params) {
        expect(again.forward[p.name]).toEqual(params.forward[p.name]);
        expect(again.backward[p.name]).toEqual(params.backward[p.name]);
      }
    });
  }

  it("mistakes name the direction and the key", async () => {
    const { kernel, mapping } = await exampleKernel("lstm", { I, H });
    const params: DirectionParams = { forward: randomParams(kernel, 1), backward: randomParams(kernel, 2) };
    const sd = exportPytorchBidirectional(kernel.meta, mapping, params) as Record<string, unknown>;
    delete sd["bias_hh_l0_reverse"];
    expect(() => importPytorchBidirectional(kernel.meta, mapping, sd as never)).toThrow(/the reverse direction \(keys ending in _reverse\): pytorch tensor "bias_hh_l0" is missing/);
    const fwdOnly = Object.fromEntries(Object.entries(sd).filter(([k]) => !k.endsWith("_reverse")));
    expect(() => importPytorchBidirectional(kernel.meta, mapping, fwdOnly as never)).toThrow(/no "..._reverse" tensors; it is not bidirectional/);
    const deep = await exampleKernel("deep_lstm", { I, H });
    expect(() => exportPytorchBidirectional(deep.kernel.meta, deep.mapping, { forward: randomParams(deep.kernel, 1), backward: randomParams(deep.kernel, 2) })).toThrow(/deep_lstm is a stack/);
    const fwdModel = buildRnnModel([{ op: "LSTM", hiddenSize: H, weights: { W: { shape: [1, 4 * H, I], data: new Float32Array(4 * H * I) }, R: { shape: [1, 4 * H, H], data: new Float32Array(4 * H * H) } } }], { inputSize: I });
    expect(() => importOnnxBidirectional(kernel.meta, mapping, fwdModel)).toThrow(/attribute direction is "forward" but lstm needs "bidirectional"/);
    const biModel = exportOnnxBidirectional(kernel.meta, mapping, params);
    const { importOnnx } = await import("../runtime/interop/index.ts");
    expect(() => importOnnx(kernel.meta, mapping, biModel)).toThrow(/is bidirectional \(two cells' weights\); import it with importOnnxBidirectional/);
    const tensors: Tensors = params.forward;
    expect(tensors).toBeDefined();
  });
});
