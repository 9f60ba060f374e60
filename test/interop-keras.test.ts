// Keras' default GRU (reset_after=True, bias [2, 3u]) has no TensorFlow.js counterpart, so it is
// checked against the Keras GRU cell's equations written out here in Keras layout (kernel [I, 3u] in
// order z, r, h; row 0 of the bias is the input bias, row 1 the recurrent bias), in double precision; on both backends.

import { describe, expect, it } from "vitest";
import { exportKeras, importKeras, type ForeignTensor } from "../runtime/interop/index.ts";
import { diff, exampleKernel, maxAbs, randomArray, rng } from "./interop-helpers.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const [T, B, I, H] = [10, 3, 5, 7];

/** keras.layers.GRU(reset_after=True, recurrent_activation="sigmoid") over time-major x. */
function kerasGruResetAfter(kernel: ForeignTensor, rec: ForeignTensor, bias: ForeignTensor, x: Float32Array): Float64Array {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const y = new Float64Array(T * B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const xt = x.subarray((t * B + b) * I, (t * B + b + 1) * I);
      // matrix_x = x . kernel + input_bias; matrix_inner = h . recurrent_kernel + recurrent_bias
      const mx = Float64Array.from({ length: 3 * H }, (_, j) => xt.reduce((s, v, k) => s + v * kernel.data[k * 3 * H + j]!, 0) + bias.data[j]!);
      const mi = Float64Array.from({ length: 3 * H }, (_, j) => h.reduce((s, v, k) => s + v * rec.data[k * 3 * H + j]!, 0) + bias.data[3 * H + j]!);
      const hn = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const z = sig(mx[j]! + mi[j]!);
        const r = sig(mx[H + j]! + mi[H + j]!);
        const hh = Math.tanh(mx[2 * H + j]! + r * mi[2 * H + j]!);
        hn[j] = z * h[j]! + (1 - z) * hh;
      }
      h = hn;
      y.set(h, (t * B + b) * H);
    }
  }
  return y;
}

describe("Keras GRU(reset_after=True) weights <-> gru_reset_after", () => {
  it.each(TEST_BACKENDS)("imported weights reproduce the Keras equations; export gives them back (%s)", async (target) => {
    const { kernel, mapping } = await exampleKernel("gru_reset_after", { I, H }, target);
    const next = rng(12);
    const t = (shape: number[]): ForeignTensor => ({ shape, data: randomArray(shape.reduce((a, c) => a * c, 1), next, 0.5) });
    const weights = [t([I, 3 * H]), t([H, 3 * H]), t([2, 3 * H])];
    const x = randomArray(T * B * I, next);
    const want = kerasGruResetAfter(weights[0]!, weights[1]!, weights[2]!, x);
    expect(maxAbs(want)).toBeGreaterThan(0.05);

    const params = importKeras(kernel.meta, mapping, weights);
    const out = kernel.forward(params, { [kernel.meta.inputs[0]!.name]: x }, { batchSize: B }).outputs[kernel.meta.outputs[0]!.name]!;
    expect(diff(out, want).rel).toBeLessThan(1e-5);

    // Export puts z and r biases whole into row 0 (row 1 zero), b_in and b_hn in their own slots;
    // the function is unchanged.
    const back = exportKeras(kernel.meta, mapping, params);
    expect(back.map((w) => w.shape)).toEqual([[I, 3 * H], [H, 3 * H], [2, 3 * H]]);
    expect(back[0]!.data).toEqual(weights[0]!.data);
    expect(diff(kerasGruResetAfter(back[0]!, back[1]!, back[2]!, x), want).rel).toBeLessThan(1e-6);
    const again = importKeras(kernel.meta, mapping, back);
    for (const p of kernel.meta.params) expect(again[p.name], p.name).toEqual(params[p.name]);
  });
});
