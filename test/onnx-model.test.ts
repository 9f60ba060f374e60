// Whole trained models exported to ONNX and run in onnxruntime-node equal model.predict: the adding
// example's model (a spec-built recurrent layer and a Dense head, variable lengths) and the sentiment
// example's (Embedding, Dropout, LSTM with input and recurrent dropout, Dense relu, Dropout, Dense
// sigmoid), each trained briefly on the examples' own data generators; custom cells, stacked layers
// returning sequences and a bidirectional layer. A layer with no ONNX form is a clear error.

import { afterAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adam, bidirectional, concatenate, dense, dropout, embedding, input, model, recurrent, rmsprop, sequential, tensor, type Sequential, type Tensor } from "../runtime/index.ts";
import { gru, loadCellFile, lstm, rnn, specPath } from "../jit/index.ts";
import { addingData } from "../studies/data/adding.ts";
import { sentimentData } from "../studies/data/sentiment.ts";
import { diff, DiffLog } from "./interop-helpers.ts";
import { loadMapping, mappingPathForSpec } from "../runtime/interop/index.ts";
import { decodeModel } from "../formats/onnx/schema.ts";

const TOL = 1e-5;
const log = new DiffLog();
afterAll(() => log.print("onnx-model: largest differences (onnxruntime running model.exportOnnx vs model.predict)"));

const dir = mkdtempSync(join(tmpdir(), "cellc-onnx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an exported model on x (ids as int64 when `ids`) with x's lengths when the model takes them. */
async function runOnnx(bytes: Uint8Array, x: Tensor, ids: boolean): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const feeds: Record<string, ort.Tensor> = {
    input: ids ? new ort.Tensor("int64", BigInt64Array.from(Array.from(x.data, (v) => BigInt(v))), x.shape) : new ort.Tensor("float32", x.data, x.shape),
  };
  if (session.inputNames.includes("lengths")) {
    const L = x.lengths ?? new Int32Array(x.shape[0]!).fill(x.shape[1]!);
    feeds["lengths"] = new ort.Tensor("int32", Int32Array.from(L), [x.shape[0]!]);
  }
  const out = await session.run(feeds);
  await session.release();
  return out[session.outputNames[0]!]!;
}

async function expectSame(label: string, m: Sequential, x: Tensor, ids: boolean, bytes?: Uint8Array): Promise<void> {
  const want = m.predict(x);
  const got = await runOnnx(bytes ?? (await m.toOnnx()), x, ids);
  expect(got.dims).toEqual(want.shape);
  expect(log.add(label, diff(got.data as Float32Array, want.data)).rel, label).toBeLessThan(TOL);
}

describe("the adding example's model", () => {
  it.each(["lstm", "rnn", "cifg"])("trained with the %s spec, exported, equals model.predict (variable lengths)", async (cell) => {
    const d = addingData(96, 20, 7);
    const x = tensor(d.inputs, [d.count, d.maxLength, 2], d.lengths);
    const y = tensor(d.targets, [d.count, 1]);
    const m = sequential([rnn({ spec: specPath(cell), units: 8 }), dense(1)], { seed: 2 });
    m.compile({ optimizer: adam({ learningRate: 0.01 }), loss: "mse", clipNorm: 1 });
    await m.build([null, 2]);
    await m.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 });
    const path = join(dir, `adding-${cell}.onnx`);
    const bytes = await m.exportOnnx(path);
    expect(readFileSync(path)).toEqual(Buffer.from(bytes));
    await expectSame(`adding (${cell})`, m, x, false, bytes);
  });

  it("exported without a lengths input, runs every sample for all T steps", async () => {
    const d = addingData(8, 20, 3);
    const m = sequential([lstm(5), dense(1)], { seed: 4 });
    await m.build([null, 2]);
    const x = tensor(d.inputs, [d.count, d.maxLength, 2]);
    const bytes = await m.toOnnx({ lengths: false });
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    expect(session.inputNames).toEqual(["input"]);
    await expectSame("adding (lstm, no lengths input)", m, x, false, bytes);
  });
});

