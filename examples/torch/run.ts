// Prototype in cellc, scale in PyTorch, come back with the weights — in one command:
//   1. cellc prints the spec as a PyTorch module (compile(..., { target: "torch" }), as
//      `cellc build --target torch` does);
//   2. torchrun trains it on the adding problem with DistributedDataParallel over --nproc
//      processes (CPU, gloo: examples/torch/ddp_adding.py);
//   3. cellc loads the trained checkpoint into sequential([rnn({ spec }), dense(1)]) and checks
//      that its kernel reproduces the torch model's held-out predictions.
//
//   node --import tsx examples/torch/run.ts [--spec lstm] [--H 16] [--T 20] [--steps 1500] [--nproc 2]
//
// The launch line it runs is printed; on GPUs or several machines run that line by hand with
// the changes the README lists. PyTorch comes from Debian's python3-torch (/usr/bin/python3;
// CELLC_PYTHON overrides).

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, formatDiagnostics } from "../../driver/index.ts";
import { rnn, specPath } from "../../jit/index.ts";
import { dense, sequential, tensor } from "../../runtime/index.ts";
import { addingScore } from "../../studies/data/adding.ts";
import { parseFlags, percent, runMain, usage, UsageError, type FlagSpec } from "../data/cli.ts";

const FLAGS: Record<string, FlagSpec> = {
  spec: { type: "string", help: "the cell: a name in examples/specs or a .cell path", default: "lstm" },
  H: { type: "int", help: "hidden size", default: 16 },
  T: { type: "int", help: "minimal sequence length (at least 20)", default: 20 },
  steps: { type: "int", help: "optimizer steps", default: 1500 },
  batch: { type: "int", help: "sequences per process per step", default: 32 },
  lr: { type: "number", help: "Adam learning rate", default: 0.01 },
  seed: { type: "int", help: "seed for weights and data", default: 1 },
  nproc: { type: "int", help: "processes (torchrun --nproc_per_node)", default: 2 },
  "held-out": { type: "int", help: "held-out sequences", default: 1000 },
  "log-every": { type: "int", help: "steps between loss lines", default: 100 },
  out: { type: "string", help: "output directory", default: "examples/out/torch" },
};

export interface DdpOptions {
  spec: string;
  H: number;
  T: number;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  nproc: number;
  heldOut: number;
  logEvery: number;
  out: string;
  python?: string;
  log?: (line: string) => void;
}

/** What ddp_adding.py writes into result.json (the fields used here). */
export interface DdpResult {
  cell: string;
  params: number;
  world_size: number;
  threads_per_process: number;
  sequences: number;
  curve: { step: number; sequences: number; loss: number }[];
  /** The largest difference of any weight between the processes at the end (0: DDP kept them equal). */
  replica_max_diff: number;
  held_out: { count: number; mean_abs_error: number; solved: number };
  train_seconds: number;
  wall_seconds: number;
  checkpoint: string;
}

export interface RoundTrip {
  /** max |cellc prediction - torch prediction| over the held-out set. */
  maxAbsDiff: number;
  /** The same relative to the largest |prediction|. */
  relDiff: number;
  cellc: { meanAbsError: number; fractionSolved: number };
}

const here = fileURLToPath(new URL(".", import.meta.url));
const specFile = (spec: string) => (spec.endsWith(".cell") ? spec : specPath(spec));

/** The launch line for this machine (torchrun from Debian's python3-torch). The --redirects/--tee
 *  flags work around torch 1.13's launcher on Python 3.11 (its default "0" is misparsed). */
export function launchLine(o: DdpOptions, cellPy: string): string[] {
  return [
    "-m", "torch.distributed.run", "--standalone", `--nproc_per_node=${o.nproc}`, "--redirects", "1", "--tee", "1",
    join(here, "ddp_adding.py"), "--cell", cellPy, "--T", String(o.T), "--steps", String(o.steps), "--batch", String(o.batch),
    "--lr", String(o.lr), "--seed", String(o.seed), "--held-out", String(o.heldOut), "--log-every", String(o.logEvery), "--out", o.out,
  ];
}

