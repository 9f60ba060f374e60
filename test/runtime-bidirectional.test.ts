// The Bidirectional wrapper and the merge layers, with the hand-written Elman kernel: outputs
// against a plain loop that runs each sample forward and, separately, backward from its last real
// step (every merge mode, lengths, returnSequences, returnState, initial states as inputs), and every
// gradient (weights of both directions, inputs, initial states, returned states) against finite
// differences.
import { describe, expect, it } from "vitest";
import { checkCallGradients } from "./helpers/call-gradcheck.ts";
import { Bidirectional, Merge, Recurrent, Rng, type MergeMode, type Tensor, type Tensors } from "../runtime/index.ts";
import { reverseSequences } from "../runtime/layers/bidirectional.ts";
import { elmanKernel } from "./runtime-elman.ts";

const I = 3;
const H = 4;

function randomTensor(shape: number[], rng: Rng, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rng.uniform(-scale, scale)), shape };
}

/** h' = tanh(W x + U h + b) over the steps `order` of one sample (batch-major x [T, I]); outputs by step. */
function elmanRun(p: Tensors, x: Float32Array, order: number[], h0: ArrayLike<number>): { out: Map<number, number[]>; h: number[] } {
  let h = Array.from(h0);
  const out = new Map<number, number[]>();
  for (const t of order) {
    const next: number[] = [];
    for (let i = 0; i < H; i++) {
      let a = p.b![i]!;
      for (let j = 0; j < I; j++) a += p.W![i * I + j]! * x[t * I + j]!;
      for (let j = 0; j < H; j++) a += p.U![i * H + j]! * h[j]!;
      next.push(Math.tanh(a));
    }
    h = next;
    out.set(t, h);
  }
  return { out, h };
}

function merge(mode: MergeMode, a: number[], b: number[]): number[] {
  if (mode === "concat") return [...a, ...b];
  return a.map((v, i) => (mode === "sum" ? v + b[i]! : mode === "mul" ? v * b[i]! : (v + b[i]!) / 2));
}

function paramsOf(layer: Recurrent): Tensors {
  return Object.fromEntries(layer.params().map((p) => [p.name, p.value]));
}

async function bidi(mode: MergeMode, opts: { returnSequences?: boolean; returnState?: boolean; states?: boolean } = {}): Promise<Bidirectional> {
  const layer = new Bidirectional(new Recurrent({ kernel: elmanKernel(I, H), returnSequences: opts.returnSequences ?? false, returnState: opts.returnState ?? false }), { mergeMode: mode, name: "bi" });
  const shapes = [[null, I], ...(opts.states ? [[H], [H]] : [])];
  await layer.buildCall(shapes, new Rng(7));
  return layer;
}

