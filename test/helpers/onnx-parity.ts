// One cell or stack run twice, by its TypeScript kernel and by its ONNX export in onnxruntime-node,
// on the same seeded parameters, inputs, lengths and initial states: the differences of every
// output and final state. The spec tests and the random-cell sample use it; a fuzzer can too
// (onnxParity(source, { dims }) for any generated spec).

import * as ort from "onnxruntime-node";
import type { CellKernel, Tensors } from "../../abi/kernel.ts";
import { exportCellOnnx, onnxNames } from "../../backends/onnx/index.ts";
import { CompileError, loadCell } from "../../driver/index.ts";
import { diff, randomArray, randomParams, rng, type Diff } from "../interop-helpers.ts";

export interface ParityOptions {
  dims: Record<string, number>;
  file?: string;
  seed?: number;
  /** The cell or stack to build (default: the last one the source declares). */
  cell?: string;
  T?: number;
  B?: number;
  /** Per-sample lengths (B entries), or none: every sample runs T steps and the model has no lengths input. */
  lengths?: number[];
  /** Random initial states fed to both (else zeros and no initial_* inputs). */
  initialStates?: boolean;
  /** Build the kernels without the optimizing passes (everything in the loop). */
  optimize?: boolean;
}

export interface ParityResult {
  kernel: CellKernel;
  /** Label ("output_h", "final_c") -> difference of onnxruntime's values from the kernel's. */
  diffs: Map<string, Diff>;
}

const sessionOptions: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };

export async function onnxParity(source: string, o: ParityOptions): Promise<ParityResult> {
  const T = o.T ?? 6;
  const B = o.B ?? 3;
  const seed = o.seed ?? 1;
  const opts = { dims: o.dims, ...(o.file ? { file: o.file } : {}), ...(o.cell ? { cell: o.cell } : {}), ...(o.optimize === false ? { optimize: false } : {}) };
  const kernel = await loadCell(source, opts);
  const meta = kernel.meta;
  const params = randomParams(kernel, seed);
  const next = rng(seed + 1000);
  const inputs: Tensors = {};
  for (const v of meta.inputs) inputs[v.name] = randomArray(T * B * v.size, next);
  const initialState: Tensors = {};
  if (o.initialStates) for (const s of meta.states) initialState[s.name] = randomArray(B * s.size, next);
  const ref = kernel.forward(params, inputs, {
    batchSize: B,
    timeSteps: T,
    ...(o.lengths ? { lengths: o.lengths } : {}),
    ...(o.initialStates ? { initialState } : {}),
  });

  const r = exportCellOnnx(source, { ...opts, params, lengths: o.lengths !== undefined, initialStates: o.initialStates ?? false });
  if (!r.bytes) throw new CompileError(r.diagnostics, r.sources);
  const names = onnxNames(meta);
  const feeds: Record<string, ort.Tensor> = {};
  if (meta.inputs.length === 0) {
    feeds["time_steps"] = new ort.Tensor("int64", BigInt64Array.from([BigInt(T)]), [1]);
    feeds["batch_size"] = new ort.Tensor("int64", BigInt64Array.from([BigInt(B)]), [1]);
  }
  meta.inputs.forEach((v, i) => (feeds[names.inputs[i]!] = new ort.Tensor("float32", inputs[v.name]!, [T, B, v.size])));
  if (o.lengths) feeds[names.lengths] = new ort.Tensor("int32", Int32Array.from(o.lengths), [B]);
  if (o.initialStates) meta.states.forEach((s, i) => (feeds[names.initial[i]!] = new ort.Tensor("float32", initialState[s.name]!, [B, s.size])));
  const session = await ort.InferenceSession.create(r.bytes, sessionOptions);
  const out = await session.run(feeds);
  await session.release();

  const diffs = new Map<string, Diff>();
  const check = (label: string, got: ort.Tensor | undefined, want: Float32Array, dims: number[]) => {
    if (!got) throw new Error(`onnxruntime returned no ${label}`);
    if (got.dims.join() !== dims.join()) throw new Error(`${label} has shape [${got.dims.join(", ")}], expected [${dims.join(", ")}]`);
    diffs.set(label, diff(got.data as Float32Array, want));
  };
  meta.outputs.forEach((v, i) => check(names.outputs[i]!, out[names.outputs[i]!], ref.outputs[v.name]!, [T, B, v.size]));
  meta.states.forEach((s, i) => check(names.finals[i]!, out[names.finals[i]!], ref.finalState[s.name]!, [B, s.size]));
  return { kernel, diffs };
}

/** The largest relative difference of a result, with its label. */
export function worst(r: ParityResult): { label: string; diff: Diff } {
  let best: { label: string; diff: Diff } = { label: "", diff: { abs: 0, rel: 0 } };
  for (const [label, d] of r.diffs) if (d.rel >= best.diff.rel) best = { label, diff: d };
  return best;
}
