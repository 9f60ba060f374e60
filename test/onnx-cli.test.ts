// `cellc export`: a spec written as .onnx with parameters drawn from a seed or read from a model
// checkpoint (one layer of it), run in onnxruntime-node against the TypeScript kernel holding the
// same parameters; --fused writes ONNX's own LSTM operator with the same numbers; bad flags are
// usage errors (exit 2) and spec or checkpoint problems exit 1 with one clear message.

import { afterAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { main } from "../cli/main.ts";
import { loadCellFile, rnn, specPath } from "../jit/index.ts";
import { dense, initializeParams, Rng, sequential, type Recurrent } from "../runtime/index.ts";
import { diff, randomArray, rng } from "./interop-helpers.ts";
import { decodeModel } from "../formats/onnx/schema.ts";

const work = mkdtempSync(join(tmpdir(), "cellc-export-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cellc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => void out.push(l), err: (t) => void err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const T = 6;
const B = 3;
const LENGTHS = [6, 4, 1];

/** The kernel's first output and final states next to onnxruntime's for one seeded input (with
 *  `allSteps`, lengths are fed empty and the kernel runs without them). */
async function compare(file: string, kernel: CellKernel, params: Tensors, fused = false, allSteps = false): Promise<number> {
  const meta = kernel.meta;
  const I = meta.inputs[0]!.size;
  const x = randomArray(T * B * I, rng(11));
  const ref = kernel.forward(params, { [meta.inputs[0]!.name]: x }, { batchSize: B, timeSteps: T, ...(allSteps ? {} : { lengths: LENGTHS }) });
  const s = await ort.InferenceSession.create(readFileSync(file), { logSeverityLevel: 3 });
  const lengths = allSteps ? new ort.Tensor("int32", new Int32Array(0), [0]) : new ort.Tensor("int32", Int32Array.from(LENGTHS), [B]);
  const feeds: Record<string, ort.Tensor> = fused ? { X: new ort.Tensor("float32", x, [T, B, I]), sequence_lens: lengths } : { [meta.inputs[0]!.name]: new ort.Tensor("float32", x, [T, B, I]), lengths };
  const out = await s.run(feeds);
  const o = meta.outputs[0]!;
  const y = out[fused ? "Y" : `output_${o.name}`]!.data as Float32Array;
  let worst = diff(y, ref.outputs[o.name]!).rel;
  const finals = fused ? ["Y_h", "Y_c"] : meta.states.map((st) => `final_${st.name}`);
  meta.states.forEach((st, i) => (worst = Math.max(worst, diff(out[finals[i]!]!.data as Float32Array, ref.finalState[st.name]!).rel)));
  return worst;
}

describe("cellc export", () => {
  it("writes a custom cell with parameters initialised from --seed, as the spec declares", async () => {
    const file = join(work, "sub", "cifg.onnx");
    const r = await cellc("export", specPath("cifg"), "--dims", "I=4,H=5", "-o", file, "--seed", "7");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*cifg\.onnx .*cifg I=4 H=5, initialised with seed 7; inputs x, lengths; outputs output_h, final_h, final_c/);
    const kernel = await loadCellFile(specPath("cifg"), { dims: { I: 4, H: 5 } });
    const params = kernel.createParams();
    initializeParams(params, kernel.meta.params, new Rng(7));
    expect(await compare(file, kernel, params)).toBeLessThan(1e-5);
  });

  it("reads one layer's parameters from a model checkpoint (--weights, found or named with --layer)", async () => {
    const m = sequential([rnn({ spec: specPath("gru"), units: 5, name: "enc" }), dense(2)], { seed: 3 });
    await m.build([null, 4]);
    const ckpt = join(work, "model");
    await m.save(ckpt);
    const layer = m.layers[0] as Recurrent;
    const params = layer.kernelParams();
    for (const extra of [[], ["--layer", "enc"]]) {
      const file = join(work, `gru${extra.length}.onnx`);
      const r = await cellc("export", specPath("gru"), "--dims", "I=4,H=5", "--out", file, "--weights", ckpt, ...extra);
      expect(r.code, r.err).toBe(0);
      expect(await compare(file, layer.kernel as CellKernel, params)).toBeLessThan(1e-5);
    }
    const wrong = await cellc("export", specPath("gru"), "--dims", "I=4,H=5", "--out", join(work, "x.onnx"), "--weights", ckpt, "--layer", "dense");
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/has no layer 'dense' with gru's parameters/);
    const dims = await cellc("export", specPath("gru"), "--dims", "I=4,H=6", "--out", join(work, "x.onnx"), "--weights", ckpt);
    expect(dims.code).toBe(1);
    expect(dims.err).toMatch(/is \[\d+, 4\] but gru's \w+ is \[6, 4\] \(check --dims\)|holds no parameters|is \[5\] but/);
  });

  it("--fused writes a standard cell as ONNX's LSTM operator with the same numbers (sequence_lens given or empty)", async () => {
    const file = join(work, "lstm-fused.onnx");
    const r = await cellc("export", specPath("lstm"), "--dims", "I=4,H=5", "--out", file, "--fused", "--seed", "2");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/ONNX LSTM; inputs X, sequence_lens; outputs Y, Y_h, Y_c/);
    const kernel = await loadCellFile(specPath("lstm"), { dims: { I: 4, H: 5 } });
    const params = kernel.createParams();
    initializeParams(params, kernel.meta.params, new Rng(2));
    expect(await compare(file, kernel, params, true)).toBeLessThan(1e-5);
    // sequence_lens given empty: every sample runs all T steps.
    expect(await compare(file, kernel, params, true, true)).toBeLessThan(1e-5);
  });

  it("lengths and initial states may be given empty (all T steps, zero states) or given, as the kernel runs them", async () => {
    const file = join(work, "lstm-states.onnx");
    const r = await cellc("export", specPath("lstm"), "--dims", "I=4,H=5", "-o", file, "--seed", "4", "--initial-states");
    expect(r.code, r.err).toBe(0);
    const kernel = await loadCellFile(specPath("lstm"), { dims: { I: 4, H: 5 } });
    const params = kernel.createParams();
    initializeParams(params, kernel.meta.params, new Rng(4));
    const x = randomArray(T * B * 4, rng(5));
    const h0 = randomArray(B * 5, rng(6));
    const c0 = randomArray(B * 5, rng(7));
    const s = await ort.InferenceSession.create(readFileSync(file), { logSeverityLevel: 4 });
    expect(s.inputNames).toEqual(["x", "lengths", "initial_h", "initial_c"]);
    const f32 = (d: Float32Array, dims: number[]) => new ort.Tensor("float32", d, dims);
    const none = { lengths: new ort.Tensor("int32", new Int32Array(0), [0]), initial_h: f32(new Float32Array(0), [0, 5]), initial_c: f32(new Float32Array(0), [0, 5]) };
    const given = { lengths: new ort.Tensor("int32", Int32Array.from(LENGTHS), [B]), initial_h: f32(h0, [B, 5]), initial_c: f32(c0, [B, 5]) };
    const runs = [
      { feeds: none, opts: {} },
      { feeds: given, opts: { lengths: LENGTHS, initialState: { h: h0, c: c0 } } },
      { feeds: { ...given, lengths: none.lengths }, opts: { initialState: { h: h0, c: c0 } } },
      { feeds: { ...none, lengths: given.lengths }, opts: { lengths: LENGTHS } },
    ];
    const results: Float32Array[] = [];
    for (const { feeds, opts } of runs) {
      const out = await s.run({ x: f32(x, [T, B, 4]), ...feeds });
      const ref = kernel.forward(params, { x }, { batchSize: B, timeSteps: T, ...opts });
      expect(diff(out["output_h"]!.data as Float32Array, ref.outputs["h"]!).rel).toBeLessThan(1e-5);
      expect(diff(out["final_h"]!.data as Float32Array, ref.finalState["h"]!).rel).toBeLessThan(1e-5);
      expect(diff(out["final_c"]!.data as Float32Array, ref.finalState["c"]!).rel).toBeLessThan(1e-5);
      results.push(out["final_c"]!.data as Float32Array);
    }
    // The four runs differ: lengths and initial states both reach the result.
    for (let i = 1; i < results.length; i++) expect(diff(results[i]!, results[0]!).abs).toBeGreaterThan(1e-3);
    // lengths for a different batch size is an error, not a silent misreading.
    await expect(s.run({ x: f32(x, [T, B, 4]), ...given, lengths: new ort.Tensor("int32", Int32Array.from([6, 4]), [2]) })).rejects.toThrow(/Reshape/);
  });

  it("--input-defaults makes lengths and initial states inputs with defaults; onnxruntime-node runs the model without them", async () => {
    const file = join(work, "gru-defaults.onnx");
    const r = await cellc("export", specPath("gru"), "--dims", "I=4,H=5", "-o", file, "--seed", "8", "--initial-states", "--input-defaults");
    expect(r.code, r.err).toBe(0);
    const model = decodeModel(readFileSync(file)).graph!;
    const inits = new Map((model.initializer ?? []).map((t) => [t.name, t.dims ?? []]));
    expect(model.input!.map((v) => v.name)).toEqual(["x", "lengths", "initial_h"]);
    expect(inits.get("lengths")).toEqual([0]);
    expect(inits.get("initial_h")).toEqual([0, 5]);
    const kernel = await loadCellFile(specPath("gru"), { dims: { I: 4, H: 5 } });
    const params = kernel.createParams();
    initializeParams(params, kernel.meta.params, new Rng(8));
    const x = randomArray(T * B * 4, rng(9));
    const s = await ort.InferenceSession.create(readFileSync(file), { logSeverityLevel: 3 });
    // onnxruntime-node lists (and feeds) only the inputs without a default.
    expect(s.inputNames).toEqual(["x"]);
    const out = await s.run({ x: new ort.Tensor("float32", x, [T, B, 4]) });
    const ref = kernel.forward(params, { x }, { batchSize: B, timeSteps: T });
    expect(diff(out["output_h"]!.data as Float32Array, ref.outputs["h"]!).rel).toBeLessThan(1e-5);
    expect(diff(out["final_h"]!.data as Float32Array, ref.finalState["h"]!).rel).toBeLessThan(1e-5);
    expect((await cellc("export", specPath("lstm"), "--dims", "I=4,H=5", "-o", file, "--fused", "--input-defaults")).code).toBe(2);
  });

  it("bad flags are usage errors (exit 2); spec errors and missing files exit 1", async () => {
    for (const argv of [[], ["a.cell"], ["a.cell", "b.cell", "-o", "x.onnx"], ["a.cell", "-o", "x.onnx", "--bogus"], ["a.cell", "-o", "x.onnx", "--dims", "H"], ["a.cell", "-o", "x.onnx", "--layer", "l"], ["a.cell", "-o", "x.onnx", "--seed", "-1"]]) {
      const r = await cellc("export", ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(/^cellc export: [\s\S]*\n\nUsage: cellc export/);
    }
    const help = await cellc("export", "--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: cellc export/);
    const unbound = await cellc("export", specPath("lstm"), "--dims", "I=4", "-o", join(work, "x.onnx"));
    expect(unbound.code).toBe(1);
    expect(unbound.err).toMatch(/CE401/);
    const missing = await cellc("export", join(work, "nope.cell"), "-o", join(work, "x.onnx"));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read .*nope\.cell/);
    const noMap = await cellc("export", specPath("cifg"), "--dims", "I=4,H=5", "-o", join(work, "x.onnx"), "--fused");
    expect(noMap.code).toBe(1);
    expect(noMap.err).toMatch(/--fused needs the spec's mapping file/);
    const badCkpt = await cellc("export", specPath("lstm"), "--dims", "I=4,H=5", "-o", join(work, "x.onnx"), "--weights", join(work, "none"));
    expect(badCkpt.code).toBe(1);
    expect(badCkpt.err).toMatch(/cannot read weights/);
  });
});


