// PyTorch state_dicts (JSON of nested arrays, as `{k: v.tolist()}` writes them) imported into cellc
// kernels reproduce nn.LSTM / nn.GRU / nn.RNN, including stacked layers and proj_size. PyTorch is
// not available here, so the reference is the PyTorch documentation's equations written out in
// PyTorch layout (gates i, f, g, o and r, z, n; bias_ih + bias_hh), in double precision; on both backends.

import { afterAll, describe, expect, it } from "vitest";
import type { CellKernel } from "../abi/kernel.ts";
import { exportPytorch, importPytorch } from "../runtime/interop/index.ts";
import { DiffLog, diff, exampleKernel, maxAbs, randomArray, rng } from "./interop-helpers.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const [T, B, I, H, P] = [10, 3, 5, 7, 4];
const TOL = 1e-5;
const log = new DiffLog();
afterAll(() => log.print("interop-pytorch: largest differences (cellc kernel vs PyTorch equations)"));

type Mode = "LSTM" | "GRU" | "RNN";
type Matrix = number[][];
type StateDict = Record<string, Matrix | number[]>;

function randomStateDict(mode: Mode, layers: number, proj: number, seed: number): StateDict {
  const next = rng(seed);
  const g = mode === "LSTM" ? 4 : mode === "GRU" ? 3 : 1;
  const out = proj > 0 ? proj : H;
  const mat = (r: number, c: number): Matrix => Array.from({ length: r }, () => Array.from(randomArray(c, next, 0.5)));
  const vec = (n: number): number[] => Array.from(randomArray(n, next, 0.5));
  const sd: StateDict = {};
  for (let k = 0; k < layers; k++) {
    sd[`weight_ih_l${k}`] = mat(g * H, k === 0 ? I : out);
    sd[`weight_hh_l${k}`] = mat(g * H, out);
    sd[`bias_ih_l${k}`] = vec(g * H);
    sd[`bias_hh_l${k}`] = vec(g * H);
    if (proj > 0) sd[`weight_hr_l${k}`] = mat(proj, H);
  }
  return sd;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const matvec = (m: Matrix, v: ArrayLike<number>, row: number) => m[row]!.reduce((s, w, c) => s + w * v[c]!, 0);

/** nn.LSTM / nn.GRU / nn.RNN (tanh, unidirectional, time-major) from the PyTorch docs' equations. */
function torchReference(mode: Mode, sd: StateDict, layers: number, proj: number, x: Float32Array): Float64Array {
  const out = proj > 0 ? proj : H;
  let seq: Float64Array = Float64Array.from(x);
  let inSize = I;
  for (let k = 0; k < layers; k++) {
    const Wi = sd[`weight_ih_l${k}`] as Matrix;
    const Wh = sd[`weight_hh_l${k}`] as Matrix;
    const bi = sd[`bias_ih_l${k}`] as number[];
    const bh = sd[`bias_hh_l${k}`] as number[];
    const next = new Float64Array(T * B * out);
    for (let b = 0; b < B; b++) {
      let h = new Float64Array(out);
      let c = new Float64Array(H);
      for (let t = 0; t < T; t++) {
        const xt = seq.subarray((t * B + b) * inSize, (t * B + b + 1) * inSize);
        const gi = (row: number) => matvec(Wi, xt, row) + bi[row]!;
        const gh = (row: number) => matvec(Wh, h, row) + bh[row]!;
        const hn = new Float64Array(H);
        if (mode === "LSTM") {
          const cn = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            const i = sig(gi(j) + gh(j));
            const f = sig(gi(H + j) + gh(H + j));
            const g = Math.tanh(gi(2 * H + j) + gh(2 * H + j));
            const o = sig(gi(3 * H + j) + gh(3 * H + j));
            cn[j] = f * c[j]! + i * g;
            hn[j] = o * Math.tanh(cn[j]!);
          }
          c = cn;
        } else if (mode === "GRU") {
          for (let j = 0; j < H; j++) {
            const r = sig(gi(j) + gh(j));
            const z = sig(gi(H + j) + gh(H + j));
            const n = Math.tanh(gi(2 * H + j) + r * gh(2 * H + j));
            hn[j] = (1 - z) * n + z * h[j]!;
          }
        } else {
          for (let j = 0; j < H; j++) hn[j] = Math.tanh(gi(j) + gh(j));
        }
        h = proj > 0 ? Float64Array.from({ length: proj }, (_, j) => matvec(sd[`weight_hr_l${k}`] as Matrix, hn, j)) : hn;
        next.set(h, (t * B + b) * out);
      }
    }
    seq = next;
    inSize = out;
  }
  return seq;
}

function forward(kernel: CellKernel, params: Record<string, Float32Array>, x: Float32Array): Float32Array {
  const r = kernel.forward(params, { [kernel.meta.inputs[0]!.name]: x }, { batchSize: B });
  return r.outputs[kernel.meta.outputs[0]!.name]!;
}

const cases: Array<{ spec: string; mode: Mode; layers: number; proj: number; dims: Record<string, number> }> = [
  { spec: "lstm", mode: "LSTM", layers: 1, proj: 0, dims: { I, H } },
  { spec: "gru_reset_after", mode: "GRU", layers: 1, proj: 0, dims: { I, H } },
  { spec: "rnn", mode: "RNN", layers: 1, proj: 0, dims: { I, H } },
  { spec: "lstmp", mode: "LSTM", layers: 1, proj: P, dims: { I, H, P } },
  { spec: "deep_lstm", mode: "LSTM", layers: 3, proj: 0, dims: { I, H } },
  { spec: "dlstmp", mode: "LSTM", layers: 2, proj: P, dims: { I, H, P } },
];

describe("PyTorch state_dicts imported into cellc kernels reproduce PyTorch's equations", () => {
  const x = randomArray(T * B * I, rng(77));
  for (const c of cases) for (const target of TEST_BACKENDS) {
    const label = `${c.spec} <- nn.${c.mode}(num_layers=${c.layers}${c.proj ? `, proj_size=${c.proj}` : ""}) (${target})`;
    it(label, async () => {
      const { kernel, mapping } = await exampleKernel(c.spec, c.dims, target);
      const sd = randomStateDict(c.mode, c.layers, c.proj, 3);
      // As a user would hand it over: JSON text, inside a larger model's state_dict.
      const json = JSON.stringify(Object.fromEntries([...Object.entries(sd).map(([k, v]) => [`rnn.${k}`, v]), ["head.weight", [[1, 2]]]]));
      const params = importPytorch(kernel.meta, mapping, json, { prefix: "rnn." });
      const want = torchReference(c.mode, sd, c.layers, c.proj, x);
      expect(maxAbs(want)).toBeGreaterThan(0.05);
      expect(log.add(label, diff(forward(kernel, params, x), want)).rel).toBeLessThan(TOL);
      // export -> import is the identity; the exported dict is a valid PyTorch layout for the same function
      const exported = exportPytorch(kernel.meta, mapping, params);
      const again = importPytorch(kernel.meta, mapping, exported);
      for (const p of kernel.meta.params) expect(again[p.name], p.name).toEqual(params[p.name]);
      const wantExported = torchReference(c.mode, exported as StateDict, c.layers, c.proj, x);
      expect(diff(wantExported, want).rel).toBeLessThan(TOL);
    });
  }
});
