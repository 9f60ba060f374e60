// `npm run bench:torch`: cellc's PyTorch module against PyTorch's own cells (nn.LSTM, nn.GRU) and
// against custom cells written by hand as TorchScript loops, forward and training step, at S1–S3,
// on 1 thread and on all. The modules are built here with compile({ target: "torch" }); one Python
// process (torch_bench.py) checks each reference against cellc's module in float64 and then times
// them in interleaved rounds; then cellc's WebAssembly kernel of the same cell and size is timed
// here in Node, for the same table. Prints the BLAS torch runs on (loudly when it is the reference
// BLAS), the machine's load, and one markdown table per thread count. Nothing here asserts speed.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import * as path from "node:path";
import type { CellKernel, Gradients, Tape, Tensors } from "../../abi/kernel.ts";
import { compile, formatDiagnostics, loadCell } from "../../driver/index.ts";
import { findTorch, scratchDir } from "../helpers/torch.ts";
import { repoRoot } from "./build.ts";
import type { Mode, Size } from "./config.ts";
import { parseTorchArgs, resolveThreads, TORCH_USAGE, UsageError, type TorchBenchOptions, type TorchCell } from "./torch-args.ts";
import { blasWarning, failures, summarize, torchTable, wasmKey, type TorchRun, type WasmTimes } from "./torch-report.ts";

/** Each timed sample repeats a call until it has lasted about this long. */
const MIN_SAMPLE_MS = 20;

function options(): TorchBenchOptions {
  try {
    const o = parseTorchArgs(process.argv.slice(2));
    if (o === "help") {
      process.stdout.write(TORCH_USAGE);
      process.exit(0);
    }
    return o;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`error: ${e.message}\n\n${TORCH_USAGE}`);
    process.exit(2);
  }
}

/** Writes cellc's PyTorch module of every cell at every size; exits 1 naming a spec that fails. */
async function buildModules(o: TorchBenchOptions, dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const cell of o.cells) {
    const file = path.join(repoRoot, cell.spec);
    const source = readFileSync(file, "utf8");
    for (const size of o.sizes) {
      const r = await compile(source, { file, dims: { I: size.I, H: size.H }, target: "torch" });
      if (!r.module) {
        process.stderr.write(`error: ${cell.spec} does not build for torch at I=${size.I}, H=${size.H}:\n${formatDiagnostics(r.diagnostics, r.sources)}\n`);
        process.exit(1);
      }
      const p = path.join(dir, `${cell.name}_${size.name}.py`);
      writeFileSync(p, r.module.code);
      out.set(`${cell.name}|${size.name}`, p);
    }
  }
  return out;
}

/** Runs torch_bench.py over the job, its progress on our stderr; the parsed result. */
function runPython(python: string, job: unknown, dir: string): Promise<TorchRun> {
  const jobFile = path.join(dir, "job.json");
  const resultFile = path.join(dir, "result.json");
  writeFileSync(jobFile, JSON.stringify(job));
  const script = path.join(repoRoot, "test/bench/torch_bench.py");
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, jobFile, resultFile], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (e) => reject(new Error(`cannot run ${python}: ${e.message}`)));
    child.on("exit", (code, signal) => {
      if (code !== 0) return reject(new Error(`${path.relative(repoRoot, script)} ended with ${signal ?? `exit status ${code}`} (its output is above)`));
      try {
        resolve(JSON.parse(readFileSync(resultFile, "utf8")) as TorchRun);
      } catch (e) {
        reject(new Error(`${path.relative(repoRoot, script)} left no readable result: ${(e as Error).message}`));
      }
    });
  });
}

/** cellc's WebAssembly kernel of the cell at the size: ms per forward and per forward + backward
 *  of sum(y·dy), interleaved rounds, at each thread count (its calls' `threads` option). */
async function timeWasm(cell: TorchCell, size: Size, modes: readonly Mode[], threads: readonly number[], rounds: number, into: WasmTimes, notes: string[]): Promise<void> {
  const file = path.join(repoRoot, cell.spec);
  const k: CellKernel = await loadCell(readFileSync(file, "utf8"), { file, dims: { I: size.I, H: size.H }, target: "wasm", format: false });
  const { T, B } = size;
  const params = k.createParams();
  for (const p of k.meta.params) params[p.name]!.forEach((_, i, a) => (a[i] = 0.1 * Math.sin(i * 0.37 + p.size)));
  const inputs: Tensors = Object.fromEntries(k.meta.inputs.map((v) => [v.name, new Float32Array(T * B * v.size).map((_, i) => Math.cos(i))]));
  const dOut: Tensors = Object.fromEntries(k.meta.outputs.map((v) => [v.name, new Float32Array(T * B * v.size).map((_, i) => Math.sin(0.7 * i))]));
  for (const n of threads) {
    if (n > 1 && k.meta.threads === undefined) {
      notes.push(`cellc wasm kernel: no worker threads on this platform; not timed on ${n} threads`);
      continue;
    }
    let tape: Tape | undefined;
    let grads: Gradients | undefined;
    const call = (mode: Mode) => () => {
      const f = k.forward(params, inputs, { batchSize: B, timeSteps: T, threads: n, ...(tape ? { tape } : {}) });
      tape = f.tape;
      if (mode === "train") grads = k.backward(params, f.tape, dOut, grads ? { into: grads } : {});
    };
    const calls = modes.map((m) => ({ m, f: call(m), reps: 1 }));
    for (const c of calls) {
      for (let i = 0; i < 2; i++) c.f();
      const t0 = performance.now();
      c.f();
      c.reps = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(performance.now() - t0, 1e-3)));
    }
    for (let r = 0; r < rounds; r++) {
      for (const c of r % 2 ? [...calls].reverse() : calls) {
        const t0 = performance.now();
        for (let q = 0; q < c.reps; q++) c.f();
        (into[wasmKey(cell.name, size.name, n, c.m)] ??= []).push((performance.now() - t0) / c.reps);
      }
    }
  }
}

