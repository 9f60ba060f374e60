// Features of today's runtime, as installed: createParams({ seed }) on ts and wasm kernels the
// installed bin wrote (the same numbers, equal to a runtime recurrent layer built with that seed);
// cellc/interop importing a single ONNX LSTM node (weights as graph inputs, and layout 1) to the
// numbers onnxruntime-node computes, and importPytorch refusing 1e39 naming the tensor; the Keras
// callbacks and a learning-rate schedule in one small fit; a checkpoint whose header nests a shape
// 10,000 deep, or whose data file is a FIFO, refused with a clear error; and the installed
// language server answering a change with diagnostics. Every script runs in a fresh plain node.

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter, type PublishDiagnosticsParams } from "vscode-languageserver-protocol/node";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCell } from "../../driver/index.ts";
import { attribute, encodeModel, floatTensor, valueInfo, type IModelProto } from "../../formats/onnx/schema.ts";
import { appFolder, cellc, installedApp, mguSpec, node, run } from "./app.ts";

let dir: string;
beforeAll(() => {
  dir = appFolder("runtime-features", { "specs/mgu.cell": mguSpec });
});

/** Runs `script` (an .mjs body) in a fresh plain node in the folder; its stdout as JSON. */
async function script<T>(name: string, text: string): Promise<T> {
  writeFileSync(join(dir, name), text);
  const r = await node(name, dir);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(r.stdout) as T;
}

