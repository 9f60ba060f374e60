// Regression tests of issue 8 in the runtime: a training step that goes non-finite throws an error
// naming epoch and batch and changes nothing (weights and optimizer state are those of the last
// finite step, checked against a twin model that never took the bad step); a checkpoint whose
// header lies (negative or overlapping offsets, null shapes or entries) or whose data holds NaN is
// refused with a clear error before any weight changes; and files left by a crashed save are
// removed by the next save.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  adam,
  dense,
  NonFiniteError,
  nodeCheckpointFs,
  recurrent,
  Rng,
  sequential,
  sgd,
  type CheckpointFs,
  type Sequential,
  type Tensor,
} from "../runtime/index.ts";
import { elmanKernel } from "./runtime-elman.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "cellc-trust-rt-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A regression task: y = 3 * (first value of the sequence). */
function data(n: number, T: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * T).map(() => rng.uniform(-1, 1));
  const y = new Float32Array(n).map((_, i) => 3 * x[i * T]!);
  return { x: { data: x, shape: [n, T, 1] }, y: { data: y, shape: [n, 1] } };
}

const rnn = (seed: number) => sequential([recurrent({ kernel: elmanKernel(1, 4) }), dense(1)], { seed });
const snapshot = (m: Sequential) => m.weights().map((w) => Float32Array.from(w.value));
const allFinite = (arrays: Float32Array[]) => arrays.every((a) => a.every(Number.isFinite));

async function failure(p: Promise<unknown>): Promise<NonFiniteError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NonFiniteError);
  return e as NonFiniteError;
}