describe("the sentiment example's model", () => {
  it("trained briefly, exported, equals model.predict on padded reviews with lengths", async () => {
    const data = sentimentData(64, 24, 5);
    const V = data.vocab.words.length;
    const m = sequential(
      [embedding(V, 50), dropout(0.2), lstm(100, { dropout: 0.2, recurrentDropout: 0.2 }), dense(250, { activation: "relu" }), dropout(0.2), dense(1, { activation: "sigmoid" })],
      { seed: 1 },
    );
    m.compile({ optimizer: rmsprop({ learningRate: 0.001 }), loss: "binaryCrossentropy" });
    await m.build([null]);
    const ids = (s: typeof data.train) => tensor(s.tokens, [s.count, s.maxLength], s.lengths);
    await m.fit(ids(data.train), tensor(data.train.labels, [data.train.count, 1]), { epochs: 1, batchSize: 32, verbose: 0 });
    const test = ids(data.test);
    expect(new Set(test.lengths).size).toBeGreaterThan(1);
    await expectSame("sentiment", m, test, true);
  });
});

describe("custom cells, stacks and bidirectional layers", () => {
  it("every_function returning sequences into a bidirectional GRU (sum) and a softmax head", async () => {
    const m = sequential(
      [rnn({ spec: join(new URL("..", import.meta.url).pathname, "test/specs/every_function.cell"), units: 6, returnSequences: true }), bidirectional(gru(4), { mergeMode: "sum" }), dense(3, { activation: "softmax" })],
      { seed: 9 },
    );
    await m.build([null, 3]);
    const B = 4;
    const T = 6;
    const x = tensor(Float32Array.from({ length: B * T * 3 }, (_, i) => Math.sin(i * 0.7)), [B, T, 3], [6, 2, 4, 1]);
    await expectSame("every_function -> bidirectional gru (sum)", m, x, false);
  });

  it.each(["concat", "ave", "mul"] as const)("a bidirectional cifg returning sequences (%s) under an embedding", async (mergeMode) => {
    const m = sequential([embedding(11, 4), bidirectional(rnn({ spec: specPath("cifg"), units: 3, returnSequences: true }), { mergeMode }), dense(2)], { seed: 5 });
    await m.build([null]);
    const x = tensor(Array.from({ length: 15 }, (_, i) => (i * 5) % 11), [3, 5], [5, 3, 1]);
    await expectSame(`embedding -> bidirectional cifg (${mergeMode})`, m, x, true);
  });
});

