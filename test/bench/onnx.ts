// ONNX export speed: a custom cell (default cifg) run forward by the cellc TypeScript kernel and by
// its ONNX export in onnxruntime-node (one intra-op thread, and onnxruntime's default), at the
// benchmark sizes S2 and S3. Same parameters and inputs; medians of timed runs after warm-up; the
// machine's load average is printed with the figures (the 2 cores are shared).
//
//   node --import tsx test/bench/onnx.ts [--cell cifg] [--runs 15] [--sizes S2,S3] [--lengths]

import os from "node:os";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { exportCellOnnx } from "../../backends/onnx/index.ts";
import { loadCellFile, specPath } from "../../jit/index.ts";
import { readFileSync } from "node:fs";
import { SIZES } from "./config.ts";

const { values } = parseArgs({
  options: { cell: { type: "string", default: "cifg" }, runs: { type: "string", default: "15" }, sizes: { type: "string", default: "S2,S3" }, lengths: { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

async function timeIt(fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

console.log(`ONNX export vs cellc TypeScript kernel, forward — cell ${values.cell}, ${runs} runs, medians; ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}, onnxruntime-node ${(ort.env as { versions?: { common?: string } }).versions?.common ?? ""}`);
console.log("| size | B | T | I | H | cellc TS (ms) | onnxruntime 1 thread (ms) | onnxruntime default threads (ms) | load average before / after |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const name of values.sizes.split(",")) {
  const s = SIZES.find((z) => z.name === name);
  if (!s) throw new Error(`unknown size ${name}`);
  const before = load();
  const dims = { I: s.I, H: s.H };
  const file = specPath(values.cell);
  const kernel = await loadCellFile(file, { dims });
  const params = kernel.createParams();
  let seed = 1;
  const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 0.2 - 0.1;
  for (const v of Object.values(params)) for (let i = 0; i < v.length; i++) v[i] = next();
  const x = Float32Array.from({ length: s.T * s.B * s.I }, next);
  const lengths = Array.from({ length: s.B }, (_, b) => s.T - (b % 5));
  const inputs = { [kernel.meta.inputs[0]!.name]: x };
  let tape: ReturnType<typeof kernel.forward>["tape"] | undefined;
  const tsMs = await timeIt(() => {
    const r = kernel.forward(params, inputs, { batchSize: s.B, timeSteps: s.T, ...(values.lengths ? { lengths } : {}), ...(tape ? { tape } : {}) });
    tape = r.tape;
  });
  const bytes = exportCellOnnx(readFileSync(file, "utf8"), { file, dims, params, lengths: values.lengths }).bytes!;
  const feeds: Record<string, ort.Tensor> = { [kernel.meta.inputs[0]!.name]: new ort.Tensor("float32", x, [s.T, s.B, s.I]) };
  if (values.lengths) feeds["lengths"] = new ort.Tensor("int32", Int32Array.from(lengths), [s.B]);
  const ortMs: number[] = [];
  for (const threads of [1, 0]) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 });
    ortMs.push(await timeIt(() => session.run(feeds)));
    await session.release();
  }
  console.log(`| ${s.name} | ${s.B} | ${s.T} | ${s.I} | ${s.H} | ${tsMs.toFixed(2)} | ${ortMs[0]!.toFixed(2)} | ${ortMs[1]!.toFixed(2)} | ${before} / ${load()} |`);
}
