// ONNX models as ONNX's own test suites write them, run in onnxruntime-node and imported into
// cellc kernels: one LSTM / GRU node whose weights are graph inputs (values passed to importOnnx
// through { inputs }, or the inputs' initializer defaults), time-major and batch-major (layout 1),
// with sequence_lens and initial states fed to both sides. onnxruntime's CPU LSTM and GRU refuse
// layout 1 ("Batchwise recurrent operations are not supported"), so a batch-major node is checked
// against onnxruntime running its time-major twin (the same weights, which is the point: they
// import unchanged). The kernel's outputs map to Y, Y_h, Y_c
// as the documentation says: Y [T, 1, B, H] (layout 1: [B, T, 1, H]) is the first output
// [T, B, H]; Y_h and Y_c [1, B, H] are the final states h and c; sequence_lens is `lengths`,
// initial_h / initial_c are `initialState`.

import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { importOnnx, InteropError, type ForeignTensor } from "../runtime/interop/index.ts";
import { attribute, DataType, encodeModel, floatTensor, onnx as onnxProto, valueInfo, type IModelProto } from "../formats/onnx/schema.ts";
import { diff, exampleKernel, maxAbs, randomArray, rng } from "./interop-helpers.ts";

const [T, B, I, H] = [7, 3, 4, 5];
const LENGTHS = [7, 3, 5];
const TOL = 1e-5;

type Op = "LSTM" | "GRU";
const GATES: Record<Op, number> = { LSTM: 4, GRU: 3 };

interface NodeModel {
  op: Op;
  layout: 0 | 1;
  /** Weights (ONNX layout) that are graph inputs; with `defaults` they also get initializers. */
  weights: Record<"W" | "R" | "B", ForeignTensor>;
  defaults?: boolean;
}

/** One ONNX `op` node with every input a graph input: X, W, R, B, sequence_lens, initial_h (, initial_c). */
function nodeModel(m: NodeModel): Uint8Array {
  const lstm = m.op === "LSTM";
  const seq = (n: number) => (m.layout === 0 ? ["T", "B", n] : ["B", "T", n]);
  const state = m.layout === 0 ? [1, "B", H] : ["B", 1, H];
  const states = lstm ? ["initial_h", "initial_c"] : ["initial_h"];
  const model: IModelProto = {
    irVersion: 8,
    producerName: "test",
    opsetImport: [{ domain: "", version: 14 }],
    graph: {
      name: "one_node",
      node: [
        {
          opType: m.op,
          name: `${m.op}_0`,
          input: ["X", "W", "R", "B", "sequence_lens", ...states],
          output: ["Y", "Y_h", ...(lstm ? ["Y_c"] : [])],
          attribute: [attribute("hidden_size", H), attribute("layout", m.layout)],
        },
      ],
      input: [
        valueInfo("X", seq(I)),
        ...(["W", "R", "B"] as const).map((k) => valueInfo(k, m.weights[k].shape)),
        valueInfo("sequence_lens", ["B"], DataType.INT32),
        ...states.map((s) => valueInfo(s, state)),
      ],
      initializer: m.defaults ? (["W", "R", "B"] as const).map((k) => floatTensor(k, m.weights[k].shape, m.weights[k].data)) : [],
      output: [
        valueInfo("Y", m.layout === 0 ? ["T", 1, "B", H] : ["B", "T", 1, H]),
        valueInfo("Y_h", state),
        ...(lstm ? [valueInfo("Y_c", state)] : []),
      ],
    },
  };
  return encodeModel(model);
}

function onnxWeights(op: Op, seed: number): Record<"W" | "R" | "B", ForeignTensor> {
  const next = rng(seed);
  const g = GATES[op];
  const t = (shape: number[]): ForeignTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), next, 0.5) });
  return { W: t([1, g * H, I]), R: t([1, g * H, H]), B: t([1, 2 * g * H]) };
}

interface Run {
  y: Float32Array;
  finals: Tensors;
}

/** A time-major model in onnxruntime on x [T, B, I] and [B, H] initial states. */
async function runOrt(bytes: Uint8Array, x: Float32Array, init: Tensors, feedWeights?: Record<string, ForeignTensor>): Promise<Run> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const f32 = (d: Float32Array, dims: readonly number[]) => new ort.Tensor("float32", d, dims);
  const feeds: Record<string, ort.Tensor> = {
    X: f32(x, [T, B, I]),
    sequence_lens: new ort.Tensor("int32", Int32Array.from(LENGTHS), [B]),
  };
  for (const [s, v] of Object.entries(init)) feeds[`initial_${s}`] = f32(v, [1, B, H]);
  for (const [k, w] of Object.entries(feedWeights ?? {})) feeds[k] = f32(w.data, w.shape);
  const out = await session.run(feeds);
  await session.release();
  // Y [T, 1, B, H] is [T, B, H]; Y_h, Y_c [1, B, H] are [B, H].
  const finals: Tensors = { h: out["Y_h"]!.data as Float32Array };
  if (out["Y_c"]) finals["c"] = out["Y_c"]!.data as Float32Array;
  return { y: out["Y"]!.data as Float32Array, finals };
}

function runKernel(kernel: CellKernel, params: Tensors, x: Float32Array, init: Tensors): Run {
  const r = kernel.forward(params, { [kernel.meta.inputs[0]!.name]: x }, { batchSize: B, lengths: LENGTHS, initialState: init });
  return { y: r.outputs[kernel.meta.outputs[0]!.name]!, finals: r.finalState };
}

