// The sequential model end to end with a hand-written Elman kernel: loss falls and runs repeat
// exactly under a seed, evaluation has no dropout, summary counts, progress output, checkpoints
// (round trip, mismatch, interrupted save) and clear errors for bad data.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { adam, dense, dropout, nodeCheckpointFs, recurrent, Rng, sequential, type CheckpointFs, type Tensor } from "../runtime/index.ts";
import { elmanKernel } from "./runtime-elman.ts";

/** Binary task: is the sum of a short sequence positive? */
function data(n: number, T: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * T);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += x[i * T + t] = rng.uniform(-1, 1);
    y[i] = s > 0 ? 1 : 0;
  }
  return { x: { data: x, shape: [n, T, 1] }, y: { data: y, shape: [n, 1] } };
}

function model(seed: number, H = 6, drop = 0) {
  const layers = [recurrent({ kernel: elmanKernel(1, H) }), ...(drop > 0 ? [dropout(drop)] : []), dense(1, { activation: "sigmoid" })];
  const m = sequential(layers, { seed });
  m.compile({ optimizer: adam({ learningRate: 0.05 }), loss: "binaryCrossentropy", metrics: ["accuracy"], clipNorm: 5 });
  return m;
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "cellc-rt-"));

describe("Sequential.fit", () => {
  it("loss falls within a few epochs, and two runs with one seed give identical numbers", async () => {
    const { x, y } = data(128, 6, 1);
    const run = async () => {
      const m = model(7);
      const h = await m.fit(x, y, { epochs: 4, batchSize: 16, verbose: 0, validationSplit: 0.25 });
      return { h, p: m.predict(x).data };
    };
    const a = await run();
    const b = await run();
    const loss = a.h.history.loss!;
    expect(loss.length).toBe(4);
    expect(loss[3]!).toBeLessThan(0.8 * loss[0]!);
    expect(a.h.history.val_loss!.length).toBe(4);
    expect(a.h.history.accuracy![3]!).toBeGreaterThan(0.7);
    expect(a.h.samplesSeen).toEqual([96, 192, 288, 384]);
    expect(b.h.history).toEqual(a.h.history);
    expect(Array.from(b.p)).toEqual(Array.from(a.p));
    // A different seed gives different numbers.
    const c = model(8);
    const hc = await c.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
    expect(hc.history.loss![0]).not.toBe(loss[0]);
  });

  it("the first layer is not asked for input gradients; later layers are", async () => {
    const kernel = elmanKernel(1, 4);
    const seen: (boolean | undefined)[] = [];
    const spy = { ...kernel, backward: (...a: Parameters<typeof kernel.backward>) => (seen.push(a[3]?.inputGradients), kernel.backward(...a)) };
    const m = sequential([recurrent({ kernel: spy, returnSequences: true }), recurrent({ kernel: elmanKernel(4, 3) }), dense(1)], { seed: 1 });
    m.compile({ optimizer: adam(), loss: "mse" });
    const { x } = data(8, 5, 2);
    await m.fit(x, { data: new Float32Array(8), shape: [8, 1] }, { epochs: 1, batchSize: 8, verbose: 0 });
    expect(m.layers.map((l) => l.inputGradientNeeded)).toEqual([false, true, true]);
    expect(seen).toEqual([false]);
  });

  it("dropout is off at evaluation: evaluate and predict are repeatable and agree", async () => {
    const { x, y } = data(64, 5, 2);
    const m = model(3, 6, 0.5);
    await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
    const p1 = m.predict(x).data;
    const p2 = m.predict(x).data;
    expect(Array.from(p2)).toEqual(Array.from(p1));
    const e = m.evaluate(x, y);
    let bce = 0;
    for (let i = 0; i < 64; i++) bce -= y.data[i]! * Math.log(p1[i]!) + (1 - y.data[i]!) * Math.log(1 - p1[i]!);
    expect(e.loss).toBeCloseTo(bce / 64, 5);
  });

  it("callbacks see each epoch and stopTraining ends fit", async () => {
    const { x, y } = data(32, 4, 3);
    const m = model(1);
    const seen: number[] = [];
    const h = await m.fit(x, y, {
      epochs: 5,
      verbose: 0,
      onEpochEnd: (epoch, logs) => {
        seen.push(epoch);
        expect(logs.loss).toBeGreaterThan(0);
        if (epoch === 1) m.stopTraining = true;
      },
    });
    expect(seen).toEqual([0, 1]);
    expect(h.epoch).toEqual([0, 1]);
  });

  it("summary lists layers, output shapes and parameter counts", async () => {
    const m = model(1, 6);
    await m.build([null, 1]);
    const s = m.summary();
    expect(s).toMatch(/elman \(elman\)\s+\[batch, 6\]\s+48/); // 6*1 + 6*6 + 6
    expect(s).toMatch(/dense \(Dense\)\s+\[batch, 1\]\s+7/);
    expect(s).toContain("Total params: 55");
  });

  it("progress: plain lines when not a TTY, a redrawn bar on a TTY", async () => {
    const { x, y } = data(32, 4, 4);
    let plain = "";
    await model(1).fit(x, y, { epochs: 2, batchSize: 8, verbose: 1, stream: { write: (s: string) => (plain += s), isTTY: false } });
    const lines = plain.trimEnd().split("\n");
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/^Epoch 1\/2 - 4\/4 batches - [\d.]+s - loss: [\d.]+ - accuracy: [\d.]+$/);
    expect(plain).not.toContain("\r");
    let tty = "";
    await model(1).fit(x, y, { epochs: 1, batchSize: 8, verbose: 1, stream: { write: (s: string) => (tty += s), isTTY: true, columns: 200 } });
    expect(tty).toContain("\r");
    expect(tty).toMatch(/Epoch 1\/1 \[=+\] 4\/4 - [\d.]+s - loss: [\d.]+ - accuracy: [\d.]+\n$/);
  });
});