describe("createParams({ seed }) on installed kernels", () => {
  it("ts and wasm give the same numbers, equal to a recurrent layer built with that seed; forward is non-zero", async () => {
    const built = await Promise.all(["ts", "wasm"].map((target) => cellc(["build", "specs/mgu.cell", "--dims", "I=3,H=8", "--target", target, "--format", "js", "--out", `init-${target}`], dir)));
    for (const r of built) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    type Out = { backends: string[]; ts: Record<string, number[]>; wasm: Record<string, number[]>; layer: Record<string, number[]>; outputs: number[][] };
    const out = await script<Out>(
      "init.mjs",
      `import * as ts from "./init-ts/mgu_I3_H8.js";
import * as wasm from "./init-wasm/mgu_I3_H8.js";
import { recurrent, Rng } from "cellc/runtime";
const seed = 1234;
const plain = (p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v]]));
const layer = recurrent({ kernel: ts });
await layer.build([null, 3], new Rng(seed));
const x = new Float32Array(4 * 2 * 3).map((_, i) => Math.sin(i));
const outputs = [ts, wasm].map((k) => [...k.forward(k.createParams({ seed }), { x }, { batchSize: 2 }).outputs.h]);
console.log(JSON.stringify({ backends: [ts.meta.backend, wasm.meta.backend], ts: plain(ts.createParams({ seed })), wasm: plain(wasm.createParams({ seed })),
  layer: Object.fromEntries(layer.params().map((q) => [q.name, [...q.value]])), outputs }));
`,
    );
    expect(out.backends).toEqual(["ts", "wasm"]);
    expect(Object.keys(out.ts).sort()).toEqual(["U_f", "U_h", "W_f", "W_h", "b_f", "b_h"]);
    expect(out.wasm).toEqual(out.ts);
    expect(out.layer).toEqual(out.ts);
    expect(out.ts["b_f"]).toEqual(new Array(8).fill(1)); // `= ones`
    expect(new Set(out.ts["W_f"]).size).toBeGreaterThan(20); // drawn, not constant
    // The sources' kernel with the same seed: the same numbers.
    const source = (await loadCell(mguSpec, { dims: { I: 3, H: 8 } })).createParams({ seed: 1234 });
    expect(Object.fromEntries(Object.entries(source).map(([k, v]) => [k, [...v]]))).toEqual(out.ts);
    for (const o of out.outputs) expect(o.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    for (let i = 0; i < out.outputs[0]!.length; i++) expect(Math.abs(out.outputs[1]![i]! - out.outputs[0]![i]!)).toBeLessThan(1e-5);
  });
});

describe("cellc/interop from the installed package", () => {
  const [T, B, I, H] = [6, 3, 4, 5];
  const next = (() => {
    let s = 17;
    return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 1;
  })();
  const tensor = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next) });
  const weights = { W: tensor([1, 4 * H, I]), R: tensor([1, 4 * H, H]), B: tensor([1, 8 * H]) };
  const x = Float32Array.from({ length: T * B * I }, next);

  /** One ONNX LSTM node; weights as graph inputs (no defaults), or as initializers. */
  function lstmModel(layout: 0 | 1, asInputs: boolean): Uint8Array {
    const seq = (n: number) => (layout === 0 ? ["T", "B", n] : ["B", "T", n]);
    const model: IModelProto = {
      irVersion: 8,
      producerName: "test",
      opsetImport: [{ domain: "", version: 14 }],
      graph: {
        name: "one_lstm",
        node: [{ opType: "LSTM", name: "LSTM_0", input: ["X", "W", "R", "B"], output: ["Y", "Y_h", "Y_c"], attribute: [attribute("hidden_size", H), attribute("layout", layout)] }],
        input: [valueInfo("X", seq(I)), ...(asInputs ? (["W", "R", "B"] as const).map((k) => valueInfo(k, weights[k].shape)) : [])],
        initializer: asInputs ? [] : (["W", "R", "B"] as const).map((k) => floatTensor(k, weights[k].shape, weights[k].data)),
        output: [valueInfo("Y", layout === 0 ? ["T", 1, "B", H] : ["B", "T", 1, H]), valueInfo("Y_h", layout === 0 ? [1, "B", H] : ["B", 1, H]), valueInfo("Y_c", layout === 0 ? [1, "B", H] : ["B", 1, H])],
      },
    };
    return encodeModel(model);
  }

  it("importOnnx of one LSTM node (weights as inputs; layout 1) computes what onnxruntime-node computes; importPytorch refuses 1e39 naming the tensor", async () => {
    const inputs = lstmModel(0, true);
    writeFileSync(join(dir, "lstm-inputs.onnx"), inputs);
    writeFileSync(join(dir, "lstm-layout1.onnx"), lstmModel(1, false));
    writeFileSync(join(dir, "interop-data.json"), JSON.stringify({ x: [...x], weights: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, { shape: w.shape, data: [...w.data] }])) }));
    type Out = { y: number[][]; refused: { name: string; message: string } };
    const out = await script<Out>(
      "interop.mjs",
      `import { readFileSync } from "node:fs";
import { loadCellFile, specPath } from "cellc/jit";
import { exportPytorch, importOnnx, importPytorch, InteropError, loadMappingForSpec } from "cellc/interop";
const { x, weights } = JSON.parse(readFileSync("interop-data.json", "utf8"));
const kernel = await loadCellFile(specPath("lstm"), { dims: { I: ${I}, H: ${H} } });
const mapping = loadMappingForSpec(specPath("lstm"));
const run = (params) => [...kernel.forward(params, { x: Float32Array.from(x) }, { batchSize: ${B} }).outputs.h];
const viaInputs = importOnnx(kernel.meta, mapping, readFileSync("lstm-inputs.onnx"), { inputs: weights });
const viaLayout1 = importOnnx(kernel.meta, mapping, readFileSync("lstm-layout1.onnx"));
// A PyTorch state dict with one value beyond float32's range.
const dict = exportPytorch(kernel.meta, mapping, viaInputs);
const name = Object.keys(dict)[0];
let v = dict[name];
while (Array.isArray(v[0])) v = v[0];
v[0] = 1e39;
let refused = { name: "", message: "" };
try {
  importPytorch(kernel.meta, mapping, JSON.stringify(dict));
} catch (e) {
  refused = { name: e instanceof InteropError ? "InteropError" : String(e?.name), message: e.message, tensor: name };
}
console.log(JSON.stringify({ y: [run(viaInputs), run(viaLayout1)], refused }));
`,
    );
    const session = await ort.InferenceSession.create(inputs, { logSeverityLevel: 3 });
    const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor("float32", x, [T, B, I]) };
    for (const [k, w] of Object.entries(weights)) feeds[k] = new ort.Tensor("float32", w.data, w.shape);
    const want = (await session.run(feeds))["Y"]!.data as Float32Array; // [T, 1, B, H] = [T, B, H]
    await session.release();
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.05);
    for (const got of out.y) {
      expect(got).toHaveLength(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThan(1e-5);
    }
    expect(out.refused.name).toBe("InteropError");
    expect(out.refused.message).toMatch(/1e\+39, beyond float32's range/);
    expect(out.refused.message).toContain((out.refused as { tensor?: string }).tensor);
  });
});

