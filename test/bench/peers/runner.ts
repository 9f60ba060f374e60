// The one shape every peer takes inside a measurement child: build the model and data once,
// then `run` performs one forward pass or one training step. Dispatch by peer name lives here so
// the child process imports only the peer it measures (memory is measured per process).

import type { IdleJob, Job } from "../config.ts";

export interface PeerRunner {
  /** One forward pass or one full training step, results read back. */
  run(): void | Promise<void>;
  /** Facts about the peer worth printing (backend, threads, which API). */
  notes?: string;
  /** Called after the timed runs: a message when something is wrong (e.g. a leak). */
  check?(): string | undefined;
}

/** `loaded` is called once the peer's code (library, backend, kernel module) is loaded and before
 *  it builds its model and data: the point from which the child counts memory. */
export async function makePeer(job: Job | IdleJob, loaded: () => void = () => {}): Promise<PeerRunner> {
  switch (job.peer) {
    case "tfjs-cpu":
      return (await import("./tfjs.ts")).tfjsPeer(job, "cpu", loaded);
    case "tfjs-wasm":
      return (await import("./tfjs.ts")).tfjsPeer(job, "wasm", loaded);
    case "handwritten":
      return (await import("./handwritten.ts")).handwrittenPeer(job, loaded);
    case "cellc":
    case "cellc-wasm":
    case "cellc-wasm-fma":
    case "cellc-noopt":
      return (await import("./cellc.ts")).cellcPeer(job, loaded);
    case "cellc-wasm-2t":
      return (await import("./cellc.ts")).cellcPeer(job, loaded, 2);
    case "ort-web":
      return (await import("./onnx.ts")).onnxPeer(job, "web", 1, loaded);
    case "ort-web-2t":
      return (await import("./onnx.ts")).onnxPeer(job, "web", 2, loaded);
    case "ort-node":
      return (await import("./onnx.ts")).onnxPeer(job, "node", 1, loaded);
    case "ort-node-2t":
      return (await import("./onnx.ts")).onnxPeer(job, "node", 2, loaded);
  }
}