describe("functional models", () => {
  it("two inputs with their own lengths, an encoder handing its states to a decoder, a shared layer, two outputs", async () => {
    const a = input({ shape: [null, 2], name: "a" });
    const b = input({ shape: [null, 3], name: "b" });
    const enc = rnn({ spec: specPath("lstm"), units: 4, returnState: true, name: "enc" });
    const [ya, h, c] = enc.applyAll(a);
    const dec = rnn({ spec: specPath("lstm"), units: 4, returnSequences: true, name: "dec" });
    const sb = dec.apply(b, { initialState: [h!, c!] });
    const shared = dense(4, { activation: "tanh", name: "shared" });
    const out1 = dense(1, { name: "score" }).apply(concatenate({ name: "cat" }).apply([shared.apply(ya!), shared.apply(c!)]));
    const out2 = dense(3, { activation: "softmax", name: "next" }).apply(sb);
    const m = model({ inputs: [a, b], outputs: [out1, out2], seed: 4 });
    await m.build();
    const xa = tensor(Float32Array.from({ length: 3 * 5 * 2 }, (_, i) => Math.cos(i)), [3, 5, 2], [5, 2, 3]);
    const xb = tensor(Float32Array.from({ length: 3 * 4 * 3 }, (_, i) => Math.sin(i * 1.3)), [3, 4, 3], [1, 4, 2]);
    const want = m.predict([xa, xb]) as Tensor[];
    const bytes = await m.exportOnnx(join(dir, "functional.onnx"));
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    expect(session.inputNames).toEqual(["a", "a_lengths", "b", "b_lengths"]);
    expect(session.outputNames).toEqual(m.outputNames);
    // a and b have time axes of their own (5 and 4 steps here); the sequence output follows b's.
    const graph = decodeModel(bytes).graph!;
    const axes = (infos: typeof graph.input) => Object.fromEntries(infos!.map((v) => [v.name, v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))]));
    expect(axes(graph.input)).toEqual({ a: ["B", "T_a", 2], a_lengths: ["B"], b: ["B", "T_b", 3], b_lengths: ["B"] });
    expect(axes(graph.output)).toEqual({ [m.outputNames[0]!]: ["B", 1], [m.outputNames[1]!]: ["B", "T_b", 3] });
    const out = await session.run({
      a: new ort.Tensor("float32", xa.data, xa.shape),
      a_lengths: new ort.Tensor("int32", xa.lengths!, [3]),
      b: new ort.Tensor("float32", xb.data, xb.shape),
      b_lengths: new ort.Tensor("int32", xb.lengths!, [3]),
    });
    m.outputNames.forEach((name, i) => {
      expect(out[name]!.dims).toEqual(want[i]!.shape);
      expect(log.add(`functional ${name}`, diff(out[name]!.data as Float32Array, want[i]!.data)).rel, name).toBeLessThan(TOL);
    });
  });
});

describe("functional models with bidirectional layers", () => {
  it("a bidirectional encoder returning its four states, which start a decoder and a second bidirectional layer", async () => {
    const src = input({ shape: [null, 2], name: "src" });
    const tgt = input({ shape: [null, 2], name: "tgt" });
    const enc = bidirectional(rnn({ spec: specPath("lstm"), units: 3, returnState: true }), { name: "enc" });
    const [y, hf, cf, hb, cb] = enc.applyAll(src);
    const dec = rnn({ spec: specPath("lstm"), units: 3, returnSequences: true, name: "dec" });
    const again = bidirectional(rnn({ spec: specPath("lstm"), units: 3, returnSequences: true }), { name: "again", mergeMode: "ave" });
    const out1 = dense(2, { name: "summary" }).apply(y!);
    const out2 = concatenate({ name: "both" }).apply([dec.apply(tgt, { initialState: [hf!, cf!] }), again.apply(tgt, { initialState: [hf!, cf!, hb!, cb!] })]);
    const m = model({ inputs: [src, tgt], outputs: [out1, out2], seed: 6 });
    await m.build();
    const xs = tensor(Float32Array.from({ length: 3 * 5 * 2 }, (_, i) => Math.cos(0.9 * i)), [3, 5, 2], [5, 3, 2]);
    const xt = tensor(Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => Math.sin(0.4 * i)), [3, 4, 2], [4, 1, 3]);
    const want = m.predict([xs, xt]) as Tensor[];
    const session = await ort.InferenceSession.create(await m.toOnnx(), { logSeverityLevel: 3 });
    const out = await session.run({
      src: new ort.Tensor("float32", xs.data, xs.shape),
      src_lengths: new ort.Tensor("int32", xs.lengths!, [3]),
      tgt: new ort.Tensor("float32", xt.data, xt.shape),
      tgt_lengths: new ort.Tensor("int32", xt.lengths!, [3]),
    });
    m.outputNames.forEach((name, i) => {
      expect(out[name]!.dims).toEqual(want[i]!.shape);
      expect(log.add(`functional bidirectional ${name}`, diff(out[name]!.data as Float32Array, want[i]!.data)).rel, name).toBeLessThan(TOL);
    });
  });
});