describe("cellc/runtime callbacks and schedules, installed", () => {
  it("earlyStopping keeps the best epoch's weights, reduceLROnPlateau halves the rate, modelCheckpoint's file reloads, a schedule steps the rate", async () => {
    type Out = { epochs: number[]; rates: number[]; best: number[]; kept: number[]; reloaded: number[]; last: number[]; saved: number[]; scheduled: number[] };
    const out = await script<Out>(
      "callbacks.mjs",
      `import { dense, earlyStopping, exponentialDecay, modelCheckpoint, reduceLROnPlateau, Rng, sequential, sgd } from "cellc/runtime";
const N = 16, rng = new Rng(5);
const x = new Float32Array(N * 2).map(() => rng.uniform(-1, 1));
const y = new Float32Array(N).map((_, i) => 2 * x[2 * i] - x[2 * i + 1] + 0.5);
const data = [{ data: x, shape: [N, 2] }, { data: y, shape: [N, 1] }];
const flat = (ws) => ws.flatMap((w) => [...w]);
const opt = sgd({ learningRate: 0.1 });
const m = sequential([dense(1)], { seed: 1 });
m.compile({ optimizer: opt, loss: "mse" });
// val_loss as a validation score would arrive: best at epoch 1, then three epochs worse.
const seq = [3, 2, 2.5, 2.6, 2.7, 1, 1];
const snapshots = [], rates = [];
const crafted = { onEpochBegin: () => void rates.push(opt.learningRate), onEpochEnd(e, logs) { logs.val_loss = seq[e]; snapshots.push(flat(m.getWeights())); } };
const es = earlyStopping({ patience: 3, restoreBestWeights: true });
const ck = modelCheckpoint({ filepath: "ck/best", saveBestOnly: true });
const h = await m.fit(...data, { epochs: 7, batchSize: N, shuffle: false, verbose: 0, callbacks: [crafted, es, reduceLROnPlateau({ factor: 0.5, patience: 1 }), ck] });
const fresh = sequential([dense(1)], { seed: 9 });
await fresh.build([2]);
await fresh.load("ck/best");
// A schedule as the learning rate: each update uses at(iterations).
const s = exponentialDecay({ initialLearningRate: 0.2, decaySteps: 1, decayRate: 0.5 });
const sOpt = sgd({ learningRate: s });
const sm = sequential([dense(1)], { seed: 1 });
sm.compile({ optimizer: sOpt, loss: "mse" });
const scheduled = [];
await sm.fit(...data, { epochs: 3, batchSize: N, shuffle: false, verbose: 0, callbacks: { onBatchEnd: () => void scheduled.push(sOpt.learningRate) } });
console.log(JSON.stringify({ epochs: h.epoch, rates, best: snapshots[1], last: snapshots.at(-1), kept: flat(m.getWeights()), reloaded: flat(fresh.getWeights()), saved: ck.saved.map((c) => c.epoch), scheduled }));
`,
    );
    // Keras' rules: stops after patience 3 epochs without improvement (epoch 4); the rate halves
    // after each epoch without improvement (patience 1): at the ends of epochs 2 and 3.
    expect(out.epochs).toEqual([0, 1, 2, 3, 4]);
    expect(out.rates).toEqual([0.1, 0.1, 0.1, 0.05, 0.025]);
    expect(out.last).not.toEqual(out.best);
    expect(out.kept).toEqual(out.best);
    expect(out.saved).toEqual([0, 1]);
    expect(out.reloaded).toEqual(out.best);
    expect(out.scheduled).toEqual([0.2, 0.1, 0.05]);
  });
});