describe("a training step that goes non-finite changes nothing (defect 9)", () => {
  it("a diverging learning rate stops fit naming epoch and batch, with the last finite weights kept", async () => {
    const { x, y } = data(32, 5, 1);
    const m = rnn(3);
    m.compile({ optimizer: sgd({ learningRate: 20 }), loss: "mse" });
    await m.build([null, 1]);
    let last = snapshot(m);
    let done = { epoch: 0, batch: -1 };
    const e = await failure(
      m.fit(x, y, {
        epochs: 50,
        batchSize: 8,
        verbose: 0,
        callbacks: {
          onBatchEnd: (batch) => {
            last = snapshot(m);
            done = { ...done, batch };
          },
          onEpochEnd: (epoch) => void (done = { epoch: epoch + 1, batch: -1 }),
        },
      }),
    );
    // The step after the last one that finished is the one that failed.
    expect(e.epoch).toBe(done.epoch);
    expect(e.batch).toBe(done.batch + 1);
    expect(e.epoch! * 4 + e.batch!).toBeGreaterThan(0); // it trained before diverging
    expect(e.message).toContain(`at epoch ${e.epoch! + 1}/50, batch ${e.batch! + 1}/4; that step was not applied`);
    expect(e.message).toMatch(/^the (loss became|gradient of '[\w/]+'\[\d+\] became|update made weight) /);
    // Nothing lost: exactly the weights after the last good step, all finite.
    const now = snapshot(m);
    expect(allFinite(now)).toBe(true);
    expect(now).toEqual(last);
    // So evaluate and predict work and agree with a model loaded with those weights.
    const dir = tmp();
    await m.save(path.join(dir, "m"));
    const twin = rnn(99);
    twin.compile({ optimizer: "sgd", loss: "mse" });
    await twin.build([null, 1]);
    await twin.load(path.join(dir, "m"));
    expect(Number.isFinite(m.evaluate(x, y, { batchSize: 8 }).loss)).toBe(true);
    expect(m.evaluate(x, y, { batchSize: 8 }).loss).toBe(twin.evaluate(x, y, { batchSize: 8 }).loss);
    const p = m.predict(x).data;
    expect(p.every(Number.isFinite)).toBe(true);
    expect(Array.from(p)).toEqual(Array.from(twin.predict(x).data));
  });

  it("an update that overflows is undone, Adam's moments and step count included", async () => {
    const { x, y } = data(16, 4, 2);
    const make = () => {
      const opt = adam({ learningRate: 0.01 });
      const m = rnn(5);
      m.compile({ optimizer: opt, loss: "mse" });
      return { m, opt };
    };
    const a = make();
    const b = make();
    for (const t of [a, b]) await t.m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false });
    expect(snapshot(a.m)).toEqual(snapshot(b.m));
    // A learning rate past float32's range: every gradient is finite, the updated weights are not.
    a.opt.learningRate = 1e39;
    const e = await failure(a.m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, shuffle: false }));
    expect(e.message).toMatch(/^the update made weight '[\w/]+'\[\d+\] -?Infinity at epoch 1\/3, batch 1\/4;/);
    expect(snapshot(a.m)).toEqual(snapshot(b.m));
    // The next steps match the twin's exactly only if m, v and t were put back too.
    a.opt.learningRate = 0.01;
    for (const t of [a, b]) await t.m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0, shuffle: false });
    expect(snapshot(a.m)).toEqual(snapshot(b.m));
  });

  it("an outlier in the data stops fit at the batch that holds it", async () => {
    // (NaN in x is refused before training starts; a huge value passes and overflows a gradient.)
    const rng = new Rng(4);
    const x = { data: new Float32Array(12 * 2).map(() => rng.uniform(-1, 1)), shape: [12, 2] };
    const y = { data: new Float32Array(12).map(() => rng.uniform(-1, 1)), shape: [12, 1] };
    x.data[5 * 2 + 1] = 1e30; // sample 5: the second batch of 4
    const m = sequential([dense(1)], { seed: 1 });
    m.compile({ optimizer: adam({ learningRate: 0.01 }), loss: "mse" });
    let afterFirst: Float32Array[] = [];
    const e = await failure(
      m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false, callbacks: { onBatchEnd: (b) => void (b === 0 && (afterFirst = snapshot(m))) } }),
    );
    expect([e.epoch, e.batch]).toEqual([0, 1]);
    expect(e.message).toMatch(/^the gradient of 'dense\/W'\[1\] became -?Infinity at epoch 1\/2, batch 2\/3; .*check the data for NaN or Infinity$/);
    expect(snapshot(m)).toEqual(afterFirst);
  });

  it("a finite loss with a non-finite gradient is caught before the update", async () => {
    // mse in float64: (p - 3e38)^2 is finite; its gradient 2 (p - 3e38) overflows float32.
    const m = sequential([dense(1)], { seed: 2 });
    m.compile({ optimizer: "sgd", loss: "mse" });
    await m.build([2]);
    const before = snapshot(m);
    const x = { data: new Float32Array([1, 1]), shape: [1, 2] };
    const y = { data: new Float32Array([3e38]), shape: [1, 1] };
    const e = await failure(m.fit(x, y, { epochs: 1, batchSize: 1, verbose: 0 }));
    expect(e.message).toMatch(/^the gradient of 'dense\/W'\[0\] became -Infinity at epoch 1\/1, batch 1\/1;/);
    expect(snapshot(m)).toEqual(before);
    // trainOnBatch throws the same error, without a place.
    expect(() => m.trainOnBatch(x, y)).toThrow(/^the gradient of 'dense\/W'\[0\] became -Infinity; that step was not applied/);
  });
});

describe("runtime options name what they got (no raw TypeError)", () => {
  it("describes a wrong value by type and value", async () => {
    const m = sequential([dense(1)]);
    m.compile({ optimizer: "sgd", loss: "mse" });
    await m.build([2]);
    const x = { data: new Float32Array(4), shape: [2, 2] };
    const y = { data: new Float32Array(2), shape: [2, 1] };
    await expect(m.fit(x, y, { batchSize: "2" as never, verbose: 0 })).rejects.toThrow('fit: batchSize must be a positive integer, got the string "2"');
    await expect(m.fit(x, y, { validationSplit: "0.5" as never, verbose: 0 })).rejects.toThrow('validationSplit must be in (0, 1), got the string "0.5"');
    await expect(m.fit(x, y, null as never)).rejects.toThrow("fit: options must be an object, got null");
    expect(() => m.evaluate(x, y, { batchSize: 1.5 })).toThrow("batchSize must be a positive integer, got 1.5");
    expect(() => adam({ learningRate: "0.1" as never })).toThrow('adam learningRate must be a positive number, got the string "0.1"');
    expect(() => m.compile({ optimizer: "sgd", loss: "mse", clipNorm: "1" as never })).toThrow('clipNorm must be a positive number, got the string "1"');
    await expect(m.save(123 as never)).rejects.toThrow("a checkpoint path must be a non-empty string, got 123");
    await expect(m.load(undefined as never)).rejects.toThrow("a checkpoint path must be a non-empty string, got undefined");
  });
});

