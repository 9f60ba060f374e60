// Weight import refuses numbers a float32 kernel cannot hold, naming the tensor and the index:
// JSON values beyond float32's range (1e39, 3.5e38 would round to Infinity), NaN and Infinity in an
// ONNX file's raw data or a double beyond float32 there, and JSON nested 10,000 deep (an
// InteropError, not a bare "Maximum call stack" RangeError). Through the public functions, and
// `cellc export --weights` run as a user runs it (a child process) on a checkpoint header whose
// shapes are deeply nested or huge: one line, exit 1, no stack trace.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildRnnModel, importKeras, importOnnx, importPytorch, importTorchStateDict, InteropError, loadTorchWeights, type ForeignTensor } from "../runtime/interop/index.ts";
import { DataType, encodeModel, onnx, type IModelProto } from "../formats/onnx/schema.ts";
import { exampleKernel, randomArray, rng } from "./interop-helpers.ts";

const [I, H] = [3, 4];
const ROOT = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cellc-bad-numbers-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const refuses = (f: () => unknown, text: RegExp) => {
  expect(f).toThrow(InteropError);
  expect(f).toThrow(text);
};

/** A PyTorch-layout state_dict for the rnn spec as nested arrays, with `edit` applied. */
function rnnStateDict(edit: (sd: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const next = rng(3);
  const mat = (r: number, c: number) => Array.from({ length: r }, () => Array.from(randomArray(c, next)));
  const sd: Record<string, unknown> = { weight_ih_l0: mat(H, I), weight_hh_l0: mat(H, H), bias_ih_l0: Array.from(randomArray(H, next)), bias_hh_l0: Array.from(randomArray(H, next)) };
  edit(sd);
  return sd;
}

const deep = (depth: number): string => "[".repeat(depth) + "1" + "]".repeat(depth);

describe("JSON weights (PyTorch state_dict, cellc module state_dict, Keras) refuse what float32 cannot hold", () => {
  it("values beyond float32's range, by tensor and element", async () => {
    const { kernel, mapping } = await exampleKernel("rnn", { I, H });
    for (const huge of [1e39, 3.5e38, -3.5e38]) {
      const json = JSON.stringify(rnnStateDict((sd) => ((sd["weight_hh_l0"] as number[][])[2]![1] = huge)));
      refuses(() => importPytorch(kernel.meta, mapping, json), new RegExp(`state_dict\\["weight_hh_l0"\\]: element \\[2\\]\\[1\\] is ${String(huge).replace("+", "\\+")}, beyond float32's range`));
    }
    // The largest float32 itself is fine.
    const max = JSON.stringify(rnnStateDict((sd) => ((sd["bias_ih_l0"] as number[])[0] = 3.4028234663852886e38)));
    expect(Array.from(importPytorch(kernel.meta, mapping, max)["b"]!).some((v) => v > 3e38)).toBe(true);
    // The cellc PyTorch module's state_dict, by spec name, with a flat {shape, data} tensor.
    const own = JSON.stringify({ W: { shape: [H, I], data: Array.from({ length: H * I }, (_, i) => (i === 5 ? 1e39 : 0.1)) }, U: new Array(H).fill(new Array(H).fill(0)), b: [0, 0, 0, 0] });
    refuses(() => importTorchStateDict(kernel.meta, own), /state_dict\["W"\]: element \[5\] is 1e\+39, beyond float32's range/);
    const keras = [new Array(I).fill(new Array(H).fill(0)), new Array(H).fill(new Array(H).fill(3.5e38)), new Array(H).fill(0)];
    refuses(() => importKeras(kernel.meta, mapping, JSON.stringify(keras)), /Keras weight 1 \(recurrent_kernel\): element \[0\]\[0\] is 3\.5e\+38/);
  });

  it("JSON nested 10,000 deep is an InteropError naming the tensor, not a stack overflow", async () => {
    const { kernel, mapping } = await exampleKernel("rnn", { I, H });
    const sd = JSON.stringify(rnnStateDict()).replace(/"bias_hh_l0":\[[^\]]*\]/, `"bias_hh_l0":${deep(10_000)}`);
    refuses(() => importPytorch(kernel.meta, mapping, sd), /state_dict\["bias_hh_l0"\]: arrays nested more than 32 deep/);
    refuses(() => importTorchStateDict(kernel.meta, `{"W": ${deep(10_000)}}`), /state_dict\["W"\]: arrays nested more than 32 deep/);
    refuses(() => importTorchStateDict(kernel.meta, `{"W": ${JSON.stringify(new Array(H).fill([1, 2, 3]))}, "U": {"shape": [4, 4], "data": ${deep(10_000)}}, "b": [1, 2, 3, 4]}`), /state_dict\["U"\]: arrays nested more than 32 deep/);
    refuses(() => importKeras(kernel.meta, mapping, `[${deep(10_000)}, [], []]`), /Keras weight 0 \(kernel\): arrays nested more than 32 deep/);
  });
});

describe("ONNX weights refuse NaN, Infinity and doubles beyond float32", () => {
  function rnnModel(edit: (w: Float32Array) => void): Uint8Array {
    const next = rng(5);
    const t = (shape: number[]): ForeignTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), next) });
    const W = t([1, H, I]);
    edit(W.data);
    return buildRnnModel([{ op: "RNN", hiddenSize: H, weights: { W, R: t([1, H, H]), B: t([1, 2 * H]) } }], { inputSize: I });
  }

  it("NaN and ±Infinity in raw float data", async () => {
    const { kernel, mapping } = await exampleKernel("rnn", { I, H });
    expect(() => importOnnx(kernel.meta, mapping, rnnModel(() => undefined))).not.toThrow();
    refuses(() => importOnnx(kernel.meta, mapping, rnnModel((w) => (w[7] = Number.NaN))), /l0_RNN input W \("l0_W"\): value 7 is NaN/);
    refuses(() => importOnnx(kernel.meta, mapping, rnnModel((w) => (w[0] = Number.NEGATIVE_INFINITY))), /l0_RNN input W \("l0_W"\): value 0 is -Infinity/);
  });

  it("doubles beyond float32's range, raw or listed", async () => {
    const { kernel, mapping } = await exampleKernel("rnn", { I, H });
    for (const raw of [true, false]) {
      const model = onnx.ModelProto.toObject(onnx.ModelProto.decode(rnnModel(() => undefined))) as IModelProto;
      const values = Array.from({ length: H * I }, (_, i) => (i === 4 ? 1e39 : 0.25));
      const w = model.graph!.initializer!.find((t) => t.name === "l0_W")!;
      w.dataType = DataType.DOUBLE;
      if (raw) {
        const bytes = new Uint8Array(values.length * 8);
        values.forEach((v, i) => new DataView(bytes.buffer).setFloat64(i * 8, v, true));
        w.rawData = bytes;
      } else {
        w.rawData = new Uint8Array(0);
        w.doubleData = values;
      }
      refuses(() => importOnnx(kernel.meta, mapping, encodeModel(model)), /l0_RNN input W \("l0_W"\): value 4 is 1e\+39, beyond float32's range/);
    }
  });
});

