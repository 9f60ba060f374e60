// A study worker process: takes one job at a time from the parent over IPC, runs it (run.ts), and
// sends its progress and its result back. It exits when the parent disconnects.

import { runJob, type Job } from "./run.ts";

export type ToWorker = { type: "job"; job: Job };
export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; id: number; seen: number }
  | { type: "done"; result: import("./run.ts").RunResult };

function send(m: FromWorker): void {
  process.send!(m);
}

process.on("message", (m: ToWorker) => {
  if (m?.type !== "job") return;
  void runJob(m.job, (seen) => send({ type: "progress", id: m.job.id, seen })).then((result) => send({ type: "done", result }));
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
