// Independent references for the cells of issue 14: an sLSTM, an mLSTM and an ON-LSTM step
// written here as plain float64 loops from the papers' equations (not through the compiler) match
// the compiled float32 kernels over a sequence, outputs and final states, to 1e-5; and the mLSTM's
// stabilized states give the same output as the paper's unstabilized recurrence.

import { describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { loadCellFile } from "../driver/index.ts";
import { Rng } from "./helpers/rng.ts";

const I = 3;
const H = 5;
const T = 7;
const B = 2;

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
const mv = (W: Float32Array, x: readonly number[], rows: number, cols: number) =>
  Array.from({ length: rows }, (_, r) => x.reduce((s, v, k) => s + W[r * cols + k]! * v, 0));
const dot = (a: ArrayLike<number>, b: readonly number[]) => b.reduce((s, v, k) => s + a[k]! * v, 0);
const add = (...vs: (readonly number[])[]) => vs[0]!.map((_, j) => vs.reduce((s, v) => s + v[j]!, 0));

type Step = (p: Tensors, x: number[], s: Record<string, number[]>) => { out: number[]; next: Record<string, number[]> };

/** xLSTM section 2.2, sigmoid forget gate in log space, stabilizer m. */
const slstm: Step = (p, x, { h, c, n, m }) => {
  const pre = (g: string) => add(mv(p[`W_${g}`]!, x, H, I), mv(p[`R_${g}`]!, h!, H, H), Array.from(p[`b_${g}`]!));
  const z = pre("z").map(Math.tanh);
  const logI = pre("i");
  const logF = pre("f").map((v) => -softplus(-v));
  const o = pre("o").map(sig);
  const m2 = logF.map((lf, j) => Math.max(lf + m![j]!, logI[j]!));
  const i = logI.map((li, j) => Math.exp(li - m2[j]!));
  const f = logF.map((lf, j) => Math.exp(lf + m![j]! - m2[j]!));
  const c2 = c!.map((cv, j) => f[j]! * cv + i[j]! * z[j]!);
  const n2 = n!.map((nv, j) => f[j]! * nv + i[j]!);
  const h2 = o.map((ov, j) => (ov * c2[j]!) / n2[j]!);
  return { out: h2, next: { h: h2, c: c2, n: n2, m: m2 } };
};

/** xLSTM section 2.3, one head, stabilized; C is row-major [H, H]. */
const mlstm: Step = (p, x, { C, n, m }) => {
  const q = add(mv(p.W_q!, x, H, I), Array.from(p.b_q!));
  const k = add(mv(p.W_k!, x, H, I).map((v) => v / Math.sqrt(H)), Array.from(p.b_k!));
  const v = add(mv(p.W_v!, x, H, I), Array.from(p.b_v!));
  const o = add(mv(p.W_o!, x, H, I), Array.from(p.b_o!)).map(sig);
  const logI = dot(p.w_i!, x) + p.b_i![0]!;
  const logF = -softplus(-(dot(p.w_f!, x) + p.b_f![0]!));
  const m2 = Math.max(logF + m![0]!, logI);
  const i = Math.exp(logI - m2);
  const f = Math.exp(logF + m![0]! - m2);
  const C2 = C!.map((cv, idx) => f * cv + i * v[Math.floor(idx / H)]! * k[idx % H]!);
  const n2 = n!.map((nv, j) => f * nv + i * k[j]!);
  const Cq = Array.from({ length: H }, (_, r) => q.reduce((s, qv, j) => s + C2[r * H + j]! * qv, 0));
  const den = Math.max(Math.abs(dot(n2, q)), Math.exp(-m2));
  return { out: o.map((ov, r) => (ov * Cq[r]!) / den), next: { C: C2, n: n2, m: [m2] } };
};

/** ON-LSTM section 4, chunk size 1. */
const onlstm: Step = (p, x, { h, c }) => {
  const pre = (g: string) => add(mv(p[`W_${g}`]!, x, H, I), mv(p[`U_${g}`]!, h!, H, H), Array.from(p[`b_${g}`]!));
  const cumax = (v: number[]) => {
    const e = v.map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    let s = 0;
    return e.map((ev) => (s += ev / z));
  };
  const f = pre("f").map(sig);
  const i = pre("i").map(sig);
  const o = pre("o").map(sig);
  const g = pre("g").map(Math.tanh);
  const mf = cumax(pre("mf"));
  const mi = cumax(pre("mi")).map((v) => 1 - v);
  const w = mf.map((v, j) => v * mi[j]!);
  const c2 = c!.map((cv, j) => (f[j]! * w[j]! + mf[j]! - w[j]!) * cv + (i[j]! * w[j]! + mi[j]! - w[j]!) * g[j]!);
  const h2 = o.map((ov, j) => ov * Math.tanh(c2[j]!));
  return { out: h2, next: { h: h2, c: c2 } };
};

async function compare(spec: string, step: Step, seed: number) {
  const k: CellKernel = await loadCellFile(`examples/specs/${spec}.cell`, { dims: { I, H } });
  const rng = new Rng(seed);
  const params = k.createParams();
  for (const p of k.meta.params) for (let j = 0; j < p.size; j++) params[p.name]![j] = rng.normal() * 0.5;
  const x = Float32Array.from({ length: T * B * I }, () => rng.normal());
  const init: Tensors = {};
  for (const s of k.meta.states) init[s.name] = Float32Array.from({ length: B * s.size }, () => rng.normal() * 0.3);
  const r = k.forward(params, { x }, { batchSize: B, initialState: init });
  let worst = 0;
  for (let b = 0; b < B; b++) {
    let st: Record<string, number[]> = {};
    for (const s of k.meta.states) st[s.name] = Array.from(init[s.name]!.subarray(b * s.size, (b + 1) * s.size));
    for (let t = 0; t < T; t++) {
      const { out, next } = step(params, Array.from(x.subarray((t * B + b) * I, (t * B + b + 1) * I)), st);
      const got = r.outputs[k.meta.outputs[0]!.name]!.subarray((t * B + b) * H, (t * B + b + 1) * H);
      out.forEach((v, j) => (worst = Math.max(worst, Math.abs(got[j]! - v) / Math.max(1, Math.abs(v)))));
      st = next;
    }
    for (const s of k.meta.states) {
      const got = r.finalState[s.name]!.subarray(b * s.size, (b + 1) * s.size);
      st[s.name]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(got[j]! - v) / Math.max(1, Math.abs(v)))));
    }
  }
  return worst;
}

