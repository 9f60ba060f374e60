// The recurrent layer around a kernel, tested with a hand-written Elman kernel
// (runtime-elman.ts): outputs against a plain loop over batch-major data, lengths,
// returnSequences, stateful carrying, initial state, variational dropout masks, and gradients
// against finite differences.
import { describe, expect, it } from "vitest";
import { checkLayerGradients } from "./helpers/layer-gradcheck.ts";
import { Recurrent, Rng, type CellKernel, type Tensor, type Tensors } from "../runtime/index.ts";
import { elmanKernel } from "./runtime-elman.ts";

const I = 3;
const H = 4;

function randomTensor(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-1, 1);
  return { data, shape };
}

/** Reference: run one sample through h' = tanh(W x + U h + b), batch-major input [T, I]. */
function referenceSample(p: Tensors, x: Float32Array, T: number, h0?: ArrayLike<number>): number[][] {
  let h = h0 ? Array.from(h0) : new Array<number>(H).fill(0);
  const outs: number[][] = [];
  for (let t = 0; t < T; t++) {
    const next: number[] = [];
    for (let i = 0; i < H; i++) {
      let a = p.b![i]!;
      for (let j = 0; j < I; j++) a += p.W![i * I + j]! * x[t * I + j]!;
      for (let j = 0; j < H; j++) a += p.U![i * H + j]! * h[j]!;
      next.push(Math.tanh(a));
    }
    h = next;
    outs.push(h);
  }
  return outs;
}

function paramsOf(layer: Recurrent): Tensors {
  return Object.fromEntries(layer.params().map((p) => [p.name, p.value]));
}

async function built(opts: Partial<ConstructorParameters<typeof Recurrent>[0]> = {}, kernel: CellKernel = elmanKernel(I, H)): Promise<Recurrent> {
  const layer = new Recurrent({ kernel, ...opts, name: "rec" });
  await layer.build([null, I], new Rng(7));
  return layer;
}