/** FNV-1a, 32 bits, written out here as the reference for the checkpoint's checksum. */
function fnv(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619);
  return (h >>> 0).toString(16).padStart(8, "0");
}

describe("checkpoint load trusts nothing in the files (defect 10)", () => {
  async function saved() {
    const m = rnn(1);
    await m.build([null, 1]);
    const dir = tmp();
    const file = path.join(dir, "m.json");
    await m.save(file);
    const header = JSON.parse(readFileSync(file, "utf8")) as { data: string; checksum: string; weights: Record<string, unknown>[] };
    const other = rnn(2);
    await other.build([null, 1]);
    return { m, file, dir, header, other };
  }

  it("a lying header is refused naming the field, and no weight changes", async () => {
    const { file, header, other } = await saved();
    const cases: [string, (h: typeof header) => void, string][] = [
      ["offset -4", (h) => (h.weights[1]!.offset = -4), "weights[1] ('elman/U').offset must be a byte offset that is a multiple of 4, got -4"],
      ["offset 2", (h) => (h.weights[0]!.offset = 2), "weights[0] ('elman/W').offset must be a byte offset that is a multiple of 4, got 2"],
      ["past the end", (h) => (h.weights[3]!.offset = 1000), "weights[3] ('dense/W') spans bytes 1000 to 1016, past the end of the data (116 bytes)"],
      ["overlap", (h) => (h.weights[2]!.offset = h.weights[1]!.offset), "overlap in the data"],
      ["shape null", (h) => (h.weights[0]!.shape = null as never), "weights[0] ('elman/W').shape must be an array of sizes, got null"],
      ["entry null", (h) => (h.weights[1] = null as never), "weights[1] must be an object, got null"],
      ["length", (h) => (h.weights[2]!.length = 3), "weights[2] ('elman/b').length must be 4 (the product of its shape), got 3"],
      ["name", (h) => (h.weights[0]!.name = 7 as never), "weights[0].name must be a non-empty string, got 7"],
      ["data path", (h) => (h.data = "../elsewhere.bin"), '"data" must name a file beside the header, got "../elsewhere.bin"'],
      ["checksum", (h) => (h.checksum = null as never), '"checksum" must be 8 hex digits, got null'],
      ["weights", (h) => (h.weights = {} as never), '"weights" must be an array, got {}'],
    ];
    const before = snapshot(other);
    for (const [what, edit, message] of cases) {
      const h = structuredClone(header);
      edit(h);
      writeFileSync(file, JSON.stringify(h));
      await expect(other.load(file), what).rejects.toThrow(message);
      expect(snapshot(other), what).toEqual(before);
    }
    // With the header intact it loads.
    writeFileSync(file, JSON.stringify(header));
    await other.load(file);
    expect(snapshot(other)).not.toEqual(before);
  });

  it("NaN or Infinity in the data is refused even with a valid checksum; save refuses them too", async () => {
    const { file, dir, header, other } = await saved();
    const data = new Float32Array(new Uint8Array(readFileSync(path.join(dir, header.data))).buffer);
    data[6] = NaN; // elman/U [4, 4] starts at value 4: its index 2
    const bytes = new Uint8Array(data.buffer);
    writeFileSync(path.join(dir, header.data), bytes);
    writeFileSync(file, JSON.stringify({ ...header, checksum: fnv(bytes) }));
    const before = snapshot(other);
    await expect(other.load(file)).rejects.toThrow(`weight 'elman/U' holds NaN at index 2; nothing was loaded`);
    expect(snapshot(other)).toEqual(before);

    other.weights()[3]!.value[0] = -Infinity;
    await expect(other.save(path.join(dir, "n"))).rejects.toThrow("not saving weights to");
    await expect(other.save(path.join(dir, "n"))).rejects.toThrow("weight 'dense/W' holds -Infinity at index 0; a checkpoint holds finite numbers only");
    expect(readdirSync(dir).filter((f) => f.startsWith("n."))).toEqual([]);
  });
});

