// The hand-written LSTM peer is only a fair yardstick if it computes a real LSTM and its real
// gradients. Its forward is checked against a naive per-sample loop written here, its gradients
// (weights, bias, inputs, and the Dense/MSE head) against central finite differences in float64,
// and Adam's first step against the closed form.
import { describe, expect, it } from "vitest";
import { HandwrittenLstm, HandwrittenLstmTrainer, float32, float64, lcg } from "./bench/handwritten-lstm.ts";
import { Adam, DenseMseHead } from "./bench/train-head.ts";

const I = 3, H = 4, B = 2, T = 5;

function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const r = lcg(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

/** Straightforward LSTM over one sample at a time, gates i, f, g, o: returns h [T, B, H]. */
function naiveLstm(W: ArrayLike<number>, U: ArrayLike<number>, b: ArrayLike<number>, x: ArrayLike<number>): number[] {
  const out: number[] = new Array(T * B * H).fill(0);
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  for (let s = 0; s < B; s++) {
    let h = new Array(H).fill(0), c = new Array(H).fill(0);
    for (let t = 0; t < T; t++) {
      const z = (row: number): number => {
        let v = b[row]!;
        for (let k = 0; k < I; k++) v += W[row * I + k]! * x[(t * B + s) * I + k]!;
        for (let k = 0; k < H; k++) v += U[row * H + k]! * h[k]!;
        return v;
      };
      const hn = new Array(H), cn = new Array(H);
      for (let j = 0; j < H; j++) {
        const ig = sig(z(j)), fg = sig(z(H + j)), gg = Math.tanh(z(2 * H + j)), og = sig(z(3 * H + j));
        cn[j] = fg * c[j] + ig * gg;
        hn[j] = og * Math.tanh(cn[j]);
        out[(t * B + s) * H + j] = hn[j];
      }
      h = hn;
      c = cn;
    }
  }
  return out;
}

describe("hand-written LSTM peer", () => {
  const x = randomArray(T * B * I, 3);
  const target = [0.3, -0.7];
  const rOut = randomArray(T * B * H, 5); // weights of an extra loss term on every step's output

  function setup(): { lstm: HandwrittenLstm; head: DenseMseHead } {
    const lstm = new HandwrittenLstm(I, H, float64);
    lstm.initialize(7);
    lstm.params.b.set(randomArray(4 * H, 9, 0.5)); // non-trivial bias so every path is exercised
    const head = new DenseMseHead(H, float64);
    head.bias[0] = 0.1;
    return { lstm, head };
  }

  /** loss = MSE(Dense(h_T)) + Σ rOut · h over all steps. */
  function loss(lstm: HandwrittenLstm, head: DenseMseHead, input: Float64Array): number {
    const hs = lstm.forward(input, B);
    const dummy = new Float64Array(B * H);
    let l = head.lossAndGrad(hs, (T - 1) * B * H, B, target, dummy, 0);
    for (let i = 0; i < hs.length; i++) l += rOut[i]! * hs[i]!;
    return l;
  }

  it("forward matches a naive per-sample loop", () => {
    const { lstm } = setup();
    const got = lstm.forward(x, B);
    const want = naiveLstm(lstm.params.W, lstm.params.U, lstm.params.b, x);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);
  });

  it("gradients match central finite differences", () => {
    const { lstm, head } = setup();
    const hs = lstm.forward(x, B);
    const dLast = new Float64Array(B * H);
    head.lossAndGrad(hs, (T - 1) * B * H, B, target, dLast, 0);
    lstm.backward(dLast, rOut, true);
    const eps = 1e-6;
    const check = (arr: Float64Array | Float32Array, analytic: ArrayLike<number>, input = x): void => {
      for (let i = 0; i < arr.length; i++) {
        const keep = arr[i]!;
        arr[i] = keep + eps;
        const lp = loss(lstm, head, input);
        arr[i] = keep - eps;
        const lm = loss(lstm, head, input);
        arr[i] = keep;
        const numeric = (lp - lm) / (2 * eps);
        expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(1e-7 + 1e-6 * Math.abs(numeric));
      }
    };
    const gW = lstm.grads.W.slice(), gU = lstm.grads.U.slice(), gb = lstm.grads.b.slice();
    const gx = lstm.dx.slice(), gw = head.dw.slice(), gbias = head.dbias.slice();
    check(lstm.params.W, gW);
    check(lstm.params.U, gU);
    check(lstm.params.b, gb);
    check(head.w, gw);
    check(head.bias, gbias);
    const xCopy = x.slice();
    check(xCopy, gx, xCopy);
    // Some gradient entries must be clearly non-zero, or the check proves nothing.
    expect(Math.max(...Array.from(gU, Math.abs))).toBeGreaterThan(1e-3);
  });

  it("Adam's first step moves each parameter by about lr against its gradient's sign", () => {
    const adam = new Adam(0.01);
    const p = { w: new Float64Array([1, -2, 0.5]) };
    adam.step(p, { w: new Float64Array([0.3, -4, 0]) });
    // m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps).
    expect(p.w[0]).toBeCloseTo(1 - 0.01, 6);
    expect(p.w[1]).toBeCloseTo(-2 + 0.01, 6);
    expect(p.w[2]).toBe(0.5);
  });

  it("float32 training steps reduce the loss on a fixed batch", () => {
    const trainer = new HandwrittenLstmTrainer(I, H, B, float32);
    const xs = Float32Array.from(x);
    const first = trainer.trainStep(xs, target);
    let last = first;
    for (let i = 0; i < 300; i++) last = trainer.trainStep(xs, target);
    expect(last).toBeLessThan(first * 0.5);
  });
});
