// `npm run bench:webgpu`: cellc's WebGPU kernels against TensorFlow.js's WebGPU backend, LSTM and
// GRU at the benchmark sizes, forward and training, on the same page of headless Chromium (the
// WebGPU flags of test/helpers/webgpu-page.ts: the machine's GPU where Chromium finds one, else
// SwiftShader's software Vulkan, whose figures are a smoke test only — the table says which
// adapter ran). Medians of timed runs after one warm-up run, wall time inside the page.
// cellc runs once per path its loop stages can take (useDispatch): a dispatch per op per step, a
// fused dispatch per step, the persistent kernel (one dispatch looping over T); the table says
// which one the size rule picks ("auto").
//   forward: cellc kernel.forward over [T, B, I] with the results read back; tfjs model.predict
//            (batchSize B) of an LSTM/GRU layer (recurrentActivation sigmoid) with a dense head,
//            read back.
//   train:   cellc forward + backward (every gradient read back; no optimizer step); tfjs
//            model.trainOnBatch (forward, backward, Adam update, loss read back).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatFlags, type FlagDefs } from "../../cli/flags.ts";
import { compile } from "../../driver/index.ts";
import { openGpuPage } from "../helpers/webgpu-page.ts";
import { CELLS, SIZES } from "./config.ts";
import { scriptFlags } from "./script.ts";

