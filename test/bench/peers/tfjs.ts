// TensorFlow.js peers: the same model on the cpu backend (plain JavaScript kernels) and on the
// wasm backend (XNNPACK with SIMD). The model is what a TypeScript user writes today:
//   tf.sequential([tf.layers.lstm|gru({ units: H, recurrentActivation: "sigmoid", inputShape: [T, I] }),
//                  tf.layers.dense({ units: 1 })]), compiled with Adam and MSE.
// Forward is model.predict on the whole batch (batchSize: B, or predict would split it into
// chunks of 32) with the result read back; a training step is model.trainOnBatch (forward,
// backward, Adam update, loss read back).

import { createRequire } from "node:module";
import path from "node:path";
import type { IdleJob, Job } from "../config.ts";
import type { PeerRunner } from "./runner.ts";

type Tf = typeof import("@tensorflow/tfjs");

async function loadTf(backend: "cpu" | "wasm"): Promise<{ tf: Tf; notes: string }> {
  // tfjs greets Node users on the console when it loads; keep the child's output clean.
  const log = console.log, warn = console.warn;
  console.log = console.warn = () => {};
  let tf: Tf;
  try {
    tf = await import("@tensorflow/tfjs");
  } finally {
    console.log = log;
    console.warn = warn;
  }
  const version = tf.version.tfjs;
  if (backend === "cpu") {
    if (!(await tf.setBackend("cpu"))) throw new Error("tfjs: could not select the cpu backend");
    return { tf, notes: `tfjs ${version}, cpu backend` };
  }
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const require = createRequire(import.meta.url);
  const dist = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep;
  wasm.setWasmPaths(dist);
  if (!(await tf.setBackend("wasm"))) throw new Error(`tfjs: could not start the wasm backend from ${dist}`);
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  return {
    tf,
    notes: `tfjs ${version}, wasm backend: SIMD ${simd ? "on" : "off"}, multithreading ${threads ? "on" : "off"}, ${wasm.getThreadsCount()} thread(s)`,
  };
}

export async function tfjsPeer(job: Job | IdleJob, backend: "cpu" | "wasm", loaded: () => void): Promise<PeerRunner> {
  const { tf, notes } = await loadTf(backend);
  loaded();
  if (job.kind === "idle") return { notes, run: () => {} };
  const { B, T, I, H } = job.size;
  const rnnArgs = { units: H, recurrentActivation: "sigmoid" as const, inputShape: [T, I] };
  const model = tf.sequential({
    layers: [job.cell.tfjsLayer === "lstm" ? tf.layers.lstm(rnnArgs) : tf.layers.gru(rnnArgs), tf.layers.dense({ units: 1 })],
  });
  model.compile({ optimizer: tf.train.adam(0.001), loss: "meanSquaredError" });
  const x = tf.randomNormal([B, T, I], 0, 1, "float32", 1);
  const y = tf.randomNormal([B, 1], 0, 1, "float32", 2);

  if (job.mode === "forward") {
    return {
      notes,
      async run() {
        const out = model.predict(x, { batchSize: B }) as import("@tensorflow/tfjs").Tensor;
        await out.data();
        out.dispose();
      },
      check: () => leakCheck(tf),
    };
  }
  return {
    notes: `${notes}; train step = model.trainOnBatch`,
    async run() {
      await model.trainOnBatch(x, y);
    },
    check: () => leakCheck(tf),
  };
}

let tensorsAtFirstCheck = -1;
/** Fails the measurement if tensors pile up between runs (a leak would distort time and memory). */
function leakCheck(tf: Tf): string | undefined {
  const n = tf.memory().numTensors;
  if (tensorsAtFirstCheck < 0) tensorsAtFirstCheck = n;
  return n > tensorsAtFirstCheck ? `tfjs tensor count grew from ${tensorsAtFirstCheck} to ${n}` : undefined;
}