describe("model.load from the installed package on a hostile checkpoint", () => {
  it("a shape nested 10,000 deep is a clear Error, not a RangeError; a FIFO as data file is refused, not waited on", async () => {
    const ck = appFolder("runtime-features/hostile-ck");
    expect((await run("mkfifo", [join(ck, "fifo.bin")])).code).toBe(0);
    type Out = Record<"deep" | "fifo", { name: string; message: string }>;
    const out = await script<Out>(
      "hostile.mjs",
      `import { readFileSync, writeFileSync } from "node:fs";
import { dense, sequential } from "cellc/runtime";
const m = sequential([dense(2)], { seed: 1 });
await m.build([3]);
await m.save("hostile-ck/m");
const header = readFileSync("hostile-ck/m.json", "utf8");
const deep = "[".repeat(10000) + "]".repeat(10000);
writeFileSync("hostile-ck/deep.json", header.replace(/"shape": *\\[[^\\]]*\\]/, '"shape": ' + deep));
writeFileSync("hostile-ck/fifo.json", header.replace(/"data": *"[^"]*"/, '"data": "fifo.bin"'));
const out = {};
for (const name of ["deep", "fifo"]) {
  try {
    await m.load("hostile-ck/" + name);
    out[name] = { name: "none", message: "" };
  } catch (e) {
    out[name] = { name: e.name, message: e.message };
  }
}
console.log(JSON.stringify(out));
`,
    );
    expect(out.deep.name).toBe("Error");
    expect(out.deep.message).toMatch(/^hostile-ck\/deep\.json is not a valid weights header: weights\[0\] \('dense\/W'\)\.shape must be an array of sizes, got \[\[\[\[\[\.\.\.\]\]\]\]\]$/);
    expect(out.fifo).toEqual({ name: "Error", message: "cannot read weights data hostile-ck/fifo.bin named by hostile-ck/fifo.json: it is a FIFO (named pipe), not a regular file" });
  });
});

describe("the installed language server", () => {
  it("answers a change with the checker's diagnostics, and a fix with none", async () => {
    const lsp = spawn(join(installedApp(), "node_modules/.bin/cellc-language-server"), ["--stdio"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
    const conn = createProtocolConnection(new StreamMessageReader(lsp.stdout), new StreamMessageWriter(lsp.stdin));
    const published: PublishDiagnosticsParams[] = [];
    let wake = () => undefined as void;
    conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      published.push(p);
      wake();
    });
    conn.listen();
    // Resolves with the n-th publication (an event: the server's notification).
    const publication = (n: number) =>
      new Promise<PublishDiagnosticsParams>((resolve) => {
        const look = () => {
          const p = published[n - 1];
          if (p) resolve(p);
        };
        wake = look;
        look();
      });
    try {
      await conn.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
      await conn.sendNotification("initialized", {});
      const uri = pathToFileURL(join(dir, "specs/mgu.cell")).href;
      await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "cell", version: 1, text: mguSpec } });
      expect((await publication(1)).diagnostics).toEqual([]);
      const broken = mguSpec.replace("U_f @ h", "U_f @ hh");
      await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: 2 }, contentChanges: [{ text: broken }] });
      const d = (await publication(2)).diagnostics;
      const line = broken.split("\n").findIndex((l) => l.includes("@ hh"));
      expect(d.map((x) => [x.code, x.message, x.range.start])).toEqual([["CE203", "unknown name 'hh'", { line, character: broken.split("\n")[line]!.indexOf("hh") }]]);
      await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: 3 }, contentChanges: [{ text: mguSpec }] });
      expect((await publication(3)).diagnostics).toEqual([]);
    } finally {
      const exited = new Promise((resolve) => lsp.once("close", resolve));
      conn.dispose();
      lsp.kill();
      await exited;
    }
  });
});