const FLAGS: FlagDefs = {
  sizes: { type: "string", arg: "LIST", help: `from ${SIZES.map((s) => s.name).join(",")} (default all)` },
  cells: { type: "string", arg: "LIST", help: "from lstm,gru (default both)" },
  modes: { type: "string", arg: "LIST", help: "forward,train (default both)" },
  paths: { type: "string", arg: "LIST", help: "cellc's loop paths, from per-op,fused-step,persistent (default all)" },
  "no-tfjs": { type: "boolean", help: "time cellc's paths only (tfjs-webgpu takes minutes per row on a software adapter)" },
  runs: { type: "string", arg: "N", help: "timed runs per measurement, after one warm-up (default 5)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};
const USAGE = `Usage: npm run bench:webgpu -- [flags]

Times cellc's WebGPU kernels and tfjs-webgpu's LSTM/GRU layers on one page of headless Chromium.

${formatFlags(FLAGS)}
`;
const { values: flags, usage } = scriptFlags(FLAGS, USAGE);
const list = (name: string, all: string[], fallback = all): string[] => {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  return String(v).split(",").map((x) => {
    const t = x.trim();
    if (!all.includes(t)) usage(`unknown ${name} entry "${t}" (choose from ${all.join(", ")})`);
    return t;
  });
};
const sizes = list("sizes", SIZES.map((s) => s.name)).map((n) => SIZES.find((s) => s.name === n)!);
const cells = list("cells", ["lstm", "gru"]).map((n) => CELLS.find((c) => c.name === n)!);
const modes = list("modes", ["forward", "train"]);
const PATHS = ["per-op", "fused-step", "persistent"];
const paths = list("paths", PATHS);
const runs = Number(flags.get("runs") ?? 5);
if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a whole number ≥ 1, got ${String(flags.get("runs"))}`);

const page = await openGpuPage();
if (page.missing !== undefined) {
  process.stderr.write(`bench:webgpu cannot run here: ${page.missing}\n`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "cellc-bench-webgpu-"));
mkdirSync(dir, { recursive: true });
const jobs: { cell: string; size: string; B: number; T: number; I: number; H: number; module: string; layer: string }[] = [];
for (const c of cells) {
  for (const s of sizes) {
    const module = `k_${c.name}_${s.name}`;
    const r = await compile(readFileSync(c.spec, "utf8"), { file: c.spec, dims: { I: s.I, H: s.H }, target: "webgpu", format: false });
    writeFileSync(join(dir, `${module}.ts`), r.module!.code);
    jobs.push({ cell: c.name, size: s.name, B: s.B, T: s.T, I: s.I, H: s.H, module, layer: c.tfjsLayer });
  }
}
writeFileSync(
  join(dir, "main.ts"),
  `import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
${jobs.map((j) => `import * as ${j.module} from "./${j.module}.ts";`).join("\n")}
const kernels: Record<string, any> = { ${jobs.map((j) => j.module).join(", ")} };
const jobs = ${JSON.stringify(jobs)};
const modes: string[] = ${JSON.stringify(modes)};
const paths: string[] = ${JSON.stringify(paths)};
const TFJS = ${flags.get("no-tfjs") !== true};
const RUNS = ${runs};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
async function time(run: () => Promise<void>): Promise<number> {
  await run();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) { const t0 = performance.now(); await run(); t.push(performance.now() - t0); }
  return median(t);
}
(async () => {
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs could not start its webgpu backend");
  await tf.ready();
  const adapter = await (navigator as any).gpu.requestAdapter();
  const rows: unknown[] = [];
  for (const j of jobs) {
    const k = kernels[j.module];
    const params = k.createParams({ seed: 1 });
    const x = new Float32Array(j.T * j.B * j.I).map((_, i) => Math.sin(i * 0.37));
    const dOut = new Float32Array(j.T * j.B * j.H);
    for (let b = 0; b < j.B * j.H; b++) dOut[(j.T - 1) * j.B * j.H + b] = 1;
    const args = { units: j.H, recurrentActivation: "sigmoid" as const, inputShape: [j.T, j.I] };
    const model = tf.sequential({ layers: [j.layer === "lstm" ? tf.layers.lstm(args) : tf.layers.gru(args), tf.layers.dense({ units: 1 })] });
    model.compile({ optimizer: tf.train.adam(0.001), loss: "meanSquaredError" });
    const tx = tf.randomNormal([j.B, j.T, j.I], 0, 1, "float32", 1);
    const ty = tf.randomNormal([j.B, 1], 0, 1, "float32", 2);
    for (const mode of modes) {
      const cellc: Record<string, number> = {};
      for (const path of paths) {
        k.useDispatch(path);
        cellc[path] = mode === "forward"
          ? await time(async () => { await k.forward(params, { x }, { batchSize: j.B }); })
          : await time(async () => { const fr = await k.forward(params, { x }, { batchSize: j.B }); await k.backward(params, fr.tape, { h: dOut }); });
        console.log(\`\${j.cell} \${j.size} \${mode} \${path}: cellc \${cellc[path].toFixed(1)} ms (\${JSON.stringify(k.dispatchPaths())})\`);
      }
      k.useDispatch("auto");
      await k.forward(params, { x }, { batchSize: j.B });
      const auto = k.dispatchPaths().forward.join("+");
      const tfjs = !TFJS ? NaN : mode === "forward"
        ? await time(async () => { const o = model.predict(tx, { batchSize: j.B }) as any; await o.data(); o.dispose(); })
        : await time(async () => { await model.trainOnBatch(tx, ty); });
      rows.push({ cell: j.cell, size: j.size, mode, cellc, auto, tfjs });
      if (TFJS) console.log(\`\${j.cell} \${j.size} \${mode}: tfjs \${tfjs.toFixed(1)} ms\`);
    }
    tx.dispose(); ty.dispose(); model.dispose();
  }
  const info = adapter.info ?? {};
  (globalThis as any).cellcDone(JSON.stringify({ adapter: (info.vendor ?? "?") + " " + (info.architecture ?? "?"), tfjs: tf.version.tfjs, rows }));
})().catch((e) => (globalThis as any).cellcDone(JSON.stringify({ error: String(e?.stack ?? e) })));
`,
);
try {
  const r = (await page.run(dir, "main.ts", (t) => process.stderr.write(`page: ${t}\n`))) as { error?: string; adapter: string; tfjs: string; rows: { cell: string; size: string; mode: string; cellc: Record<string, number>; auto: string; tfjs: number | null }[] };
  if (r.error) throw new Error(r.error);
  const soft = /swiftshader/i.test(r.adapter);
  console.log(`adapter: ${r.adapter}${soft ? " (SwiftShader is a software adapter: the CPU runs the shaders, so these figures are a smoke test, not a measure of GPU speed)" : ""}; tfjs ${r.tfjs} webgpu backend; median of ${runs} runs after a warm-up, ms`);
  console.log(`| cell | size | mode | ${paths.map((p) => `cellc ${p}`).join(" | ")} | auto picks | tfjs-webgpu | tfjs / best cellc |`);
  console.log(`|---|---|---|${paths.map(() => "---:|").join("")}---|---:|---:|`);
  for (const x of r.rows) {
    const best = Math.min(...paths.map((p) => x.cellc[p]!));
    const tfjs = x.tfjs === null ? "not run" : x.tfjs.toFixed(1);
    console.log(`| ${x.cell} | ${x.size} | ${x.mode} | ${paths.map((p) => x.cellc[p]!.toFixed(1)).join(" | ")} | ${x.auto} | ${tfjs} | ${x.tfjs === null ? "" : (x.tfjs / best).toFixed(2)} |`);
  }
} finally {
  await page.close();
  rmSync(dir, { recursive: true, force: true });
}
