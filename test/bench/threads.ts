// `npm run bench:threads`: how much a WebAssembly kernel's `threads` option gains, from small calls
// to large. For each shape it times a training step (forward, then backward) on 1 thread and on N,
// interleaved round by round so machine load falls on both alike, and prints wall-clock medians and
// the speed-up beside the call's work (T·B·paramCount, what the recurrent layer's "auto" compares
// with runtime/threads.ts's AUTO_MIN_WORK). Wall clock, not CPU time: the threads' point is to
// spend more CPU time per second.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { CellKernel, Gradients, Tape } from "../../abi/kernel.ts";
import { formatFlags, type FlagDefs } from "../../cli/flags.ts";
import { loadCell } from "../../driver/index.ts";
import { AUTO_MIN_WORK } from "../../runtime/threads.ts";
import { median, scriptFlags } from "./script.ts";
import { SIZES } from "./config.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** T, B, I, H: from below the threshold to S2's size, then small batches (under 4 samples per
 *  thread a loop's products are shared by columns) with larger cells. */
const SHAPES: [number, number, number, number][] = [
  [20, 16, 8, 16],
  [100, 32, 8, 8],
  [20, 32, 16, 32],
  [50, 32, 32, 32],
  [30, 64, 32, 64],
  [50, 32, 64, 128],
  [100, 1, 32, 32],
  [50, 1, 256, 256],
  [50, 4, 128, 128],
  [50, 4, 256, 512],
];

const FLAGS: FlagDefs = {
  spec: { type: "string", arg: "FILE", help: "the spec (default examples/specs/lstm.cell; sizes I and H are bound)" },
  threads: { type: "string", arg: "N", help: "threads to compare with one (default 2)" },
  rounds: { type: "string", arg: "N", help: "timed rounds per shape (default 7)" },
  sizes: { type: "string", arg: "LIST", help: "the benchmark's sizes instead of the shapes above, from S1,S2,S3" },
  mode: { type: "string", arg: "MODE", help: "train (forward + backward, the default) or forward" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

const USAGE = `Usage: npm run bench:threads -- [flags]

Times a training step on one thread and on N, side by side, at shapes of growing work.

${formatFlags(FLAGS)}
`;

const script = scriptFlags(FLAGS, USAGE);
const flags = script.values;
// Declared with its type, so that TypeScript knows code after a call to it does not run.
const usage: (message: string) => never = script.usage;

function count(text: string | undefined, fallback: number, flag: string, min: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 64)) usage(`--${flag} must be a whole number from ${min} to 64, got '${text}'`);
  return n;
}

async function main(): Promise<void> {
  const specFile = path.resolve((flags.get("spec") as string | undefined) ?? path.join(root, "examples/specs/lstm.cell"));
  let text: string;
  try {
    text = readFileSync(specFile, "utf8");
  } catch {
    usage(`cannot read --spec ${specFile}`);
  }
  const N = count(flags.get("threads") as string | undefined, 2, "threads", 2);
  const rounds = count(flags.get("rounds") as string | undefined, 7, "rounds", 3);
  const mode = (flags.get("mode") as string | undefined) ?? "train";
  if (mode !== "train" && mode !== "forward") usage(`--mode must be train or forward, got '${mode}'`);
  const sizeNames = (flags.get("sizes") as string | undefined)?.split(",");
  const shapes = sizeNames
    ? sizeNames.map((n) => {
        const s = SIZES.find((x) => x.name === n) ?? usage(`--sizes takes names from ${SIZES.map((x) => x.name).join(",")}, got '${n}'`);
        return [s.T, s.B, s.I, s.H] as [number, number, number, number];
      })
    : SHAPES;
  const what = mode === "train" ? "training step (forward + backward)" : "forward";
  console.log(`${path.relative(root, specFile)}: ${what}, 1 vs ${N} threads, wall-clock medians of ${rounds - 1} rounds; "auto" threshold ${AUTO_MIN_WORK / 1e6}M`);
  console.log("| T | B | I | H | work (T·B·params) | 1 thread | " + `${N} threads | speed-up | per-round speed-ups: median (min–max) |`);
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [T, B, I, H] of shapes) {
    let k: CellKernel;
    try {
      // The plain SIMD128 build where the compiler knows fma (threads are what is measured here).
      k = await loadCell(text, { dims: { I, H }, target: "wasm", format: false, file: specFile, fma: "off" });
    } catch (e) {
      usage(`${path.basename(specFile)} does not build at I=${I}, H=${H}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
    if (k.meta.threads === undefined) usage("this platform has no worker threads for WebAssembly kernels");
    const params = k.createParams();
    for (const p of k.meta.params) params[p.name]!.fill(0.05);
    const inputs = Object.fromEntries(k.meta.inputs.map((i) => [i.name, new Float32Array(T * B * i.size).fill(0.3)]));
    const dOut = Object.fromEntries(k.meta.outputs.map((o) => [o.name, new Float32Array(T * B * o.size).fill(0.1)]));
    const work = T * B * k.meta.paramCount;
    // Enough calls per timing to last ~50 ms on one thread at a few GFLOP/s.
    const reps = Math.max(3, Math.min(200, Math.round(3e8 / (work * 6))));
    const times = new Map<number, number[]>([[1, []], [N, []]]);
    const tapes = new Map<number, { tape?: Tape; into?: Gradients }>([[1, {}], [N, {}]]);
    for (let r = 0; r < rounds; r++) {
      for (const threads of [1, N]) {
        const s = tapes.get(threads)!;
        const t0 = performance.now();
        for (let q = 0; q < reps; q++) {
          const f = k.forward(params, inputs, { batchSize: B, timeSteps: T, threads, ...(s.tape ? { tape: s.tape } : {}) });
          s.tape = f.tape;
          if (mode === "train") s.into = k.backward(params, f.tape, dOut, s.into ? { into: s.into } : {});
        }
        if (r > 0) times.get(threads)!.push((performance.now() - t0) / reps);
      }
    }
    const one = median(times.get(1)!);
    const many = median(times.get(N)!);
    // Each round's 1-thread time over its N-thread time, taken moments apart: load that comes and
    // goes over the run falls on both sides of a ratio alike more often than on both medians.
    const ratios = times.get(1)!.map((t, r) => t / times.get(N)![r]!);
    const spread = `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    console.log(`| ${T} | ${B} | ${I} | ${H} | ${(work / 1e6).toFixed(2)}M | ${one.toFixed(3)} ms | ${many.toFixed(3)} ms | ${(one / many).toFixed(2)}× | ${spread} |`);
  }
}

await main();
