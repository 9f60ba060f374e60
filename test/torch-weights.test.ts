// Weights both ways between cellc and the PyTorch backend's modules, by parameter name and with no
// mapping file: a cellc model's checkpoint (an lstm layer and a dense head) loads into the
// module (load_cellc finds the layer), which then computes the cellc kernel's outputs; the
// module's changed weights come back through save_cellc (loadTorchWeights) and through a JSON
// state_dict with a DistributedDataParallel-style "module." prefix (importTorchStateDict), equal
// bit for bit, and the kernel with them reproduces the module's new outputs. The same for a stack
// under a named layer and for a spec whose parameter names are not valid attributes (renamed
// p_<name>). Broken files and misfits are refused on both sides without changing anything.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { compile, loadCell, loadCellFile } from "../driver/index.ts";
import { rnn, specPath } from "../jit/index.ts";
import { dense, sequential } from "../runtime/index.ts";
import { exportTorchStateDict, importTorchStateDict, loadTorchWeights, saveTorchWeights } from "../runtime/interop/index.ts";
import { diff, randomArray, randomParams, rng } from "./interop-helpers.ts";
import { findTorch, torchName, runJobs, scratchDir, type TorchEnv } from "./helpers/torch.ts";

const [T, B, I, H] = [6, 2, 3, 4];
const torch = findTorch();

const ODD_NAMES = `cell odd_names(I, H) {
  input x: [I]
  state h: [H]
  param to: [H, I], training: [H, H], lambda: [H], b: [H] = const(0.5)
  h' = tanh(to @ x + training @ h + lambda + b)
  output h'
}`;

interface Roundtrip {
  error?: string;
  before: number[];
  after: number[];
  params: Record<string, number[]>;
  keys: string[];
}
interface Reject {
  error?: string;
  message: string | null;
  unchanged?: boolean;
}

function outputs(kernel: CellKernel, params: Tensors, x: Float32Array): Float32Array {
  const r = kernel.forward(params, { [kernel.meta.inputs[0]!.name]: x }, { batchSize: B });
  return r.outputs[kernel.meta.outputs[0]!.name]!;
}

async function torchModule(dir: string, name: string, source: string, file: string, dims: Record<string, number>): Promise<string> {
  const r = await compile(source, { file, dims, target: "torch" });
  const path = join(dir, `${name}.py`);
  writeFileSync(path, r.module!.code);
  return path;
}

