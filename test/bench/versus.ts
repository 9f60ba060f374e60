// `npm run bench:versus -- --base DIR`: this checkout's cellc kernels against another checkout's
// (an older commit with its own node_modules), side by side in one process, by CPU time. The two
// kernels run interleaved, measurement by measurement, so machine load falls on both alike; the
// table gives each one's median and the ratio. Use it to show that a change made nothing slower.
// With --target wasm, --fma and --base-fma pick each side's fused multiply-add mode, so `--base .
// --fma on --base-fma off` times this checkout's FMA kernels against its plain ones (the script runs
// itself again under --experimental-wasm-relaxed-simd where the engine needs that flag).

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { formatFlags, type FlagDefs } from "../../cli/flags.ts";
import { CELLS, MODES, SIZES, type BenchCell, type Mode, type Size } from "./config.ts";
import { median, scriptFlags } from "./script.ts";
import { relaxedSimdSupported } from "../../backends/wasm/support/heap.ts";

const FLAGS: FlagDefs = {
  base: { type: "string", arg: "DIR", help: "the other checkout (required; it needs its node_modules)" },
  sizes: { type: "string", arg: "LIST", help: `from ${SIZES.map((s) => s.name).join(",")} (default S1,S2)` },
  cells: { type: "string", arg: "LIST", help: `from ${CELLS.map((c) => c.name).join(",")} (default all)` },
  specs: { type: "string", arg: "LIST", help: "spec files (relative to the checkouts) to time instead of --cells, e.g. examples/specs/slstm.cell" },
  modes: { type: "string", arg: "LIST", help: "forward,train (default both)" },
  target: { type: "string", arg: "NAME", help: "compile both checkouts' kernels for this target (default: each one's default)" },
  fma: { type: "string", arg: "MODE", help: "with --target wasm: this checkout's kernels built with fma on, off or auto (default: the compiler's default)" },
  "base-fma": { type: "string", arg: "MODE", help: "with --target wasm: the base's kernels' fma mode (default: --fma's)" },
  rounds: { type: "string", arg: "N", help: "timed rounds per measurement, each kernel once per round (default 25)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

const USAGE = `Usage: npm run bench:versus -- --base DIR [flags]

Times this checkout's kernels and those of the checkout at DIR side by side (CPU time, medians).

${formatFlags(FLAGS)}
`;

const script = scriptFlags(FLAGS, USAGE);
const flags = script.values;
// Declared with its type, so that TypeScript knows code after a call to it does not run.
const usage: (message: string) => never = script.usage;

function pick<T extends { name: string } | string>(list: string | undefined, all: readonly T[], fallback: readonly T[], what: string): T[] {
  if (list === undefined) return [...fallback];
  const nameOf = (t: T) => (typeof t === "string" ? t : t.name);
  return list.split(",").map((n) => {
    const found = all.find((t) => nameOf(t).toLowerCase() === n.trim().toLowerCase());
    if (found === undefined) usage(`unknown ${what} "${n}" (choose from ${all.map(nameOf).join(", ")})`);
    return found;
  });
}

interface Kernel {
  meta: { fma?: boolean; params: { name: string }[]; inputs: { name: string; size: number }[]; outputs: { name: string; size: number }[] };
  createParams(): Record<string, Float32Array>;
  forward(params: unknown, inputs: unknown, options: unknown): { tape: unknown };
  backward(params: unknown, tape: unknown, dOutputs: unknown, options: unknown): unknown;
}

/** The compile API of the checkout at `root`: driver/index.ts, or compiler/index.ts in a checkout
 *  from before the driver moved out of compiler/ (issue 22); undefined when it has neither. */
function apiFile(root: string): string | undefined {
  return ["driver/index.ts", "compiler/index.ts"].map((f) => path.join(root, f)).find((f) => existsSync(f));
}

async function loadKernel(root: string, cell: BenchCell, size: Size, target: string | undefined, fma: string | undefined): Promise<Kernel> {
  const api = (await import(pathToFileURL(apiFile(root)!).href)) as {
    loadCell(source: string, options: object): Promise<Kernel>;
  };
  const file = path.join(root, cell.spec);
  const options = { file, dims: { I: size.I, H: size.H }, ...(target ? { target } : {}), ...(fma ? { fma } : {}) };
  const k = await api.loadCell(readFileSync(file, "utf8"), options);
  // A checkout from before the fma option builds its plain kernel whatever it is asked.
  if (fma !== undefined && fma !== "auto" && k.meta.fma !== (fma === "on")) throw new Error(`${root}: its ${cell.name} kernel has fma ${k.meta.fma ?? "(none)"}, not ${fma} (a checkout from before the fma option?)`);
  return k;
}

/** One forward (and, in train mode, backward) over fixed data; tapes and gradients are reused. */
function runner(k: Kernel, size: Size, mode: Mode): () => void {
  const params = k.createParams();
  for (const p of k.meta.params) params[p.name]!.forEach((_, i, a) => (a[i] = Math.sin(i * 0.37) * 0.1));
  // Every input and every output's gradient over T steps of B samples (the meta gives their widths).
  const inputs = Object.fromEntries(k.meta.inputs.map((v) => [v.name, new Float32Array(size.T * size.B * v.size).map((_, i) => Math.cos(i))]));
  const dOutputs = Object.fromEntries(k.meta.outputs.map((v) => [v.name, new Float32Array(size.T * size.B * v.size).fill(0.01)]));
  let tape: unknown;
  let into: unknown;
  return () => {
    const r = k.forward(params, inputs, { batchSize: size.B, tape });
    tape = r.tape;
    if (mode === "train") into = k.backward(params, r.tape, dOutputs, into ? { into } : {});
  };
}

/** Milliseconds of CPU per call, averaged over enough calls to take ~20 ms. */
function cpuPerCall(f: () => void, reps: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}

/** Runs both kernels alternately until each has spent at least 300 ms of CPU over at least 20
 *  calls (or 3 s, for kernels whose calls are long), and returns the slower one's milliseconds
 *  per call, averaged with the weight on its latest calls. */
function warmUp(a: () => void, b: () => void): number {
  const spent = [0, 0];
  const late = [0, 0];
  let calls = 0;
  while ((calls < 20 || Math.min(...spent) < 300) && Math.min(...spent) < 3000) {
    const fs = [a, b];
    for (let k = 0; k < 2; k++) {
      const ms = cpuPerCall(fs[k]!, 1);
      spent[k]! += ms;
      late[k] = calls === 0 ? ms : 0.8 * late[k]! + 0.2 * ms;
    }
    calls++;
  }
  return Math.max(...late);
}

async function main() {
  const v = flags;
  const base = v.get("base") as string | undefined;
  if (base === undefined) usage("--base DIR is required");
  const baseRoot = path.resolve(base);
  if (apiFile(baseRoot) === undefined) usage(`${base} is not a cellc checkout (no driver/index.ts or compiler/index.ts)`);
  const rounds = Number(v.get("rounds") ?? "25");
  if (!Number.isInteger(rounds) || rounds < 5) usage(`--rounds must be an integer of at least 5, got "${v.get("rounds")}"`);
  const sizes = pick(v.get("sizes") as string | undefined, SIZES, SIZES.slice(0, 2), "size");
  const specs = v.get("specs") as string | undefined;
  const cells: BenchCell[] =
    specs === undefined ? pick(v.get("cells") as string | undefined, CELLS, CELLS, "cell") : specs.split(",").map((spec) => ({ name: path.basename(spec, ".cell"), spec, gates: 0, tfjsLayer: "lstm" }));
  const modes = pick(v.get("modes") as string | undefined, MODES, MODES, "mode");
  const target = v.get("target") as string | undefined;
  const fma = v.get("fma") as string | undefined;
  const baseFma = (v.get("base-fma") as string | undefined) ?? fma;
  for (const [flag, mode] of [["--fma", fma], ["--base-fma", baseFma]] as const) {
    if (mode === undefined) continue;
    if (target !== "wasm") usage(`${flag} needs --target wasm`);
    if (!["on", "off", "auto"].includes(mode)) usage(`${flag} must be on, off or auto, got "${mode}"`);
  }
  if ((fma === "on" || baseFma === "on") && !relaxedSimdSupported()) {
    // Node 20 runs relaxed SIMD only behind V8's flag: this script again, with it.
    const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  const side = (m: string | undefined) => (m === undefined ? "" : `, fma ${m}`);

  console.log(`this checkout: ${process.cwd()}${side(fma)}\nbase: ${baseRoot}${side(baseFma)}\n`);
  console.log("| cell | size | mode | base ms (CPU) | this ms (CPU) | this/base |\n| --- | --- | --- | ---: | ---: | ---: |");
  for (const cell of cells) {
    for (const size of sizes) {
      for (const mode of modes) {
        const rb = runner(await loadKernel(baseRoot, cell, size, target, baseFma), size, mode);
        const rt = runner(await loadKernel(process.cwd(), cell, size, target, fma), size, mode);
        // Warm both up before sizing a measurement: WebAssembly starts in a baseline tier and moves a
        // function up only after it has run a while (there is no on-stack replacement), so the first
        // calls can be several times slower. Sizing `reps` from a cold call made the measurement a
        // handful of calls long, and kernels differing only in when they tiered up read 1.3x apart.
        const perCall = warmUp(rb, rt);
        const reps = Math.max(1, Math.round(20 / Math.max(perCall, 0.001)));
        const tb: number[] = [];
        const tt: number[] = [];
        for (let i = 0; i < rounds; i++) {
          tb.push(cpuPerCall(rb, reps));
          tt.push(cpuPerCall(rt, reps));
        }
        const [mb, mt] = [median(tb), median(tt)];
        console.log(`| ${cell.name} | ${size.name} | ${mode} | ${mb.toFixed(3)} | ${mt.toFixed(3)} | ${(mt / mb).toFixed(2)} |`);
      }
    }
  }
}

await main();