function expectSame(got: Run, want: Run): void {
  expect(maxAbs(want.y)).toBeGreaterThan(0.05);
  expect(diff(got.y, want.y).rel, "Y").toBeLessThan(TOL);
  for (const s of Object.keys(want.finals)) expect(diff(got.finals[s]!, want.finals[s]!).rel, `Y_${s}`).toBeLessThan(TOL);
}

describe("an ONNX node whose weights are graph inputs, with sequence_lens and initial states, equals the imported kernel", () => {
  const x = randomArray(T * B * I, rng(21));
  const cases: Array<{ op: Op; spec: string; layout: 0 | 1 }> = [
    { op: "LSTM", spec: "lstm", layout: 0 },
    { op: "LSTM", spec: "lstm", layout: 1 },
    { op: "GRU", spec: "gru_reset_after", layout: 0 },
    { op: "GRU", spec: "gru_reset_after", layout: 1 },
  ];
  for (const c of cases) {
    it(`${c.op} layout ${c.layout}, weights passed as importOnnx(..., { inputs })`, async () => {
      const { kernel, mapping } = await exampleKernel(c.spec, { I, H });
      const weights = onnxWeights(c.op, 3 + c.layout);
      const init: Tensors = Object.fromEntries(kernel.meta.states.map((s, i) => [s.name, randomArray(B * H, rng(40 + i))]));
      // The GRU node needs linear_before_reset = 1 for gru_reset_after.
      const model = (layout: 0 | 1) => {
        const m = nodeModel({ op: c.op, layout, weights });
        return c.op === "GRU" ? withAttribute(m, "linear_before_reset", 1) : m;
      };
      const bytes = model(c.layout);
      const want = await runOrt(model(0), x, init, weights);
      expect(() => importOnnx(kernel.meta, mapping, bytes)).toThrow(/input W \("W"\) is a graph input without a default: pass its value/);
      const params = importOnnx(kernel.meta, mapping, bytes, { inputs: weights });
      expectSame(runKernel(kernel, params, x, init), want);
    });
  }

  it("weights that are inputs with initializer defaults import from the defaults, or from { inputs } over them", async () => {
    const { kernel, mapping } = await exampleKernel("lstm", { I, H });
    const defaults = onnxWeights("LSTM", 8);
    const bytes = nodeModel({ op: "LSTM", layout: 0, weights: defaults, defaults: true });
    const init = { h: randomArray(B * H, rng(50)), c: randomArray(B * H, rng(51)) };
    // onnxruntime-node runs such a model on the defaults (it does not feed inputs that have one).
    const want = await runOrt(bytes, x, init);
    expectSame(runKernel(kernel, importOnnx(kernel.meta, mapping, bytes), x, init), want);
    // Values given for them replace the defaults: the result is that of a model holding those values.
    const other = onnxWeights("LSTM", 9);
    const wantOther = await runOrt(nodeModel({ op: "LSTM", layout: 0, weights: other, defaults: true }), x, init);
    expectSame(runKernel(kernel, importOnnx(kernel.meta, mapping, bytes, { inputs: { R: other.R, W: other.W, B: other.B } }), x, init), wantOther);
    expect(diff(wantOther.y, want.y).abs).toBeGreaterThan(1e-2);
  });

  it("refuses a value for a name that is no weight input, a wrong shape, and a layout ONNX does not define", async () => {
    const { kernel, mapping } = await exampleKernel("lstm", { I, H });
    const weights = onnxWeights("LSTM", 10);
    const bytes = nodeModel({ op: "LSTM", layout: 0, weights });
    const err = (f: () => unknown, text: RegExp) => {
      expect(f).toThrow(InteropError);
      expect(f).toThrow(text);
    };
    err(() => importOnnx(kernel.meta, mapping, bytes, { inputs: { ...weights, X: weights.W } }), /inputs\["X"\] is not a graph input holding a recurrent node's W, R, B or P/);
    err(() => importOnnx(kernel.meta, mapping, bytes, { inputs: { ...weights, Wx: weights.W } }), /inputs\["Wx"\]/);
    err(() => importOnnx(kernel.meta, mapping, bytes, { inputs: { ...weights, R: { shape: [1, 4 * H, H + 1], data: new Float32Array(4 * H * (H + 1)) } } }), /R/);
    err(() => importOnnx(kernel.meta, mapping, bytes, { inputs: { ...weights, B: { shape: [1, 8 * H], data: new Float32Array(8 * H).fill(Number.NaN) } } }), /inputs\["B"\]: value 0 is NaN/);
    err(() => importOnnx(kernel.meta, mapping, withAttribute(bytes, "layout", 2), { inputs: weights }), /layout is 2; ONNX defines 0 and 1/);
  });
});

/** The model with one more attribute on its node (replacing one of the same name). */
function withAttribute(bytes: Uint8Array, name: string, value: number): Uint8Array {
  const model = onnxModel(bytes);
  const node = model.graph!.node![0]!;
  node.attribute = [...(node.attribute ?? []).filter((a) => a.name !== name), attribute(name, value)];
  return encodeModel(model);
}

function onnxModel(bytes: Uint8Array): IModelProto {
  return onnxProto.ModelProto.toObject(onnxProto.ModelProto.decode(bytes)) as IModelProto;
}
