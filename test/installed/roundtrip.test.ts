// A model's life across processes, as a user runs it from the installed package: trained with
// cellc/runtime and cellc/jit and saved as a checkpoint (process 1); reloaded into a new model in
// process 2, whose prediction must equal process 1's exactly; each of its two cell layers exported
// to ONNX by `cellc export --weights CKPT --layer L` (process 3, 4) and run chained in
// onnxruntime-node; and printed as PyTorch modules by `cellc build --target torch`, loaded in
// /usr/bin/python3 with the checkpoint's weights (load_cellc) and run chained. Both engines'
// numbers must match the runtime's prediction.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { findTorch } from "../helpers/torch.ts";
import { appFolder, cellc, mguSpec, node, run } from "./app.ts";

const B = 3, T = 5, I = 3, H = 6;

// The two-layer model both processes build: the same spec at two input sizes.
const model = `
import { rnn } from "cellc/jit";
import { sequential, sgd, tensor } from "cellc/runtime";
export const B = ${B}, T = ${T}, I = ${I}, H = ${H};
export const x = new Float32Array(B * T * I).map((_, i) => Math.sin(i * 0.7) * 0.8);
export function build() {
  const layer = (name) => rnn({ spec: "specs/mgu.cell", units: H, returnSequences: true, name, target: "ts" });
  return sequential([layer("first"), layer("second")], { seed: 7 });
}
export const print = (t) => console.log(JSON.stringify({ shape: t.shape, data: [...t.data] }));
export { sgd, tensor };
`;

const train = `
import { B, T, I, H, x, build, print, sgd, tensor } from "./model.mjs";
const y = new Float32Array(B * T * H).map((_, i) => Math.cos(i * 0.3) * 0.5);
const m = build();
m.compile({ optimizer: sgd({ learningRate: 0.5 }), loss: "mse" });
await m.fit(tensor(x, [B, T, I]), tensor(y, [B, T, H]), { epochs: 3, batchSize: B, shuffle: false, verbose: 0 });
await m.save("ckpt/model");
print(m.predict(tensor(x, [B, T, I])));
`;

const reload = `
import { T, I, x, build, print, tensor } from "./model.mjs";
const m = build();
await m.build([T, I]);
await m.load("ckpt/model");
print(m.predict(tensor(x, [${B}, T, I])));
`;

// The PyTorch modules, chained, batch-first: prints the second layer's output.
const torchScript = `
import importlib.util, json, sys, torch
def cell(path):
    spec = importlib.util.spec_from_file_location(path.replace("/", "_")[:-3], path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m.Cell(batch_first=True)
first, second = cell("torch/mgu_I${I}_H${H}.py"), cell("torch/mgu_I${H}_H${H}.py")
first.load_cellc("ckpt/model", layer="first")
second.load_cellc("ckpt/model.json", layer="second")
x = torch.tensor(json.loads(sys.stdin.read()), dtype=torch.float32).reshape(${B}, ${T}, ${I})
with torch.no_grad():
    y, _ = second(first(x)[0])
print(json.dumps(y.reshape(-1).tolist()))
`;

interface Printed {
  shape: number[];
  data: number[];
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

/** [B, T, n] batch-major <-> [T, B, n] time-major. */
function swap01(a: ArrayLike<number>, d0: number, d1: number, n: number): Float32Array {
  const out = new Float32Array(d0 * d1 * n);
  for (let i = 0; i < d0; i++) for (let j = 0; j < d1; j++) for (let k = 0; k < n; k++) out[(j * d0 + i) * n + k] = a[(i * d1 + j) * n + k]!;
  return out;
}

describe("a model saved, reloaded, exported and served from the installed package", () => {
  let dir: string;
  let trained: Printed;
  let x: Float32Array;
  beforeAll(async () => {
    dir = appFolder("roundtrip", { "specs/mgu.cell": mguSpec, "model.mjs": model, "train.mjs": train, "reload.mjs": reload });
    const r = await node("train.mjs", dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    trained = JSON.parse(r.stdout) as Printed;
    x = new Float32Array(B * T * I).map((_, i) => Math.sin(i * 0.7) * 0.8);
  });

  it("reloads the checkpoint in a new process: the same prediction, exactly", async () => {
    const r = await node("reload.mjs", dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(trained.shape).toEqual([B, T, H]);
    expect(JSON.parse(r.stdout)).toEqual(trained);
  });

  it("cellc export --weights --layer: onnxruntime-node computes the runtime's prediction", async () => {
    let h = swap01(x, B, T, I); // time-major [T, B, I]
    for (const [layer, input] of [["first", I], ["second", H]] as const) {
      const out = `onnx/${layer}.onnx`;
      const r = await cellc(["export", "specs/mgu.cell", "--dims", `I=${input},H=${H}`, "--weights", "ckpt/model", "--layer", layer, "--out", out], dir);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toContain(`weights from ckpt/model`);
      const session = await ort.InferenceSession.create(readFileSync(join(dir, out)));
      const feeds = { x: new ort.Tensor("float32", h, [T, B, input]), lengths: new ort.Tensor("int32", Int32Array.from({ length: B }, () => T), [B]) };
      expect(session.inputNames).toEqual(Object.keys(feeds));
      const result = await session.run(feeds);
      h = result[session.outputNames[0]!]!.data as Float32Array;
      await session.release();
    }
    expect(maxDiff(swap01(h, T, B, H), trained.data)).toBeLessThan(1e-5);
    // Without --layer, two layers fit: cellc says so instead of guessing.
    const ambiguous = await cellc(["export", "specs/mgu.cell", "--dims", `I=${I},H=${H}`, "--weights", "ckpt/model", "--out", "x.onnx"], dir);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe("cellc export: checkpoint ckpt/model has 2 layers with mgu's parameters (first, second); pick one with --layer\n");
  });

  const torch = findTorch();
  it.skipIf(typeof torch === "string")(`cellc build --target torch: the PyTorch modules with load_cellc compute the runtime's prediction${typeof torch === "string" ? ` (SKIPPED: ${torch})` : ""}`, async () => {
    for (const input of [I, H]) {
      const r = await cellc(["build", "specs/mgu.cell", "--dims", `I=${input},H=${H}`, "--target", "torch", "--out", "torch"], dir);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    }
    const py = await run((torch as { python: string }).python, ["-c", torchScript], { cwd: dir, input: JSON.stringify([...x]) });
    expect({ code: py.code, stderr: py.stderr }).toEqual({ code: 0, stderr: "" });
    expect(maxDiff(JSON.parse(py.stdout) as number[], trained.data)).toBeLessThan(1e-5);
  });
});