describe.skipIf(typeof torch === "string")(torchName("weights between cellc and the PyTorch module", torch), () => {
  let scratch: ReturnType<typeof scratchDir>;
  let results: unknown[] = [];
  const x = randomArray(T * B * I, rng(7));
  const cases: { name: string; kernel: CellKernel; start: Tensors; saveTo: string; jsonTo: string; saveLayer?: string }[] = [];

  beforeAll(async () => {
    scratch = scratchDir("cellc-torch-w-");
    const d = scratch.dir;
    const jobs: unknown[] = [];
    const roundtrip = (name: string, module: string, load: string, kernel: CellKernel, start: Tensors, extra: Record<string, unknown> = {}) => {
      const c = { name, kernel, start, saveTo: join(d, `${name}-back`), jsonTo: join(d, `${name}-state.json`), ...(extra["saveLayer"] ? { saveLayer: extra["saveLayer"] as string } : {}) };
      cases.push(c);
      jobs.push({ kind: "roundtrip", module, load, T, B, x: Array.from(x), scale: 1.5, shift: 0.125, saveTo: c.saveTo, jsonTo: c.jsonTo, ...extra });
    };

    // 1. A cellc model (lstm layer + dense head) saved as a checkpoint.
    const model = sequential([rnn({ spec: specPath("lstm"), units: H }), dense(1)], { seed: 3 });
    await model.build([null, I]);
    await model.save(join(d, "model"));
    const lstmLayer = model.layers[0] as unknown as { kernelParams(): Tensors; kernel: CellKernel };
    const lstmPy = await torchModule(d, "lstm", readFileSync(specPath("lstm"), "utf8"), specPath("lstm"), { I, H });
    roundtrip("lstm", lstmPy, join(d, "model.json"), await loadCellFile(specPath("lstm"), { dims: { I, H } }), { ...lstmLayer.kernelParams() });

    // 2. A stack, saved by cellc under a layer name and written back under one.
    const deep = await loadCellFile(specPath("deep_lstm"), { dims: { I, H } });
    const deepParams = randomParams(deep, 11);
    await saveTorchWeights(deep.meta, deepParams, join(d, "deep"), { layer: "encoder" });
    roundtrip("deep", await torchModule(d, "deep", readFileSync(specPath("deep_lstm"), "utf8"), specPath("deep_lstm"), { I, H }), join(d, "deep.json"), deep, deepParams, { saveLayer: "encoder" });

    // 3. Parameter names that cannot be nn.Module attributes.
    const odd = await loadCell(ODD_NAMES, { dims: { I, H } });
    const oddParams = randomParams(odd, 12);
    await saveTorchWeights(odd.meta, oddParams, join(d, "odd"));
    const oddPy = await torchModule(d, "odd", ODD_NAMES, "odd.cell", { I, H });
    roundtrip("odd", oddPy, join(d, "odd"), odd, oddParams);

    // Files the module must refuse: a corrupt data file, wrong shapes, missing weights.
    await saveTorchWeights(deep.meta, deepParams, join(d, "corrupt"));
    const bin = readdirSync(d).find((f) => f.startsWith("corrupt.") && f.endsWith(".bin"))!;
    const bytes = readFileSync(join(d, bin));
    bytes[5] = bytes[5]! ^ 0xff;
    writeFileSync(join(d, bin), bytes);
    jobs.push({ kind: "reject", module: join(d, "deep.py"), load: join(d, "corrupt.json") });
    const big = await loadCellFile(specPath("lstm"), { dims: { I, H: H + 1 } });
    await saveTorchWeights(big.meta, randomParams(big, 13), join(d, "big"));
    jobs.push({ kind: "reject", module: lstmPy, load: join(d, "big.json") });
    jobs.push({ kind: "reject", module: oddPy, load: join(d, "model.json") });

    results = (await runJobs<unknown>(torch as TorchEnv, "test/helpers/torch_weights.py", jobs, d)).results;
  });

  afterAll(() => scratch?.remove());

  it.each(["lstm", "deep", "odd"])("%s: the module loads cellc's weights, and cellc loads the module's back, by name", async (name) => {
    const k = cases.findIndex((c) => c.name === name);
    const c = cases[k]!;
    const r = results[k] as Roundtrip;
    expect(r.error, r.error).toBeUndefined();
    // The module with cellc's weights computes the kernel's outputs.
    expect(diff(r.before, outputs(c.kernel, c.start, x)).rel).toBeLessThan(1e-5);
    // Its changed weights come back exactly, both ways.
    const back = await loadTorchWeights(c.kernel.meta, c.saveTo);
    const fromJson = importTorchStateDict(c.kernel.meta, readFileSync(c.jsonTo, "utf8"), { prefix: "module." });
    for (const p of c.kernel.meta.params) {
      const want = Float32Array.from(r.params[p.name]!);
      expect(Array.from(back[p.name]!), p.name).toEqual(Array.from(want));
      expect(Array.from(fromJson[p.name]!), p.name).toEqual(Array.from(want));
      // ... and they are the changed ones (w * 1.5 + 0.125), not the start.
      expect(want[0]).toBeCloseTo(c.start[p.name]![0]! * 1.5 + 0.125, 5);
    }
    // The kernel with the module's weights computes the module's new outputs.
    expect(diff(r.after, outputs(c.kernel, back, x)).rel).toBeLessThan(1e-5);
    if (name === "odd") expect(r.keys).toEqual(["p_to", "p_training", "p_lambda", "b"]);
    else expect(r.keys).toEqual(c.kernel.meta.params.map((p) => p.name));
  });

  it("the module refuses a corrupt file, wrong shapes and missing weights, and keeps its own", () => {
    const [corrupt, shapes, missing] = results.slice(3) as Reject[];
    expect(corrupt!.message).toMatch(/corrupt \(checksum mismatch\)/);
    expect(shapes!.message).toMatch(/weight 'lstm\/W_i'|'W_i' has shape \[5, 3\], the parameter W_i has \[4, 3\]/);
    expect(missing!.message).toMatch(/no weights for to, training, lambda, b/);
    for (const r of [corrupt, shapes, missing]) expect(r!.unchanged).toBe(true);
  });

  it("cellc refuses state_dicts and files that do not fit, naming the weight", async () => {
    const odd = await loadCell(ODD_NAMES, { dims: { I, H } });
    const good = exportTorchStateDict(odd.meta, randomParams(odd, 1));
    expect(Object.keys(good)).toEqual(["p_to", "p_training", "p_lambda", "b"]);
    expect(() => importTorchStateDict(odd.meta, { ...good, extra: [1] })).toThrow(/key "extra" is not a parameter of odd_names \(expected: p_to, p_training, p_lambda, b\)/);
    const { b: _b, ...noB } = good;
    expect(() => importTorchStateDict(odd.meta, noB)).toThrow(/lacks "b" \(odd_names's b \[4\]\)/);
    expect(() => importTorchStateDict(odd.meta, { ...good, b: [1, 2] })).toThrow(/state_dict\["b"\] has shape \[2\]; odd_names's b is \[4\]/);
    expect(() => importTorchStateDict(odd.meta, { ...good, to: good["p_to"]! })).toThrow(/both name odd_names's to/);
    expect(() => importTorchStateDict(odd.meta, "{nope")).toThrow(/not valid/);
    // A file with another cell's weights.
    await expect(loadTorchWeights(odd.meta, join(scratch.dir, "model.json"))).rejects.toThrow(/no weights for to, training, lambda, b/);
    await expect(loadTorchWeights(odd.meta, join(scratch.dir, "corrupt.json"))).rejects.toThrow(/checksum/);
  });
});
