// The runtime's recurrent layer on a WebGPU kernel, as a user reaches it: `cellc build --target
// webgpu` gives a module, a page bundled with esbuild imports it with the browser runtime, and
// headless Chromium (SwiftShader's software Vulkan where there is no GPU) trains a model on it with
// fit, then evaluateAsync and predictAsync. The reference is the same model on the TypeScript
// kernel's float32 build in the same page: same seed, same data, same batches. A Sequential with a
// recurrent layer (input and recurrent dropout on, per-sample lengths), one with a Bidirectional
// layer, and a functional model whose encoder's final state starts a decoder. The weights stay on the GPU: the kernel's weight buffer is written once per
// new set of weights (an optimizer update the kernel then reads), never by backward, evaluation or
// prediction of unchanged weights, and after one changed number only a span smaller than the
// whole. In Node, `rnn({ target: "webgpu" })` without an adapter fails saying so, and the
// synchronous calls refuse an asynchronous layer, naming the asynchronous form; for models of
// synchronous kernels the asynchronous forms give exactly the synchronous ones' numbers.
//
// Tolerance: every loss, weight and prediction within TOL of the TypeScript model's, relative to
// max(1, |value|). Both are float32; the GPU sums its products in another order (tiled GEMMs) and
// its exp/tanh differ by a few ulp, and SGD carries those differences linearly through the steps.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../driver/index.ts";
import { rnn, specPath } from "../jit/index.ts";
import { bidirectional, dense, input, model as functional, recurrent, sequential, sgd, tensor } from "../runtime/index.ts";
import { openGpuPage } from "./helpers/webgpu-page.ts";

const TOL = 1e-4;
const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cellc-webgpu-runtime-"));
const spec = readFileSync(specPath("gru"), "utf8");
const dims = { I: 3, H: 4 };

