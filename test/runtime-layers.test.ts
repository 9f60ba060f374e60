// Dense, embedding, dropout and loss gradients against central finite differences; dropout off
// at evaluation; initializers and the RNG.
import { describe, expect, it } from "vitest";
import { checkLayerGradients } from "./helpers/layer-gradcheck.ts";
import { Dense, Dropout, Embedding, getLoss, getMetric, initialize, Rng, sampleIndex, type Param, type Tensor } from "../runtime/index.ts";

/** Central difference of f with respect to a[i]. */
function fd(a: Float32Array, i: number, f: () => number, h = 1e-2): number {
  const v = a[i]!;
  a[i] = v + h;
  const up = f();
  a[i] = v - h;
  const down = f();
  a[i] = v;
  return (up - down) / (2 * h);
}

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-scale, scale);
  return a;
}

function expectClose(analytic: number, numeric: number, tol = 2e-2): void {
  expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(numeric)));
}

describe("Dense", () => {
  for (const activation of ["linear", "relu", "sigmoid", "tanh", "softmax"] as const) {
    it(`${activation}: parameter and input gradients match finite differences`, async () => {
      const rng = new Rng(3);
      const layer = new Dense(4, { activation, name: "d" });
      layer.build([2, 3], rng); // per-sample [T=2, F=3]: applied step by step
      const x: Tensor = { data: randomArray(2 * 2 * 3, rng), shape: [2, 2, 3] };
      const c = randomArray(2 * 2 * 4, rng); // loss = sum c * y
      checkLayerGradients(layer, x, c, { training: true, tol: 2e-2, relative: true });
    });
  }

  it("computes W x + b by hand", () => {
    const layer = new Dense(2);
    layer.build([3], new Rng(0));
    const [W, b] = layer.params() as [Param, Param];
    W.value.set([1, 2, 3, -1, 0, 1]);
    b.value.set([0.5, -0.5]);
    const y = layer.forward({ data: Float32Array.from([1, 1, 2]), shape: [1, 3] }, { training: false });
    expect(Array.from(y.data)).toEqual([1 + 2 + 6 + 0.5, -1 + 0 + 2 - 0.5]);
  });
});

describe("Embedding", () => {
  it("looks rows up and scatters gradients like finite differences", () => {
    const rng = new Rng(5);
    const e = new Embedding(5, 3);
    e.build([4], rng);
    const ids: Tensor = { data: Float32Array.from([1, 4, 1, 0, 2, 2, 3, 1]), shape: [2, 4] };
    const c = randomArray(2 * 4 * 3, rng);
    const loss = () => {
      const y = e.forward(ids, { training: true }).data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += c[i]! * y[i]!;
      return s;
    };
    const y = e.forward(ids, { training: true });
    expect(y.shape).toEqual([2, 4, 3]);
    const table = e.params()[0]!;
    expect(Array.from(y.data.subarray(3, 6))).toEqual(Array.from(table.value.subarray(12, 15)));
    table.grad.fill(0);
    expect(e.backward(c)).toBeNull();
    const g = Float32Array.from(table.grad);
    for (let i = 0; i < table.value.length; i++) expectClose(g[i]!, fd(table.value, i, loss));
  });

  it("rejects an id out of range, naming it", () => {
    const e = new Embedding(3, 2, { name: "emb" });
    e.build([2], new Rng(0));
    expect(() => e.forward({ data: Float32Array.from([0, 3]), shape: [1, 2] }, { training: false })).toThrow(/Embedding 'emb': input id 3 at flat index 1 is not an integer in 0..2/);
  });
});

describe("Dropout", () => {
  it("is the identity at evaluation and inverted dropout in training", () => {
    const d = new Dropout(0.5);
    d.build([1000], new Rng(1));
    const x: Tensor = { data: new Float32Array(1000).fill(1), shape: [1, 1000] };
    const ev = d.forward(x, { training: false });
    expect(Array.from(ev.data)).toEqual(Array.from(x.data));
    const tr = d.forward(x, { training: true }).data;
    const zeros = tr.filter((v) => v === 0).length;
    expect(tr.every((v) => v === 0 || v === 2)).toBe(true);
    expect(zeros).toBeGreaterThan(400);
    expect(zeros).toBeLessThan(600);
    const dx = d.backward(new Float32Array(1000).fill(1));
    expect(Array.from(dx)).toEqual(Array.from(tr));
  });
});

