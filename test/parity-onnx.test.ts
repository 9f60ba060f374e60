// Parity with onnxruntime: .onnx files holding LSTM (with and without peepholes), GRU
// (linear_before_reset 0 and 1), RNN and stacked LSTM nodes with random ONNX-layout weights run in
// onnxruntime-node; the same files imported into cellc kernels give the same outputs. Then the
// reverse: a kernel's parameters exported to .onnx run in onnxruntime with the kernel's outputs.

import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_BACKENDS } from "./helpers/backends.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { buildRnnModel, exportOnnx, importOnnx, type ForeignTensor, type RnnLayerSpec } from "../runtime/interop/index.ts";
import { DiffLog, diff, exampleKernel, maxAbs, randomArray, randomParams, rng } from "./interop-helpers.ts";

const [T, B, I, H] = [10, 3, 5, 7];
const TOL = 1e-5;
const log = new DiffLog();
afterAll(() => log.print("parity-onnx: largest differences (cellc kernel vs onnxruntime)"));

async function runOrt(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ X: new ort.Tensor("float32", x, [T, B, I]) });
  const y = out["Y"]!.data as Float32Array;
  await session.release();
  return y;
}

function runKernel(kernel: CellKernel, params: Tensors, x: Float32Array): Float32Array {
  const out = kernel.forward(params, { [kernel.meta.inputs[0]!.name]: x }, { batchSize: B });
  return out.outputs[kernel.meta.outputs[0]!.name]!;
}

/** Random ONNX-layout weights for one node: W [1, G*H, in], R [1, G*H, H], B [1, 2*G*H], optional P [1, 3H]. */
function onnxLayer(op: "LSTM" | "GRU" | "RNN", inSize: number, seed: number, opts: { peep?: boolean; lbr?: number } = {}): RnnLayerSpec {
  const next = rng(seed);
  const g = op === "LSTM" ? 4 : op === "GRU" ? 3 : 1;
  const t = (shape: number[]): ForeignTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), next, 0.5) });
  const weights: RnnLayerSpec["weights"] = {
    W: t([1, g * H, inSize]),
    R: t([1, g * H, H]),
    B: t([1, 2 * g * H]),
    ...(opts.peep ? { P: t([1, 3 * H]) } : {}),
  };
  return { op, hiddenSize: H, weights, ...(opts.lbr === undefined ? {} : { attributes: { linear_before_reset: opts.lbr } }) };
}

const cases: Array<{ name: string; spec: string; layers: RnnLayerSpec[] }> = [
  { name: "LSTM -> lstm", spec: "lstm", layers: [onnxLayer("LSTM", I, 1)] },
  { name: "LSTM with peepholes -> lstm_peephole", spec: "lstm_peephole", layers: [onnxLayer("LSTM", I, 2, { peep: true })] },
  { name: "GRU linear_before_reset=0 -> gru", spec: "gru", layers: [onnxLayer("GRU", I, 3, { lbr: 0 })] },
  { name: "GRU linear_before_reset=1 -> gru_reset_after", spec: "gru_reset_after", layers: [onnxLayer("GRU", I, 4, { lbr: 1 })] },
  { name: "RNN -> rnn", spec: "rnn", layers: [onnxLayer("RNN", I, 5)] },
  { name: "3 LSTM nodes -> deep_lstm", spec: "deep_lstm", layers: [onnxLayer("LSTM", I, 6), onnxLayer("LSTM", H, 7), onnxLayer("LSTM", H, 8)] },
];

describe.each(TEST_BACKENDS)("ONNX files imported into cellc kernels (%s backend) match onnxruntime", (target) => {
  const x = randomArray(T * B * I, rng(99));
  for (const c of cases) {
    it(c.name, async () => {
      const { kernel, mapping } = await exampleKernel(c.spec, { I, H }, target);
      const bytes = buildRnnModel(c.layers, { inputSize: I });
      const want = await runOrt(bytes, x);
      expect(maxAbs(want)).toBeGreaterThan(0.05);
      const params = importOnnx(kernel.meta, mapping, bytes);
      expect(log.add(`import ${c.name}`, diff(runKernel(kernel, params, x), want)).rel).toBeLessThan(TOL);
    });
  }
});

describe.each(TEST_BACKENDS)("kernel parameters (%s backend) exported to ONNX run in onnxruntime with the kernel's outputs", (target) => {
  const x = randomArray(T * B * I, rng(42));
  for (const spec of ["lstm", "lstm_peephole", "gru", "gru_reset_after", "rnn", "deep_lstm"]) {
    it(spec, async () => {
      const { kernel, mapping } = await exampleKernel(spec, { I, H }, target);
      const params = randomParams(kernel, 31);
      const bytes = exportOnnx(kernel.meta, mapping, params);
      const want = await runOrt(bytes, x);
      expect(log.add(`export ${spec}`, diff(runKernel(kernel, params, x), want)).rel).toBeLessThan(TOL);
      // export -> import gives the same parameters back, bit for bit
      const back = importOnnx(kernel.meta, mapping, bytes);
      for (const p of kernel.meta.params) expect(back[p.name], p.name).toEqual(params[p.name]);
    });
  }
});