/** The page: both models on both kernels; results back through cellcDone(json). */
const PAGE = `
import { bidirectional, dense, input, model as functional, recurrent, sequential, sgd, tensor } from ${JSON.stringify(join(root, "runtime/browser.ts"))};
import * as gpu from "./kgpu.ts";
import * as ts from "./kts.ts";

// Counts the writes into the kernel's weight buffer (the one made STORAGE | COPY_DST).
const writes: number[] = [];
async function countingDevice(): Promise<unknown> {
  const a = await (navigator as any).gpu.requestAdapter();
  const dev = await a.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize } });
  let weights: unknown;
  const queue = new Proxy(dev.queue, {
    get(q, p) {
      if (p === "writeBuffer") return (b: unknown, off: number, data: Float32Array, at?: number, n?: number) => {
        if (b === weights) writes.push(n ?? data.length);
        return at === undefined ? q.writeBuffer(b, off, data) : q.writeBuffer(b, off, data, at, n);
      };
      const v = q[p];
      return typeof v === "function" ? v.bind(q) : v;
    },
  });
  return new Proxy(dev, {
    get(d, p) {
      if (p === "queue") return queue;
      if (p === "createBuffer") return (desc: { usage: number }) => {
        const b = d.createBuffer(desc);
        if (desc.usage === (0x80 | 0x08) && weights === undefined) weights = b;
        return b;
      };
      const v = d[p];
      return typeof v === "function" ? v.bind(d) : v;
    },
  });
}

const B = 12, T = 5, F = 3;
const x = new Float32Array(B * T * F), y = new Float32Array(B);
for (let b = 0; b < B; b++) {
  for (let t = 0; t < T; t++) for (let j = 0; j < F; j++) x[(b * T + t) * F + j] = Math.sin(0.9 * b + 0.4 * t + 1.7 * j);
  y[b] = Math.cos(0.5 * b);
}
const lengths = Int32Array.from({ length: B }, (_, b) => T - (b % 3));
const xs = tensor(x, [B, T, F], lengths), ys = tensor(y, [B, 1]);
const vx = tensor(x.slice(0, 4 * T * F), [4, T, F]), vy = tensor(y.slice(0, 4), [4, 1]);
const plainW = (ws: Float32Array[]) => ws.map((w) => Array.from(w));

/** A model of each kind on a kernel: the functional one's encoder hands its final state to a decoder. */
function make(kernel: any, kind: string): any {
  if (kind === "recurrent") return sequential([recurrent({ kernel, dropout: 0.1, recurrentDropout: 0.2 }), dense(1)], { seed: 7 });
  if (kind === "bidirectional") return sequential([bidirectional(kernel), dense(1)], { seed: 7 });
  const inp = input({ shape: [null, F] });
  const [, h] = recurrent({ kernel, returnState: true }).applyAll(inp);
  const seq = recurrent({ kernel }).apply(inp, { initialState: [h] });
  return functional({ inputs: inp, outputs: dense(1).apply(seq), seed: 7 });
}

async function train(kernel: any, kind: string) {
  const model = make(kernel, kind);
  model.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: "mse" });
  await (kind === "functional" ? model.build() : model.build([T, F]));
  const initial = plainW(model.getWeights());
  const before = writes.length;
  const h = await model.fit(xs, ys, { epochs: 3, batchSize: 4, validationData: [vx, vy], verbose: 0 });
  const fitWrites = writes.slice(before);
  const async = kernel === gpu;
  const after = writes.length;
  const evaluated = async ? await model.evaluateAsync(vx, vy) : model.evaluate(vx, vy);
  const predicted = async ? await model.predictAsync(xs) : model.predict(xs);
  const idleWrites = writes.length - after;
  // One changed number: the layer's first parameter's first value.
  const k = model.layers?.[0].kernelParams?.();
  let oneChange: { writes: number[]; prediction: number[] } | undefined;
  if (k) {
    const name = Object.keys(k)[0];
    const v = Float32Array.from(k[name]);
    v[0] += 0.25;
    (model.layers[0] as any).setParams({ ...k, [name]: v });
    const w0 = writes.length;
    const p = async ? await model.predictAsync(xs) : model.predict(xs);
    oneChange = { writes: writes.slice(w0), prediction: Array.from(p.data) };
  }
  let syncError = "";
  try {
    model.predict(xs);
  } catch (e) {
    syncError = (e as Error).message;
  }
  return { initial, loss: h.history.loss, valLoss: h.history.val_loss, weights: plainW(model.getWeights()), evaluated, prediction: Array.from(predicted.data), fitWrites, idleWrites, oneChange, syncError, weightSize: gpu.meta.paramCount };
}

(async () => {
  try {
    gpu.useDevice(await countingDevice());
    const out: Record<string, unknown> = {};
    for (const kind of ["recurrent", "bidirectional", "functional"]) out[kind] = { gpu: await train(gpu, kind), ts: await train(ts, kind) };
    (globalThis as any).cellcDone(JSON.stringify(out));
  } catch (e) {
    (globalThis as any).cellcDone(JSON.stringify({ error: String((e as Error).stack ?? e) }));
  }
})();
`;

interface Run {
  initial: number[][];
  loss: number[];
  valLoss: number[];
  weights: number[][];
  evaluated: Record<string, number>;
  prediction: number[];
  fitWrites: number[];
  idleWrites: number;
  oneChange?: { writes: number[]; prediction: number[] };
  syncError: string;
  weightSize: number;
}
type PageResult = { error?: string } & Record<"recurrent" | "bidirectional" | "functional", { gpu: Run; ts: Run }>;

/** Largest |a - b| / max(1, |b|) over two equal-length lists. */
function relErr(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);
}

const probe = await openGpuPage();
const skip = probe.missing;
let result: PageResult | undefined;
const largest: Record<string, number> = {};
afterAll(async () => {
  if (result) console.log(`webgpu-runtime: largest relative difference to the TypeScript float32 model ${JSON.stringify(largest)} (tolerance ${TOL})`);
  await probe.close();
  rmSync(work, { recursive: true, force: true });
});

