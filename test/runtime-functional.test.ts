// Functional models with the hand-written Elman kernel: a chain trains exactly like the same
// Sequential; a model with two inputs, two outputs, a shared layer and states passed from one
// recurrent layer to another gets every weight's gradient right (against finite differences of
// evaluate's loss); layers shared with inference models give the training model's numbers;
// summary, save/load; and bad graphs and bad data are errors naming the layers and arguments.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { adam, concatenate, dense, dropout, input, model, recurrent, Rng, sequential, sgd, SymbolicTensor, type Node, type Tensor } from "../runtime/index.ts";
import { elmanKernel } from "./runtime-elman.ts";

function data(n: number, T: number, F: number, seed: number): Tensor {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n * T * F }, () => rng.uniform(-1, 1)), shape: [n, T, F] };
}

function labels(x: Tensor): Tensor {
  const [n, T] = [x.shape[0]!, x.shape[1]!];
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += x.data[i * T + t]!;
    y[i] = s > 0 ? 1 : 0;
  }
  return { data: y, shape: [n, 1] };
}

/** Two inputs, two outputs; `enc` hands its final state to `dec`; `shared` is called twice. */
function twoHeaded(seed: number) {
  const a = input({ shape: [null, 2], name: "a" });
  const b = input({ shape: [null, 2], name: "b" });
  const enc = recurrent({ kernel: elmanKernel(2, 3), returnState: true, name: "enc" });
  const [ya, ha] = enc.applyAll(a);
  const dec = recurrent({ kernel: elmanKernel(2, 3), returnSequences: true, name: "dec" });
  const sb = dec.apply(b, { initialState: [ha!] });
  const shared = dense(3, { activation: "tanh", name: "shared" });
  const u = shared.apply(ya!);
  const v = shared.apply(ha!);
  const out1 = dense(1, { name: "sum" }).apply(concatenate({ name: "cat" }).apply([u, v]));
  const out2 = dense(2, { activation: "softmax", name: "next" }).apply(sb);
  const m = model({ inputs: [a, b], outputs: [out1, out2], seed });
  return { m, a, b, enc, dec, shared, ha: ha!, sb };
}

function twoHeadedData(n: number) {
  const xa = data(n, 4, 2, 1);
  const xb = data(n, 3, 2, 2);
  xb.lengths = Int32Array.from({ length: n }, (_, i) => 1 + (i % 3));
  const rng = new Rng(3);
  const y1: Tensor = { data: Float32Array.from({ length: n }, () => rng.uniform(-1, 1)), shape: [n, 1] };
  const y2: Tensor = { data: Float32Array.from({ length: n * 3 }, () => (rng.next() < 0.5 ? 0 : 1)), shape: [n, 3] };
  return { x: [xa, xb], y: [y1, y2] };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "cellc-fn-"));

