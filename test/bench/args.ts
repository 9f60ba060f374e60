// Command-line flags of `npm run bench`: which sizes, cells, peers and modes to run, how many
// timed runs, where to write results. A bad flag or value is a usage error (exit 2), never a throw.
// Parsed by node:util parseArgs and listed in the help by cli/flags.ts, as cellc's own flags are.

import { FlagError, formatFlags, parseFlags, type FlagDefs } from "../../cli/flags.ts";
import { CELLS, DEFAULT_PEERS, MODES, PEERS, SIZES, type BenchCell, type Mode, type Peer, type Size } from "./config.ts";

export interface BenchOptions {
  sizes: Size[];
  cells: BenchCell[];
  peers: Peer[];
  modes: Mode[];
  runs: number;
  warmup: number;
  capSeconds: number;
  outDir: string;
  /** Measure compile() time for every example spec. */
  buildTimes: boolean;
  /** Measure the reference GEMM. */
  gemm: boolean;
}

const FLAGS: FlagDefs = {
  sizes: { type: "string", arg: "LIST", help: `sizes to run, from ${SIZES.map((s) => s.name).join(",")} (default all)` },
  cells: { type: "string", arg: "LIST", help: `cells, from ${CELLS.map((c) => c.name).join(",")} (default all)` },
  peers: {
    type: "string",
    arg: "LIST",
    help: `peers, from ${PEERS.join(",")}\n(default ${DEFAULT_PEERS.join(",")}; cellc-noopt builds with optimize: false)`,
  },
  modes: { type: "string", arg: "LIST", help: "forward,train (default both)" },
  runs: { type: "string", arg: "N", help: "timed runs per measurement, at least 5 (default 5); tiny runs repeat for >= 0.5 s" },
  warmup: { type: "string", arg: "N", help: "warm-up runs before timing, at least 1 (default 1)" },
  cap: { type: "string", arg: "SECONDS", help: "stop timing a measurement after this long, keeping the runs so far (default 300)" },
  quick: { type: "boolean", help: "S1 and S2 only, 5 runs" },
  "no-build": { type: "boolean", help: "skip the per-spec build-time table" },
  "no-gemm": { type: "boolean", help: "skip the reference GEMM measurement" },
  out: { type: "string", arg: "DIR", help: "where results go (default test/bench/results)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

export const USAGE = `Usage: npm run bench -- [flags]

Runs LSTM and GRU forward passes and training steps side by side: cellc's kernels, TensorFlow.js
(cpu and wasm backends) and a hand-written TypeScript LSTM. Each measurement runs in its own
child process. Writes a JSON result file and a markdown table.

${formatFlags(FLAGS)}
`;

export class UsageError extends Error {}

function pick<T>(list: string, all: readonly T[], nameOf: (t: T) => string, what: string): T[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`--${what} needs a comma-separated list`);
  return names.map((n) => {
    const found = all.find((t) => nameOf(t).toLowerCase() === n.toLowerCase());
    if (found === undefined) {
      throw new UsageError(`unknown ${what.replace(/s$/, "")} "${n}" (choose from ${all.map(nameOf).join(", ")})`);
    }
    return found;
  });
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}, got "${value}"`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchOptions | "help" {
  const opts: BenchOptions = {
    sizes: [...SIZES],
    cells: [...CELLS],
    peers: [...DEFAULT_PEERS],
    modes: [...MODES],
    runs: 5,
    warmup: 1,
    capSeconds: 300,
    outDir: "test/bench/results",
    buildTimes: true,
    gemm: true,
  };
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS);
  } catch (e) {
    throw e instanceof FlagError ? new UsageError(e.message) : e;
  }
  const f = parsed.values;
  if (f.has("help")) return "help";
  const value = (name: string): string | undefined => {
    const v = f.get(name);
    return typeof v === "string" ? v : undefined;
  };
  const sizes = value("sizes");
  if (sizes !== undefined) opts.sizes = pick(sizes, SIZES, (s) => s.name, "sizes");
  const cells = value("cells");
  if (cells !== undefined) opts.cells = pick(cells, CELLS, (c) => c.name, "cells");
  const peers = value("peers");
  if (peers !== undefined) opts.peers = pick(peers, PEERS, (p) => p, "peers");
  const modes = value("modes");
  if (modes !== undefined) opts.modes = pick(modes, MODES, (m) => m, "modes");
  const runs = value("runs");
  if (runs !== undefined) opts.runs = count(runs, "--runs", 5);
  const warmup = value("warmup");
  if (warmup !== undefined) opts.warmup = count(warmup, "--warmup", 1);
  const cap = value("cap");
  if (cap !== undefined) opts.capSeconds = count(cap, "--cap", 1);
  if (f.has("no-build")) opts.buildTimes = false;
  if (f.has("no-gemm")) opts.gemm = false;
  const out = value("out");
  if (out !== undefined) opts.outDir = out;
  const sizesGiven = sizes !== undefined;
  const quick = f.has("quick");
  if (quick) {
    if (!sizesGiven) opts.sizes = SIZES.filter((s) => s.name !== "S3");
    opts.runs = 5;
  }
  return opts;
}