describe("a model with a WebGPU recurrent layer in headless Chromium, against the TypeScript float32 kernel", () => {
  beforeAll(async () => {
    if (skip !== undefined) return;
    const dir = join(work, "page");
    mkdirSync(dir, { recursive: true });
    for (const [file, target] of [["kgpu.ts", "webgpu"], ["kts.ts", "ts"]] as const) {
      const r = await compile(spec, { file: "gru.cell", dims, target, dtype: "float32", format: false });
      if (!r.module) throw new Error(JSON.stringify(r.diagnostics));
      writeFileSync(join(dir, file), r.module.code);
    }
    writeFileSync(join(dir, "main.ts"), PAGE);
    result = (await probe.run(dir, "main.ts")) as PageResult;
    if (result.error) throw new Error(result.error);
  }, 600_000);

  const named = (what: string) => (skip === undefined ? what : `${what} (skipped: ${skip})`);

  for (const kind of ["recurrent", "bidirectional", "functional"] as const) {
    it.skipIf(skip !== undefined)(named(`${kind}: fit's losses, validation losses and weights, then evaluateAsync and predictAsync, equal the TypeScript model's`), () => {
      const { gpu, ts } = result![kind];
      expect(ts.loss).toHaveLength(3);
      const errs = {
        loss: relErr(gpu.loss, ts.loss),
        valLoss: relErr(gpu.valLoss, ts.valLoss),
        weights: Math.max(...gpu.weights.map((w, i) => relErr(w, ts.weights[i]!))),
        evaluated: relErr([gpu.evaluated["loss"]!], [ts.evaluated["loss"]!]),
        prediction: relErr(gpu.prediction, ts.prediction),
      };
      largest[kind] = Math.max(...Object.values(errs));
      for (const [what, e] of Object.entries(errs)) expect(e, `${kind} ${what}`).toBeLessThanOrEqual(TOL);
      // The weights moved: the comparison is of trained numbers, not of the initial ones.
      expect(Math.max(...ts.weights.map((w, i) => relErr(w, ts.initial[i]!)))).toBeGreaterThan(0.01);
      expect(gpu.initial).toEqual(ts.initial);
    });
  }

  it.skipIf(skip !== undefined)(named("the weights stay on the GPU: one write per new set of weights, none for backward, evaluation or prediction, a span after one changed number"), () => {
    const { gpu, ts } = result!.recurrent;
    // 3 epochs of 3 batches: the initial weights and 9 updates (each read by the next forward,
    // the last by the epoch's validation), each written once, whole at first.
    expect(gpu.fitWrites).toHaveLength(10);
    expect(gpu.fitWrites[0]).toBeGreaterThanOrEqual(gpu.weightSize);
    expect(gpu.idleWrites).toBe(0);
    expect(gpu.oneChange!.writes).toHaveLength(1);
    expect(gpu.oneChange!.writes[0]!).toBeLessThan(gpu.fitWrites[0]!);
    expect(relErr(gpu.oneChange!.prediction, ts.oneChange!.prediction)).toBeLessThanOrEqual(TOL);
    expect(relErr(gpu.oneChange!.prediction, gpu.prediction)).toBeGreaterThan(0);
    // The TypeScript kernel writes nothing to the GPU.
    expect(ts.fitWrites).toEqual([]);
  });

  it.skipIf(skip !== undefined)(named("the synchronous predict refuses the WebGPU model, naming predictAsync"), () => {
    expect(result!.recurrent.gpu.syncError).toMatch(/^predict runs synchronously, but layer 'gru' returns its results asynchronously .*: use await model\.predictAsync\(\.\.\.\) instead$/);
    expect(result!.recurrent.ts.syncError).toBe("");
  });
});

// Node's `webgpu` package (Dawn) finds an adapter only where Vulkan (or Metal, D3D12) works.
const dawnAdapter = await (async (): Promise<boolean | string> => {
  try {
    const m = (await import("webgpu")) as unknown as { create(flags: string[]): { requestAdapter(): Promise<unknown> } };
    return (await m.create([]).requestAdapter()) !== null;
  } catch (e) {
    return `the webgpu package does not load: ${(e as Error).message}`;
  }
})();