describe("checkpoint load: no hang on a FIFO, no stack overflow on a deep shape (issue 21)", () => {
  const run = (cmd: string, args: string[]) =>
    new Promise<number | null>((resolve, reject) => spawn(cmd, args, { stdio: "ignore" }).on("error", reject).on("close", resolve));

  it("a header or data file that is a FIFO is refused with the reason, not read forever", async () => {
    const m = rnn(1);
    await m.build([null, 1]);
    const dir = tmp();
    await m.save(path.join(dir, "m"));
    const header = JSON.parse(readFileSync(path.join(dir, "m.json"), "utf8")) as { data: string };
    // The data file named by an intact header becomes a FIFO no one writes to.
    rmSync(path.join(dir, header.data));
    expect(await run("mkfifo", [path.join(dir, header.data)])).toBe(0);
    const before = snapshot(m);
    await expect(m.load(path.join(dir, "m"))).rejects.toThrow(`cannot read weights data ${path.join(dir, header.data)} named by ${path.join(dir, "m.json")}: it is a FIFO (named pipe), not a regular file`);
    // The header itself a FIFO.
    expect(await run("mkfifo", [path.join(dir, "f.json")])).toBe(0);
    await expect(m.load(path.join(dir, "f"))).rejects.toThrow(`cannot read weights header ${path.join(dir, "f.json")}: it is a FIFO (named pipe), not a regular file`);
    // Saving over a header that is a FIFO reads no old header from it (it would wait for a writer): the save replaces it.
    await m.save(path.join(dir, "f"));
    const fresh = rnn(2);
    await fresh.build([null, 1]);
    await fresh.load(path.join(dir, "f"));
    expect(snapshot(fresh)).toEqual(snapshot(m));
    // A data file longer than its header declares is refused before it is read whole.
    rmSync(path.join(dir, header.data));
    writeFileSync(path.join(dir, header.data), new Uint8Array(1 << 20));
    await expect(m.load(path.join(dir, "m"))).rejects.toThrow("it is 1,048,576 bytes; at most 116 were expected");
    expect(snapshot(m)).toEqual(before);
  });

  it("a shape nested 10,000 deep or of 1e39 is refused naming the weight, not a RangeError", async () => {
    const m = rnn(1);
    await m.build([null, 1]);
    const dir = tmp();
    await m.save(path.join(dir, "m"));
    const header = JSON.parse(readFileSync(path.join(dir, "m.json"), "utf8")) as { weights: { shape: unknown }[] };
    const text = JSON.stringify(header);
    const cases: [string, string][] = [
      ["[".repeat(10_000) + "]".repeat(10_000), "[[[[[...]]]]]"],
      ["[1e39, 1]", "[1e+39,1]"],
      ["[3037000500, 3037000500]", "[3037000500,3037000500]"],
      [JSON.stringify(new Array(33).fill(1)), "[1,1,1,1,1,1"],
    ];
    for (const [shape, shown] of cases) {
      // Replace the first weight's shape in the header's text (JSON.stringify of the deep one would overflow here too).
      const first = JSON.stringify(header.weights[0]!.shape);
      writeFileSync(path.join(dir, "bad.json"), text.replace(`"shape":${first}`, `"shape":${shape}`));
      const err = await m.load(path.join(dir, "bad")).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(RangeError);
      expect(err!.message).toContain(`is not a valid weights header: weights[0] ('elman/W').shape must be an array of sizes, got ${shown}`);
    }
  });
});