/** A cellc weights header for the rnn spec (I=3, H=4) whose W has `shape` (JSON text). */
const header = (shape: string) =>
  `{"format":"cellc-weights","version":1,"dtype":"float32","endianness":"little","data":"w.bin","byteLength":4,"checksum":"00000000",` +
  `"weights":[{"name":"W","shape":${shape},"offset":0,"length":1},{"name":"U","shape":[4,4],"offset":0,"length":16},{"name":"b","shape":[4],"offset":0,"length":4}]}`;
const BAD_SHAPES = [["deep", deep(10_000)], ["huge", "[1e39]"], ["wide", "[3.5e38, 3]"]] as const;

describe("loadTorchWeights on a checkpoint header with deeply nested or huge shapes", () => {
  it("is an InteropError naming the weight, not a RangeError", async () => {
    const { kernel } = await exampleKernel("rnn", { I, H });
    for (const [name, shape] of BAD_SHAPES) {
      const file = join(work, `torch-${name}.json`);
      writeFileSync(file, header(shape));
      const load = loadTorchWeights(kernel.meta, file);
      await expect(load).rejects.toThrow(InteropError);
      await expect(load).rejects.toThrow(`${file}: weight #0 ('W') has a shape that is not a list of sizes (non-negative integers)`);
    }
  });
});

describe("cellc export --weights on a checkpoint header with deeply nested or huge shapes", () => {
  function cellc(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [join(ROOT, "cli/bin/cellc.mjs"), ...args], { cwd: work }, (error, _stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stderr });
      });
    });
  }

  it("is one clear line and exit 1, never a stack trace", async () => {
    writeFileSync(join(work, "w.bin"), new Uint8Array(4));
    // The runs are independent (each mostly waits on its start-up): a few at once.
    const runs = await Promise.all(
      BAD_SHAPES.map(([name, shape]) => {
        writeFileSync(join(work, `${name}.json`), header(shape));
        return cellc(["export", join(ROOT, "examples/specs/rnn.cell"), "--dims", "I=3,H=4", "-o", join(work, `${name}.onnx`), "--weights", `${name}.json`]);
      }),
    );
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(`cellc export: checkpoint ${BAD_SHAPES[i]![0]}.json: weight #0 ('W') has a shape that is not a list of sizes (non-negative integers)\n`);
    });
  });
});