describe("streaming and stateful models", () => {
  it("predict with carryState, one step at a time, equals predict over the whole sequence", async () => {
    const m = sequential([recurrent({ kernel: elmanKernel(1, 5), returnSequences: true }), dense(2, { activation: "softmax" })], { seed: 2 });
    await m.build([null, 1]);
    const { x } = data(3, 6, 9);
    const whole = m.predict(x);
    expect(whole.shape).toEqual([3, 6, 2]);
    m.resetStates();
    for (let t = 0; t < 6; t++) {
      const step = new Float32Array(3);
      for (let b = 0; b < 3; b++) step[b] = x.data[b * 6 + t]!;
      const y = m.predict({ data: step, shape: [3, 1, 1] }, { carryState: true });
      for (let b = 0; b < 3; b++) for (let j = 0; j < 2; j++) expect(y.data[b * 2 + j]).toBeCloseTo(whole.data[(b * 6 + t) * 2 + j]!, 5);
    }
    // Without carryState each call starts from zeros again.
    const first = m.predict({ data: Float32Array.from([x.data[0]!, x.data[6]!, x.data[12]!]), shape: [3, 1, 1] });
    expect(first.data[0]).toBeCloseTo(whole.data[0]!, 5);
  });

  it("a stateful model trains over consecutive batches (fixed batch size, no shuffling)", async () => {
    const m = sequential([recurrent({ kernel: elmanKernel(1, 4), stateful: true }), dense(1, { activation: "sigmoid" })], { seed: 3 });
    m.compile({ optimizer: "adam", loss: "binaryCrossentropy" });
    const { x, y } = data(32, 4, 10);
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0, onEpochEnd: () => m.resetStates() });
    expect(h.history.loss!.every(Number.isFinite)).toBe(true);
    await expect(m.fit(x, y, { epochs: 1, batchSize: 5, shuffle: false, verbose: 0 })).rejects.toThrow(/stateful layer 'elman' got a batch of 2 after batches of 5/);
  });
});

