// Parity with TensorFlow.js: the example lstm, gru (reset before) and rnn, and a two-layer stack of
// the example lstm, given the same weights as tf.layers.lstm / gru / simpleRNN / stacked cells
// (recurrentActivation sigmoid), produce the same outputs over a sequence, and the same gradients of
// a scalar loss with respect to every weight (tf.variableGrads) and the inputs (tf.grad). Weights
// move through the Keras layout of each spec's .map.json, in both directions.

import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_BACKENDS } from "./helpers/backends.ts";
import { loadCell } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { exportKeras, importKeras, parseMapping, type Mapping } from "../runtime/interop/index.ts";
import { DiffLog, SPECS, diff, exampleKernel, maxAbs, randomArray, randomParams, rng, swap01 } from "./interop-helpers.ts";

const [T, B, I, H] = [10, 3, 5, 7];
const TOL = 1e-5;
const log = new DiffLog();

beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
});
afterAll(() => log.print("parity-tfjs: largest differences (cellc kernel vs TensorFlow.js)"));

type LayerFactory = () => tf.layers.Layer;
const lstmCell = () => tf.layers.lstmCell({ units: H, recurrentActivation: "sigmoid" });

const cases: Array<{ name: string; load: (target: string) => Promise<{ kernel: CellKernel; mapping: Mapping }>; layer: LayerFactory }> = [
  { name: "lstm", load: (target) => exampleKernel("lstm", { I, H }, target), layer: () => tf.layers.lstm({ units: H, recurrentActivation: "sigmoid", returnSequences: true }) },
  { name: "gru", load: (target) => exampleKernel("gru", { I, H }, target), layer: () => tf.layers.gru({ units: H, recurrentActivation: "sigmoid", returnSequences: true }) },
  { name: "rnn", load: (target) => exampleKernel("rnn", { I, H }, target), layer: () => tf.layers.simpleRNN({ units: H, returnSequences: true }) },
  {
    name: "two-layer stacked lstm",
    load: async (target) => {
      const source = 'import { lstm } from "./lstm.cell"\n\nstack lstm2(I, H) {\n  layer lstm(I, H)\n  layer lstm(H, H)\n}\n';
      const kernel = await loadCell(source, { file: `${SPECS}lstm2.cell`, dims: { I, H }, target });
      const mapping = parseMapping({ stack: "lstm2", layers: ["lstm.map.json", "lstm.map.json"] }, {
        source: "lstm2 mapping",
        load: (ref) => JSON.parse(readFileSync(`${SPECS}${ref}`, "utf8")),
      });
      return { kernel, mapping };
    },
    layer: () => tf.layers.rnn({ cell: [lstmCell(), lstmCell()], returnSequences: true }),
  },
];

/** Builds a tfjs layer for [B, T, I] input and returns it with its weights set. */
function buildLayer(factory: LayerFactory, weights?: tf.Tensor[]): tf.layers.Layer {
  const layer = factory();
  tf.tidy(() => {
    layer.apply(tf.zeros([B, T, I]));
  });
  if (weights) layer.setWeights(weights);
  return layer;
}

function kernelRun(kernel: CellKernel, params: Tensors, x: Float32Array, dY: Float32Array) {
  const input = kernel.meta.inputs[0]!.name;
  const output = kernel.meta.outputs[0]!.name;
  const fwd = kernel.forward(params, { [input]: x }, { batchSize: B });
  const grads = kernel.backward(params, fwd.tape, { [output]: dY });
  return { y: fwd.outputs[output]!, dParams: grads.params, dx: grads.inputs[input]! };
}

describe.each(TEST_BACKENDS)("cellc kernels (%s backend) match TensorFlow.js layers: outputs and gradients", (target) => {
  for (const c of cases) {
    it(c.name, async () => {
      const { kernel, mapping } = await c.load(target);
      const params = randomParams(kernel, 17);
      const next = rng(23);
      const x = randomArray(T * B * I, next); // [T, B, I]
      const dY = randomArray(T * B * H, next); // loss = sum(y * dY)
      const ours = kernelRun(kernel, params, x, dY);

      const keras = exportKeras(kernel.meta, mapping, params).map((w) => tf.tensor(w.data, [...w.shape]));
      const layer = buildLayer(c.layer, keras);
      tf.dispose(keras);
      const xTf = tf.tensor3d(swap01(x, T, B, I), [B, T, I]);
      const wTf = tf.tensor3d(swap01(dY, T, B, H), [B, T, H]);
      const loss = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, wTf)) as tf.Scalar;

      const yTf = tf.tidy(() => layer.apply(xTf) as tf.Tensor);
      const yWant = swap01(yTf.dataSync(), B, T, H);
      expect(maxAbs(yWant)).toBeGreaterThan(0.05); // a real signal, not two zero arrays
      expect(log.add(`${c.name} outputs`, diff(ours.y, yWant)).rel).toBeLessThan(TOL);

      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => loss(xTf), vars);
      // Gradients share the weights' layout, so the Keras mapping rearranges them too (these
      // mappings have no summed bias pairs, for which import would add the parts' gradients).
      const gradList = vars.map((v) => grads[v.name]!);
      const dParamsWant = importKeras(kernel.meta, mapping, gradList);
      for (const p of kernel.meta.params) {
        expect(log.add(`${c.name} d/d${p.name}`, diff(ours.dParams[p.name]!, dParamsWant[p.name]!)).rel, p.name).toBeLessThan(TOL);
      }
      const dxTf = tf.grad(loss)(xTf);
      expect(log.add(`${c.name} d/dx`, diff(ours.dx, swap01(dxTf.dataSync(), B, T, I))).rel).toBeLessThan(TOL);
      tf.dispose([value, ...Object.values(grads), dxTf, yTf, xTf, wTf]);
      layer.dispose();
    });
  }
});

describe("Keras-layout weights taken from a tfjs layer reproduce its outputs", () => {
  it("lstm: layer.getWeights() and its JSON import into a kernel with the same outputs", async () => {
    const { kernel, mapping } = await exampleKernel("lstm", { I, H });
    const layer = buildLayer(() => tf.layers.lstm({ units: H, recurrentActivation: "sigmoid", returnSequences: true, biasInitializer: "randomNormal" }));
    const x = randomArray(T * B * I, rng(5));
    const yTf = tf.tidy(() => (layer.apply(tf.tensor3d(swap01(x, T, B, I), [B, T, I])) as tf.Tensor).dataSync());
    const want = swap01(yTf, B, T, H);
    expect(maxAbs(want)).toBeGreaterThan(0.05);
    const weights = layer.getWeights();
    const fromTensors = importKeras(kernel.meta, mapping, weights);
    const json = JSON.stringify(weights.map((w) => w.arraySync()));
    const fromJson = importKeras(kernel.meta, mapping, json);
    for (const p of kernel.meta.params) expect(fromJson[p.name]).toEqual(fromTensors[p.name]);
    const input = kernel.meta.inputs[0]!.name;
    const y = kernel.forward(fromTensors, { [input]: x }, { batchSize: B }).outputs[kernel.meta.outputs[0]!.name]!;
    expect(log.add("lstm imported from tfjs getWeights()", diff(y, want)).rel).toBeLessThan(TOL);
    // export -> import is the identity on parameters
    const again = importKeras(kernel.meta, mapping, exportKeras(kernel.meta, mapping, fromTensors));
    for (const p of kernel.meta.params) expect(again[p.name]).toEqual(fromTensors[p.name]);
    layer.dispose();
  });
});