describe("Bidirectional: outputs like a plain loop in each direction", () => {
  const B = 3;
  const T = 5;
  const lengths = Int32Array.from([5, 3, 0]);
  for (const mode of ["concat", "sum", "mul", "ave"] as const) {
    it(`${mode}, returnSequences, lengths: the backward direction starts at each sample's last real step`, async () => {
      const layer = await bidi(mode, { returnSequences: true });
      const rng = new Rng(1);
      const x = randomTensor([B, T, I], rng);
      x.lengths = lengths;
      const y = layer.forwardCall([x], { training: false })[0]!;
      const W = mode === "concat" ? 2 * H : H;
      expect(y.shape).toEqual([B, T, W]);
      expect(Array.from(y.lengths!)).toEqual([5, 3, 0]);
      const pf = paramsOf(layer.forwardLayer);
      const pb = paramsOf(layer.backwardLayer);
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        const xb = x.data.subarray(b * T * I, (b + 1) * T * I);
        const f = elmanRun(pf, xb, [...Array(L).keys()], new Array(H).fill(0));
        const r = elmanRun(pb, xb, [...Array(L).keys()].reverse(), new Array(H).fill(0));
        for (let t = 0; t < T; t++) {
          const want = t < L ? merge(mode, f.out.get(t)!, r.out.get(t)!) : new Array(W).fill(0);
          for (let j = 0; j < W; j++) expect(y.data[(b * T + t) * W + j]).toBeCloseTo(want[j]!, 5);
        }
      }
    });
  }

  it("last output, returnState and initial states: [merged, forward h, backward h]", async () => {
    const layer = await bidi("concat", { returnState: true, states: true });
    const rng = new Rng(2);
    const x = randomTensor([B, T, I], rng);
    x.lengths = lengths;
    const h0f = randomTensor([B, H], rng, 0.5);
    const h0b = randomTensor([B, H], rng, 0.5);
    const [y, hf, hb] = layer.forwardCall([x, h0f, h0b], { training: false });
    expect([y!.shape, hf!.shape, hb!.shape]).toEqual([[B, 2 * H], [B, H], [B, H]]);
    const pf = paramsOf(layer.forwardLayer);
    const pb = paramsOf(layer.backwardLayer);
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      const xb = x.data.subarray(b * T * I, (b + 1) * T * I);
      const f = elmanRun(pf, xb, [...Array(L).keys()], h0f.data.subarray(b * H, (b + 1) * H));
      const r = elmanRun(pb, xb, [...Array(L).keys()].reverse(), h0b.data.subarray(b * H, (b + 1) * H));
      // The output at each sample's last step: forward after step L-1, backward after step 0 (zeros for an empty sample).
      const want = L > 0 ? [...f.out.get(L - 1)!, ...r.out.get(0)!] : new Array(2 * H).fill(0);
      for (let j = 0; j < 2 * H; j++) expect(y!.data[b * 2 * H + j]).toBeCloseTo(want[j]!, 5);
      // States carry through the padding: an empty sample returns its initial states.
      for (let j = 0; j < H; j++) {
        expect(hf!.data[b * H + j]).toBeCloseTo(f.h[j]!, 5);
        expect(hb!.data[b * H + j]).toBeCloseTo(r.h[j]!, 5);
      }
    }
  });

  it("reverseSequences reverses each sample within its length and leaves the padding", () => {
    const x = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    expect(Array.from(reverseSequences(x, 2, 4, 1, [3, 4], new Float32Array(8)))).toEqual([3, 2, 1, 4, 40, 30, 20, 10]);
  });
});

describe("Bidirectional gradients match finite differences", () => {
  const rng = new Rng(9);
  const x = randomTensor([2, 4, I], rng);
  x.lengths = Int32Array.from([4, 2]);
  for (const mode of ["concat", "sum", "mul", "ave"] as const) {
    it(`${mode}, returnSequences, lengths`, async () => {
      const layer = await bidi(mode, { returnSequences: true });
      const W = mode === "concat" ? 2 * H : H;
      const c = randomTensor([2, 4, W], rng).data;
      const [dx] = checkCallGradients(layer, [x], [c], { tol: 3e-3 });
      // Steps past a sample's length get no gradient.
      expect(Array.from(dx!.subarray((1 * 4 + 2) * I, 2 * 4 * I)).every((v) => v === 0)).toBe(true);
    });
  }

  it("last output with returnState and initial states: gradients reach both directions' initial states", async () => {
    const layer = await bidi("concat", { returnState: true, states: true });
    const h0f = randomTensor([2, H], rng, 0.5);
    const h0b = randomTensor([2, H], rng, 0.5);
    const cs = [randomTensor([2, 2 * H], rng).data, randomTensor([2, H], rng).data, randomTensor([2, H], rng).data];
    const d = checkCallGradients(layer, [x, h0f, h0b], cs, { tol: 3e-3 });
    expect(d.length).toBe(3);
    expect(d[1]!.some((v) => v !== 0) && d[2]!.some((v) => v !== 0)).toBe(true);
  });

  it("a twin shares the weights, so gradients from two calls add up", async () => {
    const layer = await bidi("sum");
    const twin = layer.twin();
    expect(twin.params().map((p) => p.value)).toEqual(layer.params().map((p) => p.value));
    expect(twin.params()[0]!.value).toBe(layer.params()[0]!.value);
    const x2 = randomTensor([2, 3, I], rng);
    layer.forwardCall([x], { training: false });
    const y2 = Float32Array.from(twin.forwardCall([x2], { training: false })[0]!.data);
    for (const p of layer.params()) p.grad.fill(0);
    const c = randomTensor([2, H], rng).data;
    layer.backwardCall([c]);
    const g1 = layer.params().map((p) => Float32Array.from(p.grad));
    twin.backwardCall([c]);
    // The twin's own buffers were not disturbed by the first call, and its gradient was added on top.
    expect(Array.from(twin.forwardCall([x2], { training: false })[0]!.data)).toEqual(Array.from(y2));
    expect(layer.params().some((p, i) => p.grad.some((v, j) => v !== g1[i]![j]))).toBe(true);
  });
});