describe("losses", () => {
  const rng = new Rng(11);
  const probs = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(0.1, 0.9);
    return a;
  };
  const softmaxRows = (rows: number, C: number) => {
    const a = probs(rows * C);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < C; j++) s += a[r * C + j]!;
      for (let j = 0; j < C; j++) a[r * C + j]! /= s;
    }
    return a;
  };
  const cases: [string, Tensor, Tensor][] = [
    ["meanSquaredError", { data: randomArray(6, rng), shape: [3, 2] }, { data: randomArray(6, rng), shape: [3, 2] }],
    ["binaryCrossentropy", { data: probs(6), shape: [3, 2] }, { data: Float32Array.from([1, 0, 0, 1, 1, 1]), shape: [3, 2] }],
    ["categoricalCrossentropy", { data: softmaxRows(3, 3), shape: [3, 3] }, { data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 1, 0]), shape: [3, 3] }],
    ["sparseCategoricalCrossentropy", { data: softmaxRows(3, 3), shape: [3, 3] }, { data: Float32Array.from([0, 2, 1]), shape: [3] }],
    // A sequence output with lengths: steps past each length are ignored.
    ["meanSquaredError", { data: randomArray(2 * 3 * 2, rng), shape: [2, 3, 2], lengths: Int32Array.from([2, 3]) }, { data: randomArray(12, rng), shape: [2, 3, 2] }],
  ];
  for (const [name, pred, y] of cases) {
    it(`${name}${pred.lengths ? " (masked by lengths)" : ""}: value by hand and gradient vs finite differences`, () => {
      const loss = getLoss(name as "mse");
      const grad = new Float32Array(pred.data.length);
      const v = loss.compute(pred, y, grad);
      // Hand value
      const p = pred.data;
      const t = y.data;
      let hand = 0;
      if (name === "meanSquaredError") {
        let n = 0;
        for (let i = 0; i < p.length; i++) {
          const b = Math.floor(i / (p.length / pred.shape[0]!));
          const step = Math.floor((i % (p.length / pred.shape[0]!)) / pred.shape[pred.shape.length - 1]!);
          if (pred.lengths && step >= pred.lengths[b]!) continue;
          hand += (p[i]! - t[i]!) ** 2;
          n++;
        }
        hand /= n;
      } else if (name === "binaryCrossentropy") {
        for (let i = 0; i < p.length; i++) hand -= t[i]! * Math.log(p[i]!) + (1 - t[i]!) * Math.log(1 - p[i]!);
        hand /= p.length;
      } else if (name === "categoricalCrossentropy") {
        for (let i = 0; i < p.length; i++) hand -= t[i]! * Math.log(p[i]!);
        hand /= 3;
      } else {
        for (let r = 0; r < 3; r++) hand -= Math.log(p[r * 3 + t[r]!]!);
        hand /= 3;
      }
      expect(v).toBeCloseTo(hand, 5);
      for (let i = 0; i < p.length; i++) expectClose(grad[i]!, fd(pred.data, i, () => loss.compute(pred, y), 1e-3), 1e-2);
    });
  }

  it("accuracy picks binary for one unit and argmax otherwise", () => {
    const acc = getMetric("accuracy");
    const bin = acc.compute({ data: Float32Array.from([0.9, 0.2, 0.6]), shape: [3, 1] }, { data: Float32Array.from([1, 0, 0]), shape: [3, 1] }, false);
    expect(bin.value).toBeCloseTo(2 / 3, 6);
    const cat = acc.compute({ data: Float32Array.from([0.1, 0.9, 0.7, 0.3]), shape: [2, 2] }, { data: Float32Array.from([1, 1]), shape: [2] }, true);
    expect(cat.value).toBe(0.5);
  });
});

describe("initializers and RNG", () => {
  it("glorot stays within sqrt(6 / (fan_in + fan_out)) with [out, in] shapes", () => {
    const a = new Float32Array(20 * 30);
    initialize(a, [20, 30], { kind: "glorot" }, new Rng(1));
    const limit = Math.sqrt(6 / 50);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.9 * limit);
  });

  it("orthogonal gives orthonormal rows (wide) or columns (tall)", () => {
    for (const [m, n] of [[4, 6], [6, 4], [5, 5]] as const) {
      const a = new Float32Array(m * n);
      initialize(a, [m, n], { kind: "orthogonal" }, new Rng(2));
      const k = Math.min(m, n);
      for (let p = 0; p < k; p++) {
        for (let q = 0; q < k; q++) {
          let dot = 0;
          for (let j = 0; j < Math.max(m, n); j++) dot += m <= n ? a[p * n + j]! * a[q * n + j]! : a[j * n + p]! * a[j * n + q]!;
          expect(dot).toBeCloseTo(p === q ? 1 : 0, 5);
        }
      }
    }
  });

  it("zeros, ones, const, uniform and normal", () => {
    const rng = new Rng(4);
    const a = new Float32Array(4000);
    initialize(a, [4000], { kind: "const", value: 0.25 }, rng);
    expect(a.every((v) => v === 0.25)).toBe(true);
    initialize(a, [4000], { kind: "ones" }, rng);
    expect(a.every((v) => v === 1)).toBe(true);
    initialize(a, [4000], { kind: "zeros" }, rng);
    expect(a.every((v) => v === 0)).toBe(true);
    initialize(a, [4000], { kind: "uniform", low: 2, high: 3 }, rng);
    expect(a.every((v) => v >= 2 && v < 3)).toBe(true);
    initialize(a, [4000], { kind: "normal", std: 0.5 }, rng);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(0.45);
    expect(sd).toBeLessThan(0.55);
  });

  it("the RNG is deterministic per seed and shuffles into a permutation", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
    const p = Array.from(new Rng(1).permutation(50));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe("sampleIndex", () => {
  it("temperature 0 is argmax; other temperatures reweight p^(1/T)", () => {
    expect(sampleIndex([0.1, 0.7, 0.2], 0, new Rng(1))).toBe(1);
    const rng = new Rng(2);
    const count = (probs: number[], temp: number, n: number) => {
      let ones = 0;
      for (let i = 0; i < n; i++) ones += sampleIndex(probs, temp, rng);
      return ones / n;
    };
    // p = [0.2, 0.8]: T = 1 -> 0.8; T = 0.5 -> 0.64 / 0.68; T = 2 -> sqrt(.8) / (sqrt(.2) + sqrt(.8)) = 2/3.
    expect(count([0.2, 0.8], 1, 20000)).toBeCloseTo(0.8, 1);
    expect(count([0.2, 0.8], 0.5, 20000)).toBeCloseTo(0.64 / 0.68, 1);
    expect(count([0.2, 0.8], 2, 20000)).toBeCloseTo(2 / 3, 1);
    expect(() => sampleIndex([0.5, NaN], 1, rng)).toThrow(/probability 1 is NaN/);
  });
});
