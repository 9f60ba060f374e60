// The hand-written TypeScript LSTM as a benchmark peer (see ../handwritten-lstm.ts).

import type { IdleJob, Job } from "../config.ts";
import { HandwrittenLstmTrainer, float32, lcg } from "../handwritten-lstm.ts";
import type { PeerRunner } from "./runner.ts";

export function handwrittenPeer(job: Job | IdleJob, loaded: () => void): PeerRunner {
  loaded();
  if (job.kind === "idle") return { run: () => {} };
  if (job.cell.name !== "lstm") throw new Error(`the hand-written peer implements an LSTM only, not ${job.cell.name}`);
  const { B, T, I, H } = job.size;
  const trainer = new HandwrittenLstmTrainer(I, H, B, float32);
  const rand = lcg(3);
  const x = new Float32Array(T * B * I).map(() => 2 * rand() - 1);
  const target = Array.from({ length: B }, () => 2 * rand() - 1);
  if (job.mode === "forward") {
    return { notes: "input GEMM hoisted, 4x4 register-blocked GEMM", run: () => void trainer.lstm.forward(x, B) };
  }
  return { notes: "forward + backward + Adam", run: () => void trainer.trainStep(x, target) };
}