/** Steps 1 and 2: the torch module from the spec, then the distributed training run. */
export async function trainInTorch(o: DdpOptions): Promise<DdpResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  mkdirSync(o.out, { recursive: true });
  const file = specFile(o.spec);
  const r = await compile(readFileSync(file, "utf8"), { file, dims: { I: 2, H: o.H }, target: "torch" });
  if (!r.module) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  const cellPy = join(o.out, "cell.py");
  writeFileSync(cellPy, r.module.code);
  log(`1. cellc: ${file} -> ${cellPy} (${r.module.name}, I=2 H=${o.H}, ${r.module.meta.paramCount} params)`);
  const python = o.python ?? process.env["CELLC_PYTHON"] ?? "/usr/bin/python3";
  const args = launchLine(o, cellPy);
  log(`2. PyTorch: ${python} ${args.join(" ")}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim()) log(`   ${line.replace(/^\[default\d+\]:/, "")}`);
    });
    child.stderr.on("data", (d: Buffer) => void (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`torchrun exited with ${code}:\n${err.split("\n").slice(-25).join("\n")}`))));
  });
  return JSON.parse(readFileSync(join(o.out, "result.json"), "utf8")) as DdpResult;
}

/** Step 3: the checkpoint in a cellc model; its predictions against the torch model's. */
export async function backInCellc(o: Pick<DdpOptions, "spec" | "H" | "out">, result: DdpResult): Promise<RoundTrip> {
  const ev = JSON.parse(readFileSync(join(o.out, "eval.json"), "utf8")) as { shape: [number, number, number]; x: number[]; lengths: number[]; targets: number[]; predictions: number[] };
  const model = sequential([rnn({ spec: specFile(o.spec), units: o.H }), dense(1)]);
  await model.build([null, 2]);
  await model.load(result.checkpoint);
  const pred = model.predict(tensor(Float32Array.from(ev.x), ev.shape, ev.lengths), { batchSize: 256 });
  let maxAbsDiff = 0;
  let scale = 0;
  for (let i = 0; i < ev.predictions.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(pred.data[i]! - ev.predictions[i]!));
    scale = Math.max(scale, Math.abs(ev.predictions[i]!));
  }
  const s = addingScore(pred.data, ev.targets);
  return { maxAbsDiff, relDiff: maxAbsDiff / scale, cellc: { meanAbsError: s.meanAbsError, fractionSolved: s.fractionSolved } };
}

async function main(argv: readonly string[]): Promise<void> {
  const f = parseFlags(argv, FLAGS);
  if (f.help) {
    console.log(usage("examples/torch/run.ts", "The adding problem: a cellc spec trained with PyTorch DDP, the weights brought back.", FLAGS));
    return;
  }
  if ((f["T"] as number) < 20) throw new UsageError("--T must be at least 20");
  for (const n of ["H", "steps", "batch", "nproc", "held-out", "log-every"]) if (!((f[n] as number) > 0)) throw new UsageError(`--${n} must be positive`);
  const o: DdpOptions = {
    spec: String(f["spec"]),
    H: f["H"] as number,
    T: f["T"] as number,
    steps: f["steps"] as number,
    batch: f["batch"] as number,
    lr: f["lr"] as number,
    seed: f["seed"] as number,
    nproc: f["nproc"] as number,
    heldOut: f["held-out"] as number,
    logEvery: f["log-every"] as number,
    out: String(f["out"]),
  };
  const started = performance.now();
  const result = await trainInTorch(o);
  const back = await backInCellc(o, result);
  const first = result.curve[0]!;
  const last = result.curve[result.curve.length - 1]!;
  console.log(`3. cellc: ${result.checkpoint} loaded into sequential([rnn({ spec: "${o.spec}" }), dense(1)])`);
  console.log(`   predictions vs torch's on ${result.held_out.count} held-out sequences: max |diff| ${back.maxAbsDiff.toExponential(2)} (relative ${back.relDiff.toExponential(2)})`);
  console.log("");
  console.log(`DDP over ${result.world_size} processes (${result.threads_per_process} thread each): ${result.sequences.toLocaleString("en-US")} sequences, loss ${first.loss.toFixed(4)} (first ${o.logEvery} steps) -> ${last.loss.toFixed(4)} (last ${o.logEvery})`);
  console.log(`held-out |error| ${result.held_out.mean_abs_error.toFixed(4)}, solved ${percent(result.held_out.solved)} (torch); ${back.cellc.meanAbsError.toFixed(4)}, ${percent(back.cellc.fractionSolved)} (cellc)`);
  console.log(`training ${result.train_seconds.toFixed(1)} s, torchrun ${result.wall_seconds.toFixed(1)} s, all ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void runMain("examples/torch/run.ts", usage("examples/torch/run.ts", "DDP adding problem", FLAGS), () => main(process.argv.slice(2)));
}
