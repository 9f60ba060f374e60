// onnxruntime peers, forward only (their inference builds have no training): the cell as one ONNX
// LSTM or GRU node (linear_before_reset 0, as gru.cell) built by cellc's ONNX interop
// (runtime/interop), X [T, B, I] -> Y [T, B, H], random weights. "ort-web" is onnxruntime-web's
// wasm backend (SIMD; one thread, or two for "ort-web-2t"), "ort-node" is onnxruntime-node's
// native CPU provider (MLAS) on one intra-op thread: the same number of threads as cellc's kernel.

import type { IdleJob, Job } from "../config.ts";
import { buildRnnModel, type RnnLayerSpec } from "../../../runtime/interop/index.ts";
import { lcg } from "../handwritten-lstm.ts";
import type { PeerRunner } from "./runner.ts";

type Ort = typeof import("onnxruntime-node");

export async function onnxPeer(job: Job | IdleJob, which: "web" | "node", threads: number, loaded: () => void): Promise<PeerRunner> {
  const ort = (which === "web" ? await import("onnxruntime-web") : await import("onnxruntime-node")) as unknown as Ort;
  let notes: string;
  if (which === "web") {
    const env = (ort as unknown as { env: { wasm: { numThreads: number; simd?: boolean } } }).env;
    env.wasm.numThreads = threads;
    notes = `onnxruntime-web ${(ort as unknown as { env: { versions?: { web?: string } } }).env.versions?.web ?? ""}, wasm backend, SIMD, ${threads} thread(s)`;
  } else {
    notes = `onnxruntime-node ${(ort as unknown as { env: { versions?: { node?: string } } }).env.versions?.node ?? ""}, CPU provider (MLAS), ${threads} intra-op thread(s)`;
  }
  loaded();
  if (job.kind === "idle") return { notes, run: () => {} };
  if (job.mode !== "forward") throw new Error("onnxruntime peers measure forward only");
  const { B, T, I, H } = job.size;
  const g = job.cell.gates;
  const rand = lcg(5);
  const t = (shape: number[], scale: number) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (2 * rand() - 1) * scale) });
  const layer: RnnLayerSpec = {
    op: job.cell.tfjsLayer === "lstm" ? "LSTM" : "GRU",
    hiddenSize: H,
    weights: { W: t([1, g * H, I], 1 / Math.sqrt(I)), R: t([1, g * H, H], 1 / Math.sqrt(H)), B: t([1, 2 * g * H], 0.1) },
    ...(job.cell.tfjsLayer === "gru" ? { attributes: { linear_before_reset: 0 } } : {}),
  };
  const model = buildRnnModel([layer], { inputSize: I });
  const options = which === "web" ? { executionProviders: ["wasm"] } : { executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1 };
  const session = await ort.InferenceSession.create(model, options as never);
  const x = new ort.Tensor("float32", new Float32Array(T * B * I).map(() => 2 * rand() - 1), [T, B, I]);
  return {
    notes,
    async run() {
      const out = await session.run({ X: x });
      const y = out["Y"]!.data as Float32Array;
      if (y.length !== T * B * H) throw new Error(`onnxruntime returned ${y.length} values, expected ${T * B * H}`);
    },
  };
}