describe("a WebGPU recurrent layer in Node", () => {
  const x = tensor(Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i)), [2, 4, 3]);
  const y = tensor([0.5, -0.5], [2, 1]);

  it.skipIf(dawnAdapter !== false)(
    dawnAdapter === false ? "rnn({ target: \"webgpu\" }) without an adapter: fit rejects saying the webgpu package (Dawn) found none, and what to use instead" : `rnn({ target: "webgpu" }) without an adapter (skipped: ${dawnAdapter === true ? "Dawn finds an adapter on this machine" : dawnAdapter})`,
    async () => {
      const model = sequential([rnn({ spec: specPath("gru"), units: 4, target: "webgpu" }), dense(1)]);
      model.compile({ optimizer: "sgd", loss: "mse" });
      const err = (await model.fit(x, y, { verbose: 0 }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toBe(
        "building layer 'gru': " +
          'rnn: the WebGPU kernel of gru.cell: target "webgpu" found no WebGPU adapter: the `webgpu` package (Dawn) is here but requestAdapter() gave none (no GPU, or no driver for it, on this machine); use target "wasm" or "ts" for the layer, or run the WebGPU kernel in a browser with WebGPU',
      );
    },
    60_000,
  );

  it("evaluateAsync and predictAsync of models of synchronous kernels (ts, wasm) equal evaluate and predict exactly", async () => {
    for (const target of ["ts", "wasm"] as const) {
      const seq = sequential([bidirectional(rnn({ spec: specPath("gru"), units: 4, target, returnSequences: true })), rnn({ spec: specPath("gru"), units: 3, target }), dense(2)], { seed: 3 });
      const inp = input({ shape: [null, 3] });
      const [, h] = rnn({ spec: specPath("gru"), units: 4, target, returnState: true }).applyAll(inp);
      const fn = functional({ inputs: inp, outputs: [dense(1).apply(rnn({ spec: specPath("gru"), units: 4, target }).apply(inp, { initialState: [h] })), dense(2).apply(h)], seed: 3 });
      for (const m of [seq, fn]) {
        m.compile({ optimizer: sgd(), loss: "mse" });
        await m.fit(x, m === seq ? tensor(new Float32Array(4), [2, 2]) : [y, tensor(new Float32Array(4), [2, 2])], { verbose: 0 });
      }
      expect(Array.from((await seq.predictAsync(x)).data)).toEqual(Array.from(seq.predict(x).data));
      expect(await seq.evaluateAsync(x, tensor([1, 2, 3, 4], [2, 2]))).toEqual(seq.evaluate(x, tensor([1, 2, 3, 4], [2, 2])));
      const [a, b] = (await fn.predictAsync(x)) as { data: Float32Array }[];
      const [c, d] = fn.predict(x) as { data: Float32Array }[];
      expect([Array.from(a!.data), Array.from(b!.data)]).toEqual([Array.from(c!.data), Array.from(d!.data)]);
    }
  }, 120_000);

  it("rnn names the targets it takes", () => {
    expect(() => rnn({ spec: specPath("gru"), units: 4, target: "cuda" as never })).toThrow('rnn: target must be "wasm", "ts" or "webgpu", got "cuda"');
  });

  it("the synchronous calls refuse a model with a WebGPU layer, naming the asynchronous form; fit rejects saying there is no navigator.gpu", async () => {
    const r = await compile(spec, { file: "gru.cell", dims, target: "webgpu", format: false });
    const { importModule } = await import("../driver/index.ts");
    const kernel = (await importModule(r.module!.code)) as never;
    const model = sequential([recurrent({ kernel }), dense(1)]);
    await model.build([4, 3]);
    model.compile({ optimizer: sgd(), loss: "mse" });
    const why = "runs synchronously, but layer 'gru' returns its results asynchronously (its kernel runs on the GPU, through WebGPU): use await model.";
    expect(() => model.predict(x)).toThrow(`predict ${why}predictAsync(...) instead`);
    expect(() => model.evaluate(x, y)).toThrow(`evaluate ${why}evaluateAsync(...) instead`);
    expect(() => model.trainOnBatch(x, y)).toThrow(`trainOnBatch ${why}fit(...) instead`);
    await expect(model.predictAsync(x)).rejects.toThrow(/gru\.forward: WebGPU is not available here \(no navigator\.gpu\)/);
    await expect(model.fit(x, y, { verbose: 0 })).rejects.toThrow(/gru\.forward: WebGPU is not available here \(no navigator\.gpu\)/);
  });
});