describe("standard cells as ONNX's fused operators (the fused option)", () => {
  const ops = (bytes: Uint8Array) => new Set((decodeModel(bytes).graph?.node ?? []).map((n) => n.opType));
  const mapping = (spec: string) => loadMapping(mappingPathForSpec(specPath(spec)));

  it("an LSTM, a bidirectional GRU (both copies) and a 3-layer LSTM stack as LSTM/GRU nodes equal model.predict", async () => {
    const m = sequential(
      [lstm(4, { returnSequences: true, name: "l" }), bidirectional(gru(3, { returnSequences: true }), { name: "bi" }), rnn({ spec: specPath("deep_lstm"), units: 3, name: "deep" }), dense(2)],
      { seed: 8 },
    );
    await m.build([null, 2]);
    const x = tensor(Float32Array.from({ length: 3 * 6 * 2 }, (_, i) => Math.sin(0.3 * i)), [3, 6, 2], [6, 4, 2]);
    const fused = { l: mapping("lstm"), "bi/forward": mapping("gru"), "bi/backward": mapping("gru"), deep: mapping("deep_lstm") };
    const bytes = await m.toOnnx({ fused });
    expect([...ops(bytes)].filter((o) => ["LSTM", "GRU", "Scan"].includes(o!)).sort()).toEqual(["GRU", "LSTM"]);
    await expectSame("fused lstm, bidirectional gru, deep_lstm", m, x, false, bytes);
  });

  it("refuses a fused layer that is not the mapping's cell, or that takes initial states", async () => {
    const m = sequential([rnn({ spec: specPath("cifg"), units: 3, name: "c" })]);
    await m.build([null, 2]);
    await expect(m.toOnnx({ fused: { c: mapping("lstm") } })).rejects.toThrow(/layer 'c' .* has no ONNX form: as a fused ONNX operator: /);
    const a = input({ shape: [null, 2], name: "a" });
    const [, h, c] = lstm(3, { returnState: true, name: "enc" }).applyAll(a);
    const dec = lstm(3, { name: "dec" });
    const f = model({ inputs: a, outputs: dec.apply(a, { initialState: [h!, c!] }) });
    await f.build();
    await expect(f.toOnnx({ fused: { dec: mapping("lstm") } })).rejects.toThrow(/layer 'dec' .* a fused LSTM\/GRU\/RNN export takes no initial states/);
    const ok = await f.toOnnx({ fused: { enc: mapping("lstm") } });
    expect(ops(ok).has("LSTM") && ops(ok).has("Scan")).toBe(true);
  });
});

describe("layers without an ONNX form are refused by name", () => {
  it("a recurrent layer built from a kernel object (no spec to export)", async () => {
    const kernel = await loadCellFile(specPath("lstm"), { dims: { I: 2, H: 3 } });
    const m = sequential([recurrent({ kernel, name: "handmade" }), dense(1)]);
    await m.build([null, 2]);
    await expect(m.toOnnx()).rejects.toThrow(/layer 'handmade' \(lstm\) has no ONNX form: its kernel was given as an object/);
  });

  it("a cell using a primitive that has no ONNX lowering", async () => {
    const { ELEMENTWISE } = await import("../compiler/primitives/elementwise.ts");
    const softsign = ELEMENTWISE.get("softsign")! as { onnx?: unknown };
    const saved = softsign.onnx;
    const m = sequential([rnn({ spec: join(new URL("..", import.meta.url).pathname, "test/specs/every_function.cell"), units: 3, name: "odd" })]);
    await m.build([null, 2]);
    delete softsign.onnx;
    try {
      await expect(m.toOnnx()).rejects.toThrow(/layer 'odd' .* has no ONNX form: the primitive 'softsign' has no ONNX lowering/);
    } finally {
      softsign.onnx = saved;
    }
  });

  it("a stateful layer", async () => {
    const m = sequential([lstm(3, { stateful: true, name: "carry" })]);
    await m.build([null, 2]);
    await expect(m.toOnnx()).rejects.toThrow(/layer 'carry' .* has no ONNX form: it is stateful/);
  });

  it("a model that is not built", async () => {
    await expect(sequential([lstm(3)]).toOnnx()).rejects.toThrow(/not built/);
  });
});