describe("functional models", () => {
  it("a chain built with input() and apply() trains exactly like the same Sequential", async () => {
    const x = data(96, 5, 1, 4);
    const y = labels(x);
    const opts = { epochs: 3, batchSize: 16, verbose: 0 as const, validationSplit: 0.25 };
    const compile = { optimizer: adam({ learningRate: 0.05 }), loss: "binaryCrossentropy" as const, metrics: ["accuracy" as const] };
    const s = sequential([recurrent({ kernel: elmanKernel(1, 5) }), dropout(0.3), dense(1, { activation: "sigmoid" })], { seed: 11 });
    s.compile(compile);
    const hs = await s.fit(x, y, opts);
    const inp = input({ shape: [null, 1] });
    const out = dense(1, { activation: "sigmoid" }).apply(dropout(0.3).apply(recurrent({ kernel: elmanKernel(1, 5) }).apply(inp)));
    const f = model({ inputs: inp, outputs: out, seed: 11 });
    f.compile({ ...compile, optimizer: adam({ learningRate: 0.05 }) });
    const hf = await f.fit(x, y, opts);
    expect(hf.history).toEqual(hs.history);
    expect(Array.from((f.predict(x) as Tensor).data)).toEqual(Array.from(s.predict(x).data));
    expect(f.evaluate(x, y)).toEqual(s.evaluate(x, y));
  });

  it("two inputs, two outputs, a shared layer and passed states: every gradient matches finite differences", async () => {
    const { m } = twoHeaded(5);
    m.compile({ optimizer: sgd({ learningRate: 1e-30 }), loss: ["mse", "sparseCategoricalCrossentropy"], lossWeights: [1, 0.5] });
    await m.build();
    const { x, y } = twoHeadedData(6);
    const { loss } = m.trainOnBatch(x, y);
    const total = () => m.evaluate(x, y, { batchSize: 64 }).loss!;
    expect(total()).toBeCloseTo(loss, 5);
    const h = 1e-2;
    let checked = 0;
    for (const p of m.params()) {
      for (let i = 0; i < p.value.length; i++) {
        const v = p.value[i]!;
        p.value[i] = v + h;
        const up = total();
        p.value[i] = v - h;
        const down = total();
        p.value[i] = v;
        const numeric = (up - down) / (2 * h);
        expect(Math.abs(p.grad[i]! - numeric), `${p.name}[${i}]`).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
        checked++;
      }
    }
    expect(checked).toBe(m.paramCount());
    // The encoder is trained only through the state it hands to the decoder and the shared layer.
    const enc = m.params().filter((p) => p.grad.some((g) => g !== 0));
    expect(enc.length).toBe(m.params().length);
  });

  it("fit and evaluate name each output's loss; inputs and labels can be given by name", async () => {
    const { m } = twoHeaded(6);
    m.compile({ optimizer: adam({ learningRate: 0.02 }), loss: { sum: "mse", next: "sparseCategoricalCrossentropy" }, metrics: ["accuracy"] });
    const { x, y } = twoHeadedData(32);
    const h = await m.fit({ a: x[0]!, b: x[1]! }, { sum: y[0]!, next: y[1]! }, { epochs: 4, batchSize: 8, verbose: 0 });
    expect(Object.keys(h.history)).toEqual(["loss", "sum_loss", "next_loss", "sum_accuracy", "next_accuracy"]);
    expect(h.history.loss![3]!).toBeLessThan(h.history.loss![0]!);
    const e = m.evaluate(x, y);
    expect(e.loss).toBeCloseTo(e.sum_loss! + e.next_loss!, 5);
    const p = m.predict(x) as Tensor[];
    expect(p.map((t) => t.shape)).toEqual([[32, 1], [32, 3, 2]]);
    expect(Array.from(p[1]!.lengths!)).toEqual(Array.from(x[1]!.lengths!));
  });

  it("layers shared with inference models give the training model's numbers", async () => {
    const { m, a, b, enc, dec, ha } = twoHeaded(7);
    await m.build();
    const { x } = twoHeadedData(5);
    const [, seqWant] = m.predict(x) as Tensor[];
    // The encoder alone, then the decoder fed its state through an input of its own.
    const encoder = model({ inputs: a, outputs: ha });
    const hIn = input({ shape: [3], name: "h_in" });
    const decoder = model({ inputs: [b, hIn], outputs: m.graph.outputs[1]!.node!.layer.apply(dec.apply(b, { initialState: [hIn] })) });
    await encoder.build();
    await decoder.build();
    expect(encoder.paramCount()).toBe(enc.paramCount());
    const h = encoder.predict(x[0]!) as Tensor;
    const seq = decoder.predict([x[1]!, h]) as Tensor;
    expect(Array.from(seq.data)).toEqual(Array.from(seqWant!.data));
  });

  it("summary lists each layer once with what it reads; shared weights count once", async () => {
    const { m, shared } = twoHeaded(1);
    await m.build();
    const s = m.summary();
    expect(s).toMatch(/shared \(Dense\)\s+\[batch, 3\]\s+12\s+enc\[0\]; enc\[1\]/);
    expect(s).toMatch(/enc \(elman\)\s+\[batch, 3\], \[batch, 3\]\s+18\s+a/);
    expect(s).toMatch(/dec \(elman\)\s+\[batch, \?, 3\]\s+18\s+b, enc\[1\]/);
    expect(s).toContain(`Total params: ${18 + 18 + 12 + 7 + 8}`);
    expect(m.paramCount()).toBe(63);
    expect(m.weights().filter((w) => w.name.startsWith("shared/")).length).toBe(shared.params().length);
  });

  it("save -> load -> predict gives identical outputs", async () => {
    const { x, y } = twoHeadedData(16);
    const a = twoHeaded(1).m;
    a.compile({ optimizer: "adam", loss: ["mse", "sparseCategoricalCrossentropy"] });
    await a.fit(x, y, { epochs: 1, verbose: 0 });
    const file = path.join(tmp(), "m");
    await a.save(file);
    const b = twoHeaded(2).m;
    await b.build();
    const pa = (a.predict(x) as Tensor[]).map((t) => Array.from(t.data));
    expect((b.predict(x) as Tensor[]).map((t) => Array.from(t.data))).not.toEqual(pa);
    await b.load(file);
    expect((b.predict(x) as Tensor[]).map((t) => Array.from(t.data))).toEqual(pa);
  });
});