describe("bad data gives clear errors naming the argument", () => {
  const { x, y } = data(16, 4, 5);
  it("fit", async () => {
    const m = model(1);
    await expect(m.fit({ data: x.data, shape: [16, 4, 2] }, y, { verbose: 0 })).rejects.toThrow(/x has 64 values but its shape \[16, 4, 2\] needs 128/);
    await expect(m.fit(x, { data: y.data.subarray(0, 8), shape: [8, 1] }, { verbose: 0 })).rejects.toThrow(/x has 16 samples but y has 8/);
    await expect(m.fit(x, { data: new Float32Array(32), shape: [16, 2] }, { verbose: 0 })).rejects.toThrow(/y has shape \[16, 2\] but loss 'binaryCrossentropy' on the model's output \[16, 1\] needs \[16, 1\]/);
    const bad = Float32Array.from(x.data);
    bad[9] = NaN;
    await expect(m.fit({ data: bad, shape: x.shape }, y, { verbose: 0 })).rejects.toThrow(/x contains NaN at flat index 9 \(sample 2\)/);
    const badY = Float32Array.from(y.data);
    badY[3] = Infinity;
    await expect(m.fit(x, { data: badY, shape: y.shape }, { verbose: 0 })).rejects.toThrow(/y contains Infinity at flat index 3/);
    await expect(m.fit({ ...x, lengths: new Int32Array(16).fill(5) }, y, { verbose: 0 })).rejects.toThrow(/x.lengths\[0\] is 5; it must be an integer in 0..4/);
    await expect(m.fit({ ...x, lengths: new Int32Array(3) }, y, { verbose: 0 })).rejects.toThrow(/x.lengths has 3 entries but x has 16 samples/);
    await expect(m.fit(x, y, { verbose: 0, epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(m.fit([[[1]], [[1], [2]]], [[1], [0]], { verbose: 0 })).rejects.toThrow(/x\[1\] has 2 entries but its siblings have 1/);
    await expect(m.fit(x, y, { verbose: 0, validationData: [x, { data: new Float32Array(16), shape: [16] }] })).rejects.toThrow(/validationData\[1\] has shape \[16\]/);
  });

  it("predict and evaluate", async () => {
    const m = model(1);
    expect(() => m.predict(x)).toThrow(/predict: the model is not built/);
    await m.fit(x, y, { verbose: 0 });
    expect(() => m.predict({ data: new Float32Array(16 * 4 * 2), shape: [16, 4, 2] })).toThrow(/x has shape \[16, 4, 2\] but the model expects \[batch, \?, 1\]/);
    expect(() => m.predict({ data: new Float32Array(3), shape: [3] })).toThrow(/x has shape \[3\] but the model expects/);
    expect(() => m.predict([[[NaN]]])).toThrow(/x contains NaN/);
    expect(() => m.evaluate(x, { data: new Float32Array(15), shape: [15, 1] })).toThrow(/x has 16 samples but y has 15/);
    // Nested arrays work and give the same numbers as a Tensor.
    const nested = Array.from({ length: 2 }, (_, i) => Array.from({ length: 4 }, (_, t) => [x.data[i * 4 + t]!]));
    expect(Array.from(m.predict(nested).data)).toEqual(Array.from(m.predict({ data: x.data.slice(0, 8), shape: [2, 4, 1] }).data));
  });
});

describe("checkpoints", () => {
  it("save -> load -> predict gives identical outputs", async () => {
    const { x, y } = data(32, 4, 6);
    const a = model(1);
    await a.fit(x, y, { epochs: 2, verbose: 0 });
    const dir = tmp();
    const hdr = await a.save(path.join(dir, "m"));
    expect(hdr).toBe(path.join(dir, "m.json"));
    const b = model(99);
    await b.build([null, 1]);
    expect(Array.from(b.predict(x).data)).not.toEqual(Array.from(a.predict(x).data));
    await b.load(path.join(dir, "m.json"));
    expect(Array.from(b.predict(x).data)).toEqual(Array.from(a.predict(x).data));
    // Saving again replaces the data file: one header, one data file.
    await a.save(path.join(dir, "m"));
    expect(readdirSync(dir).sort()).toEqual(["m.json", expect.stringMatching(/^m\..*\.bin$/)]);
  });

  it("a checkpoint that does not fit the model names the weight and both shapes", async () => {
    const dir = tmp();
    const a = model(1, 6);
    await a.build([null, 1]);
    await a.save(path.join(dir, "m"));
    const b = model(1, 5);
    await b.build([null, 1]);
    await expect(b.load(path.join(dir, "m"))).rejects.toThrow(/weight 'elman\/W' has shape \[6, 1\] in the checkpoint but \[5, 1\] in the model/);
    const c = sequential([recurrent({ kernel: elmanKernel(1, 6) }), dense(1), dense(1)]);
    await c.build([null, 1]);
    await expect(c.load(path.join(dir, "m"))).rejects.toThrow(/the model's weight 'dense_1\/W' \[1, 1\] is missing from the checkpoint/);
  });

  it("a save interrupted halfway leaves the previous checkpoint loadable", async () => {
    const { x, y } = data(32, 4, 7);
    const dir = tmp();
    const file = path.join(dir, "m");
    const m = model(1);
    await m.fit(x, y, { epochs: 1, verbose: 0 });
    await m.save(file);
    const before = m.predict(x).data;
    await m.fit(x, y, { epochs: 2, verbose: 0 });
    const after = m.predict(x).data;
    expect(Array.from(after)).not.toEqual(Array.from(before));

    // 1) The header rename (the commit) fails: an error, and the old checkpoint still loads.
    let renames = 0;
    const failCommit: CheckpointFs = { ...nodeCheckpointFs, rename: async (a, b) => (++renames === 2 ? Promise.reject(new Error("disk full")) : nodeCheckpointFs.rename(a, b)) };
    await expect(m.save(file, { fs: failCommit })).rejects.toThrow(/saving weights to .*m\.json failed \(disk full\); the previous checkpoint, if any, is unchanged/);
    // 2) A crash after the data file is written: nothing is cleaned up, the header is not replaced.
    const crash: CheckpointFs = {
      ...nodeCheckpointFs,
      writeFileSynced: async (f, d) => (f.endsWith(".json." + process.pid + ".tmp") ? nodeCheckpointFs.writeFileSynced(f, d.subarray(0, 10)).then(() => Promise.reject(new Error("killed"))) : nodeCheckpointFs.writeFileSynced(f, d)),
      unlink: async () => undefined,
    };
    await expect(m.save(file, { fs: crash })).rejects.toThrow(/killed/);

    const fresh = model(5);
    await fresh.build([null, 1]);
    await fresh.load(file);
    expect(Array.from(fresh.predict(x).data)).toEqual(Array.from(before));
    // And a later save that succeeds is loadable too.
    await m.save(file);
    await fresh.load(file);
    expect(Array.from(fresh.predict(x).data)).toEqual(Array.from(after));
  });
});