describe("Recurrent layer", () => {
  it("returns the output at each sample's last valid step (lengths), like a plain loop", async () => {
    const layer = await built();
    const B = 3;
    const T = 5;
    const x = randomTensor([B, T, I], new Rng(1));
    x.lengths = Int32Array.from([5, 2, 0]);
    const y = layer.forward(x, { training: false });
    expect(y.shape).toEqual([B, H]);
    const p = paramsOf(layer);
    for (let b = 0; b < B; b++) {
      const L = x.lengths[b]!;
      const ref = referenceSample(p, x.data.subarray(b * T * I, (b + 1) * T * I), L);
      const want = L > 0 ? ref[L - 1]! : new Array(H).fill(0);
      for (let i = 0; i < H; i++) expect(y.data[b * H + i]).toBeCloseTo(want[i]!, 5);
    }
  });

  it("returnSequences gives [B, T, H] batch-major with zeros past each length", async () => {
    const layer = await built({ returnSequences: true });
    const x = randomTensor([2, 4, I], new Rng(2));
    x.lengths = Int32Array.from([4, 3]);
    const y = layer.forward(x, { training: false });
    expect(y.shape).toEqual([2, 4, H]);
    expect(Array.from(y.lengths!)).toEqual([4, 3]);
    const p = paramsOf(layer);
    for (let b = 0; b < 2; b++) {
      const ref = referenceSample(p, x.data.subarray(b * 4 * I, (b + 1) * 4 * I), 4);
      for (let t = 0; t < 4; t++) {
        for (let i = 0; i < H; i++) {
          const want = t < x.lengths[b]! ? ref[t]![i]! : 0;
          expect(y.data[(b * 4 + t) * H + i]).toBeCloseTo(want, 5);
        }
      }
    }
  });

  it("stateful: two half sequences equal one whole sequence; resetStates starts over", async () => {
    const whole = await built();
    const halves = await built({ stateful: true });
    const x = randomTensor([2, 6, I], new Rng(3));
    const full = Float32Array.from(whole.forward(x, { training: false }).data);
    const first: Tensor = { data: new Float32Array(2 * 3 * I), shape: [2, 3, I] };
    const second: Tensor = { data: new Float32Array(2 * 3 * I), shape: [2, 3, I] };
    for (let b = 0; b < 2; b++) {
      first.data.set(x.data.subarray(b * 6 * I, b * 6 * I + 3 * I), b * 3 * I);
      second.data.set(x.data.subarray(b * 6 * I + 3 * I, (b + 1) * 6 * I), b * 3 * I);
    }
    halves.forward(first, { training: false });
    const y = halves.forward(second, { training: false }).data;
    for (let i = 0; i < full.length; i++) expect(y[i]).toBeCloseTo(full[i]!, 5);
    halves.resetStates();
    const again = halves.forward(second, { training: false }).data;
    const fresh = (await built()).forward(second, { training: false }).data;
    for (let i = 0; i < again.length; i++) expect(again[i]).toBeCloseTo(fresh[i]!, 5);
    expect(() => halves.forward(randomTensor([3, 3, I], new Rng(0)), { training: false })).toThrow(/stateful layer 'rec' got a batch of 3 after batches of 2/);
  });

  it("an initial state of size [n] is used for every sample", async () => {
    const h0 = Float32Array.from([0.5, -0.5, 0.25, 0]);
    const layer = await built({ initialState: { h: h0 } });
    const x = randomTensor([2, 3, I], new Rng(4));
    const y = layer.forward(x, { training: false }).data;
    const p = paramsOf(layer);
    for (let b = 0; b < 2; b++) {
      const ref = referenceSample(p, x.data.subarray(b * 3 * I, (b + 1) * 3 * I), 3, h0)[2]!;
      for (let i = 0; i < H; i++) expect(y[b * H + i]).toBeCloseTo(ref[i]!, 5);
    }
  });

  it("recurrent dropout: one mask per sequence on projected states only, none at evaluation", async () => {
    const base = elmanKernel(I, H);
    // Same cell, plus a state the cell never projects: it must not get a mask.
    const kernel: typeof base = Object.assign(Object.create(base) as typeof base, {
      meta: { ...base.meta, states: [...base.meta.states, { name: "c", size: 2, projected: false }] },
    });
    const layer = await built({ recurrentDropout: 0.5 }, kernel);
    const x = randomTensor([8, 6, I], new Rng(5));
    layer.forward(x, { training: true });
    expect(Object.keys(layer.lastStateMasks!)).toEqual(["h"]);
    const steps = base.stepMasks.at(-1)!;
    expect(steps.length).toBe(6);
    const m0 = Array.from(steps[0]!);
    for (const m of steps) expect(Array.from(m)).toEqual(m0); // the same at every step
    expect(m0.every((v) => v === 0 || v === 2)).toBe(true);
    expect(m0.some((v) => v === 0)).toBe(true);
    // Different samples get different masks, and the next sequence batch a fresh one.
    const rows = Array.from({ length: 8 }, (_, b) => m0.slice(b * H, (b + 1) * H).join());
    expect(new Set(rows).size).toBeGreaterThan(1);
    layer.forward(x, { training: true });
    expect(Array.from(base.stepMasks.at(-1)![0]!)).not.toEqual(m0);
    layer.forward(x, { training: false });
    expect(layer.lastStateMasks).toBeUndefined();
    expect(base.stepMasks.at(-1)!.length).toBe(0);
  });

  it("input dropout: the same feature mask at every step of a sequence, off at evaluation", async () => {
    const base = elmanKernel(I, H);
    const seen: Float32Array[] = [];
    const kernel: CellKernel = { ...base, forward: (p, inputs, o) => (seen.push(Float32Array.from(inputs.x!)), base.forward(p, inputs, o)) };
    const layer = await built({ dropout: 0.5 }, kernel);
    const B = 6;
    const T = 5;
    const x: Tensor = { data: new Float32Array(B * T * I).fill(1), shape: [B, T, I] };
    layer.forward(x, { training: true });
    const xs = seen[0]!; // time-major [T, B, I]
    for (let t = 1; t < T; t++) expect(Array.from(xs.subarray(t * B * I, (t + 1) * B * I))).toEqual(Array.from(xs.subarray(0, B * I)));
    expect(Array.from(xs).some((v) => v === 0)).toBe(true);
    layer.forward(x, { training: false });
    expect(Array.from(seen[1]!).every((v) => v === 1)).toBe(true);
  });

  it("parameter and input gradients match finite differences (with lengths)", async () => {
    const layer = await built();
    const rng = new Rng(9);
    const x = randomTensor([2, 4, I], rng);
    x.lengths = Int32Array.from([4, 2]);
    const c = randomTensor([2, H], rng).data;
    const dx = checkLayerGradients(layer, x, c, { tol: 2e-3 });
    // Steps past a sample's length get no gradient.
    expect(Array.from(dx.subarray((1 * 4 + 2) * I, 2 * 4 * I)).every((v) => v === 0)).toBe(true);
  });

  it("rejects a kernel generated for another version of the kernel contract", async () => {
    const old = elmanKernel(I, H);
    const kernel = { ...old, meta: { ...old.meta, abiVersion: 0 } } as CellKernel;
    const layer = new Recurrent({ kernel, name: "r" });
    await expect(layer.build([null, I], new Rng(0))).rejects.toThrow(/kernel 'elman' was generated for version 0 of the kernel contract; this runtime needs version 1/);
  });

  it("rejects a kernel whose inputs do not match the feature count", async () => {
    const layer = new Recurrent({ kernel: elmanKernel(I, H), name: "r" });
    await expect(layer.build([null, I + 1], new Rng(0))).rejects.toThrow(/cell 'elman' takes 3 input features \(x\[3\]\) but the layer's input has 4/);
  });
});