describe("merge layers", () => {
  it("concatenate, add, multiply, average: values and gradients", async () => {
    const rng = new Rng(3);
    for (const mode of ["concat", "sum", "mul", "ave"] as const) {
      const m = new Merge(mode, { name: "m" });
      const widths = mode === "concat" ? [2, 3, 1] : [3, 3, 3];
      const outShape = await m.buildCall(widths.map((w) => [null, w]), rng);
      expect(outShape).toEqual([[null, mode === "concat" ? 6 : 3]]);
      const xs = widths.map((w) => randomTensor([2, 2, w], rng));
      const y = m.forwardCall(xs, { training: false })[0]!;
      const v = (k: number, r: number, j: number) => xs[k]!.data[r * widths[k]! + j]!;
      for (let r = 0; r < 4; r++) {
        const want =
          mode === "concat"
            ? [0, 1, 2].flatMap((k) => Array.from({ length: widths[k]! }, (_, j) => v(k, r, j)))
            : [0, 1, 2].map((j) => (mode === "sum" ? v(0, r, j) + v(1, r, j) + v(2, r, j) : mode === "mul" ? v(0, r, j) * v(1, r, j) * v(2, r, j) : (v(0, r, j) + v(1, r, j) + v(2, r, j)) / 3));
        want.forEach((w, j) => expect(y.data[r * want.length + j]).toBeCloseTo(w, 6));
      }
      checkCallGradients(m, xs, [randomTensor(y.shape, rng).data], { tol: 1e-3 });
    }
  });

  it("refuse shapes that do not merge and a single input", async () => {
    const m = new Merge("sum", { name: "s" });
    await expect(m.buildCall([[null, 3], [null, 4]], new Rng(0))).rejects.toThrow(/layer 's' \(Add\) cannot merge \[batch, \?, 3\] and \[batch, \?, 4\]: their every axis must agree/);
    const c = new Merge("concat", { name: "c" });
    await expect(c.buildCall([[5, 3], [4]], new Rng(0))).rejects.toThrow(/cannot merge \[batch, 5, 3\] and \[batch, 4\]/);
    expect(() => c.callOutputs(1)).toThrow(/merges two or more tensors, got 1/);
  });
});

describe("Bidirectional refuses what it cannot do", () => {
  it("stateful, already built, mismatched backward layer", async () => {
    expect(() => new Bidirectional(new Recurrent({ kernel: elmanKernel(I, H), stateful: true, name: "s" }))).toThrow(/the wrapped layer 's' is stateful/);
    const built = new Recurrent({ kernel: elmanKernel(I, H) });
    await built.build([null, I], new Rng(0));
    expect(() => new Bidirectional(built)).toThrow(/already built/);
    const fwd = new Recurrent({ kernel: elmanKernel(I, H), returnSequences: true });
    expect(() => new Bidirectional(fwd, { backwardLayer: new Recurrent({ kernel: elmanKernel(I, H) }) })).toThrow(/must agree on returnSequences/);
    const small = new Bidirectional(new Recurrent({ kernel: elmanKernel(I, H) }), { backwardLayer: new Recurrent({ kernel: elmanKernel(I, H + 1) }), name: "b" });
    await expect(small.buildCall([[null, I]], new Rng(0))).rejects.toThrow(/layer 'b': both directions must give outputs of the same size, got 4 \(forward\) and 5 \(backward\)/);
    expect(() => new Bidirectional(new Recurrent({ kernel: elmanKernel(I, H), returnState: true }), { name: "b" }).callOutputs(2)).toThrow(/takes its input and 2 initial states \(forward h, then backward h\), got 2 tensors/);
  });
});