describe("the xLSTM and ON-LSTM specs against plain loops", () => {
  it("slstm", async () => expect(await compare("slstm", slstm, 1)).toBeLessThan(1e-5));
  it("mlstm", async () => expect(await compare("mlstm", mlstm, 2)).toBeLessThan(1e-5));
  it("onlstm", async () => expect(await compare("onlstm", onlstm, 3)).toBeLessThan(1e-5));

  it("mlstm's stabilized states give the paper's unstabilized output", () => {
    // Unstabilized: C_t = f C + i v kᵀ, n_t = f n + i k, h = o · C q / max(|nᵀq|, 1), with
    // i = exp(log_i) and f = sigmoid(.); the stabilized states are these times exp(-m).
    const rng = new Rng(9);
    const p: Tensors = {};
    for (const [name, n] of [["W_q", H * I], ["W_k", H * I], ["W_v", H * I], ["W_o", H * I], ["b_q", H], ["b_k", H], ["b_v", H], ["b_o", H], ["w_i", I], ["w_f", I], ["b_i", 1], ["b_f", 1]] as const) {
      p[name] = Float32Array.from({ length: n }, () => rng.normal() * 0.5);
    }
    let st: Record<string, number[]> = { C: new Array<number>(H * H).fill(0), n: new Array<number>(H).fill(0), m: [0] };
    let C = new Array<number>(H * H).fill(0);
    let nn = new Array<number>(H).fill(0);
    for (let t = 0; t < 20; t++) {
      const x = Array.from({ length: I }, () => rng.normal() * 2);
      const r = mlstm(p, x, st);
      st = r.next;
      const q = add(mv(p.W_q!, x, H, I), Array.from(p.b_q!));
      const k = add(mv(p.W_k!, x, H, I).map((v) => v / Math.sqrt(H)), Array.from(p.b_k!));
      const v = add(mv(p.W_v!, x, H, I), Array.from(p.b_v!));
      const o = add(mv(p.W_o!, x, H, I), Array.from(p.b_o!)).map(sig);
      const i = Math.exp(dot(p.w_i!, x) + p.b_i![0]!);
      const f = sig(dot(p.w_f!, x) + p.b_f![0]!);
      C = C.map((cv, idx) => f * cv + i * v[Math.floor(idx / H)]! * k[idx % H]!);
      nn = nn.map((nv, j) => f * nv + i * k[j]!);
      const den = Math.max(Math.abs(dot(nn, q)), 1);
      const h = o.map((ov, row) => (ov * q.reduce((s, qv, j) => s + C[row * H + j]! * qv, 0)) / den);
      h.forEach((hv, j) => expect(r.out[j]!).toBeCloseTo(hv, 9));
    }
  });
});