describe("a crashed save leaves files that the next save removes (defect 10)", () => {
  it("simulated crashes at each stage: the old checkpoint still loads, the next save cleans up", async () => {
    const dir = tmp();
    const file = path.join(dir, "m");
    const m = rnn(1);
    await m.build([null, 1]);
    await m.save(file);
    const first = snapshot(m);
    // Other checkpoints in the same directory, whose files must survive.
    await m.save(path.join(dir, "m2"));
    await m.save(path.join(dir, "m.v2"));
    const others = readdirSync(dir).filter((f) => f.startsWith("m2.") || f.startsWith("m.v2."));
    expect(others).toHaveLength(4);

    // A crash is a save that stops at some await and never runs again: nothing cleans up.
    const never = new Promise<void>(() => undefined);
    const crashAt = (n: number): CheckpointFs => {
      let renames = 0;
      return { ...nodeCheckpointFs, rename: (a, b) => (++renames === n ? never : nodeCheckpointFs.rename(a, b)) };
    };
    m.weights()[0]!.value.fill(0.5);
    void m.save(file, { fs: crashAt(1) }); // stops before the data file's rename: a .bin.tmp is left
    void m.save(file, { fs: crashAt(2) }); // stops before the header's rename: a .bin and a header .tmp
    await new Promise((r) => setTimeout(r, 200));
    const left = readdirSync(dir).filter((f) => f.startsWith("m.") && !f.startsWith("m.v2."));
    expect(left.filter((f) => f.endsWith(".bin.tmp"))).toHaveLength(1);
    expect(left.filter((f) => /^m\.json\.\d+\.tmp$/.test(f))).toHaveLength(1);
    expect(left.filter((f) => f.endsWith(".bin"))).toHaveLength(2); // the committed one and an orphan

    const fresh = rnn(7);
    await fresh.build([null, 1]);
    await fresh.load(file);
    expect(snapshot(fresh)).toEqual(first);

    await m.save(file);
    const after = readdirSync(dir).sort();
    const mine = after.filter((f) => !others.includes(f));
    expect(mine).toEqual(["m.json", expect.stringMatching(/^m\.[0-9a-z]+-[0-9a-z]+-[0-9a-z]+\.bin$/)]);
    await fresh.load(file);
    expect(snapshot(fresh)).toEqual(snapshot(m));
    for (const f of others) expect(after).toContain(f);
  });

  it("a process killed while saving over and over: the next save leaves one header and one data file", async () => {
    const dir = tmp();
    const root = fileURLToPath(new URL("..", import.meta.url));
    const script = path.join(dir, "saver.mts");
    const api = pathToFileURL(path.join(root, "runtime/index.ts")).href;
    writeFileSync(
      script,
      `import { saveWeights } from ${JSON.stringify(api)};
const w = [{ name: "a/W", shape: [1 << 20], value: new Float32Array(1 << 20).fill(1) }];
await saveWeights(w, ${JSON.stringify(path.join(dir, "m"))});
console.log("ready");
for (let i = 0; ; i++) { w[0].value[0] = i; await saveWeights(w, ${JSON.stringify(path.join(dir, "m"))}); }
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the saver did not start")), 60_000);
      child.stdout.on("data", (d: Buffer) => {
        if (String(d).includes("ready")) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const { saveWeights, loadWeights } = await import("../runtime/index.ts");
    const w = [{ name: "a/W", shape: [1 << 20], value: new Float32Array(1 << 20) }];
    await loadWeights(w, path.join(dir, "m")); // whatever the kill interrupted, the checkpoint loads
    expect(w[0]!.value[1]).toBe(1);
    await saveWeights(w, path.join(dir, "m"));
    const files = readdirSync(dir).filter((f) => f !== "saver.mts");
    expect(files.sort()).toEqual(["m.json", expect.stringMatching(/^m\.[0-9a-z-]+\.bin$/)]);
  });
});