async function main(): Promise<void> {
  const o = options();
  if (o.python !== undefined) process.env["CELLC_PYTHON"] = o.python;
  const torch = findTorch();
  if (typeof torch === "string") {
    process.stderr.write(`bench:torch cannot run: ${torch}\n`);
    process.exit(1);
  }
  const cores = availableParallelism();
  const threads = resolveThreads(o.threads, cores);
  const scratch = scratchDir("cellc-bench-torch-");
  try {
    const modules = await buildModules(o, scratch.dir);
    const load0 = loadavg()[0]!;
    console.log(`bench:torch ${new Date().toISOString()}: ${o.cells.map((c) => c.name).join(", ")} × ${o.sizes.map((s) => s.name).join(", ")}; ${o.rounds} interleaved rounds; threads ${threads.join(", ")} (${cores} cores available); load average ${load0.toFixed(2)}`);
    const cases = o.cells.flatMap((cell) => o.sizes.map((size) => ({ cell: cell.name, module: modules.get(`${cell.name}|${size.name}`)!, size, modes: o.modes, minMs: MIN_SAMPLE_MS })));
    const run = await runPython(torch.python, { threads, rounds: o.rounds, cases }, scratch.dir);
    console.log(`torch ${run.torch} (${torch.python}); BLAS: ${run.blas.kind} — ${run.blas.libraries.join(", ") || "no library loaded"} (${run.blas.buildInfo}; oneDNN ${run.blas.mkldnn ? "available" : "absent"}); torch's default threads: ${run.defaultThreads}`);
    const warning = blasWarning(run.blas);
    if (warning) console.log(`\n${"!".repeat(100)}\n${warning}\n${"!".repeat(100)}\n`);
    const wasm: WasmTimes = {};
    const notes: string[] = [];
    if (o.wasm) {
      for (const cell of o.cells) {
        for (const size of o.sizes) {
          try {
            await timeWasm(cell, size, o.modes, threads, o.rounds, wasm, notes);
          } catch (e) {
            notes.push(`cellc wasm kernel, ${cell.name} ${size.name}: not timed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
          }
        }
      }
    }
    const load1 = loadavg()[0]!;
    console.log(`load average at the end ${load1.toFixed(2)} on ${cores} cores${Math.max(load0, load1) > cores ? " — the machine was busy: figures are noisy" : ""}`);
    console.log(`\nTimes: median ms per call over ${o.rounds} rounds, ± half the interquartile range; forward under torch.no_grad(); train = forward + backward of sum(y·dy), fixed dy, into the parameters' .grad (the wasm kernel: forward + backward into reused arrays). Sizes: ${o.sizes.map((s) => `${s.name} T=${s.T} B=${s.B} I=${s.I} H=${s.H}`).join("; ")}.`);
    console.log("Reference check (float64, same weights and input; largest relative difference of outputs and final states / of parameter gradients):");
    for (const r of run.results) if (r.check) console.log(`  ${r.cell} ${r.size}: ${r.check.outputs.toExponential(1)} / ${r.check.gradients.toExponential(1)}`);
    for (const n of threads) {
      console.log(`\n### ${n} thread${n > 1 ? "s" : ""}\n`);
      console.log(torchTable(run, wasm, n, o.cells, o.modes));
    }
    if (notes.length) console.log(`\n${[...new Set(notes)].map((n) => `- ${n}`).join("\n")}`);
    if (o.json) {
      writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), load: [load0, load1], cores, python: torch.python, ...run, wasm, summary: Object.fromEntries(Object.entries(wasm).map(([k, v]) => [k, summarize(v)])) }, null, 1));
      console.log(`\nevery round written to ${o.json}`);
    }
    const failed = failures(run);
    if (failed.length) {
      console.error(`\nbench:torch: ${failed.length} case${failed.length > 1 ? "s" : ""} not timed:\n  ${failed.join("\n  ")}`);
      process.exitCode = 1;
    }
  } finally {
    scratch.remove();
  }
}

await main();
// The WebAssembly kernels' worker threads would keep Node alive.
process.exit(process.exitCode ?? 0);