describe("bad graphs are errors naming the layers", () => {
  it("shapes that do not connect", async () => {
    const x = input({ shape: [null, 2], name: "x" });
    const bad = model({ inputs: x, outputs: recurrent({ kernel: elmanKernel(3, 4), name: "rnn" }).apply(dense(4, { name: "proj" }).apply(x)) });
    await expect(bad.build()).rejects.toThrow(/building layer 'rnn' \(elman\), applied to 'proj' \[batch, \?, 4\]: recurrent layer 'rnn': cell 'elman' takes 3 input features \(x\[3\]\) but the layer's input has 4/);
    const enc = recurrent({ kernel: elmanKernel(2, 5), returnState: true, name: "enc" });
    const [, h] = enc.applyAll(x);
    const dec = recurrent({ kernel: elmanKernel(2, 4), name: "dec" });
    const m = model({ inputs: x, outputs: dec.apply(x, { initialState: [h!] }) });
    await expect(m.build()).rejects.toThrow(/building layer 'dec' \(elman\), applied to 'x' \[batch, \?, 2\], 'enc\[1\]' \[batch, 5\]: layer 'dec': initial state 'h' must be \[batch, 4\], got \[batch, 5\]/);
    const d = dense(3, { name: "d" });
    const v = input({ shape: [4], name: "v" });
    const w = input({ shape: [5], name: "w" });
    const twice = model({ inputs: [v, w], outputs: [d.apply(v), d.apply(w)] });
    await expect(twice.build()).rejects.toThrow(/building layer 'd' \(Dense\), applied to 'w' \[batch, 5\]: layer 'd' was built for input \[batch, 4\] but is applied again to \[batch, 5\]/);
    expect(() => dec.apply(x, { initialState: [h!, h!] })).toThrow(/layer 'dec' takes its input and 1 initial state \(h\), got 3 tensors/);
  });

  it("an output the inputs do not reach, an unused input, a cycle, two layers with one name", () => {
    const x = input({ shape: [3], name: "x" });
    const z = input({ shape: [3], name: "z" });
    const y = dense(2, { name: "head" }).apply(z);
    expect(() => model({ inputs: x, outputs: y })).toThrow(/output 'head' cannot be computed from the model's inputs \('x'\): it depends on input 'z', which is not one of them/);
    expect(() => model({ inputs: [x, z], outputs: y })).toThrow(/input 'x' is not used by any output/);
    expect(() => model({ inputs: x, outputs: [dense(2, { name: "same" }).apply(x), dense(2, { name: "same" }).apply(x)] })).toThrow(/two layers are named 'same' \(Dense and Dense\)/);
    // apply() cannot close a loop (a call's inputs exist before it); a graph assembled by hand can.
    const a = dense(3, { name: "a" });
    const b = dense(3, { name: "b" });
    const outsA: SymbolicTensor[] = [];
    const nodeA: Node = { layer: a, inputs: [], outputs: outsA, serial: 1e9 };
    const ta = new SymbolicTensor(nodeA, 0, [3]);
    outsA.push(ta);
    const tb = b.apply(ta);
    (nodeA.inputs as SymbolicTensor[]).push(tb);
    expect(() => model({ inputs: x, outputs: tb })).toThrow(/the graph has a cycle: 'b' -> 'a' -> 'b'/);
  });

  it("data that does not fit the inputs and outputs", async () => {
    const { m } = twoHeaded(1);
    m.compile({ optimizer: "adam", loss: ["mse", "sparseCategoricalCrossentropy"] });
    const { x, y } = twoHeadedData(8);
    await expect(m.fit(x[0]!, y, { verbose: 0 })).rejects.toThrow(/x must give the model's 2 inputs \(a, b\): a list in order or an object keyed by name/);
    await expect(m.fit([x[0]!], y, { verbose: 0 })).rejects.toThrow(/x must give the model's 2 inputs \(a, b\) in order; got a list of 1/);
    await expect(m.fit({ a: x[0]!, c: x[1]! }, y, { verbose: 0 })).rejects.toThrow(/x names 'c', which is not one of the model's inputs \(a, b\)/);
    await expect(m.fit([x[0]!, { data: x[1]!.data.subarray(0, 24), shape: [4, 3, 2] }], y, { verbose: 0 })).rejects.toThrow(/x\[0\] has 8 samples but x\[1\] has 4/);
    await expect(m.fit([x[1]!, x[1]!], y, { verbose: 0 })).resolves.toBeDefined();
    await expect(m.fit([data(8, 4, 3, 1), x[1]!], y, { verbose: 0 })).rejects.toThrow(/x\[0\] has shape \[8, 4, 3\] but the model's input 'a' is \[batch, \?, 2\]/);
    await expect(m.fit(x, [y[0]!, { data: new Float32Array(8), shape: [8] }], { verbose: 0 })).rejects.toThrow(/y\[1\] has shape \[8\] but loss 'sparseCategoricalCrossentropy' on the model's output \[8, 3, 2\] needs \[8, 3\]/);
    expect(() => m.compile({ optimizer: "adam", loss: ["mse"] })).toThrow(/loss lists 1 entries but the model has 2 outputs \(sum, next\)/);
    expect(() => m.compile({ optimizer: "adam", loss: { sum: "mse", nope: "mse" } })).toThrow(/loss names 'nope', which is not an output of the model/);
  });

  it("apply takes symbolic tensors; a sequential model refuses layers that return states", () => {
    const d = dense(2, { name: "d" });
    expect(() => d.apply({ data: new Float32Array(2), shape: [1, 2] } as never)).toThrow(/layer 'd': apply\(\) takes symbolic tensors .* but input 0 is a data tensor; to run a model on data use predict\(\)/);
    expect(() => sequential([recurrent({ kernel: elmanKernel(1, 2), returnState: true, name: "r" })])).toThrow(/layer 'r' returns its states \(returnState\); a sequential model passes one tensor between layers: use a functional model/);
    const r = recurrent({ kernel: () => elmanKernel(1, 2), returnState: true, name: "lazy" });
    expect(() => r.applyAll(input({ shape: [null, 1] }))).toThrow(/layer 'lazy' returns its cell's states, but which states its kernel has is not known before it is built; pass the kernel itself, or stateNames/);
    expect(() => recurrent({ kernel: elmanKernel(1, 2), returnState: true, name: "two" }).apply(input({ shape: [null, 1] }))).toThrow(/layer 'two' returns 2 tensors \(its output and states\); use applyAll\(\)/);
  });
});
