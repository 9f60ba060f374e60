// Command-line flags of `npm run bench`: which sizes, cells, peers and modes to run, how many
// timed runs, where to write results. A bad flag or value is a usage error (exit 2), never a throw.

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

export const USAGE = `Usage: npm run bench -- [flags]

Runs LSTM and GRU forward passes and training steps side by side: cellc's kernels, TensorFlow.js
(cpu and wasm backends) and a hand-written TypeScript LSTM. Each measurement runs in its own
child process. Writes a JSON result file and a markdown table.

  --sizes LIST    sizes to run, from ${SIZES.map((s) => s.name).join(",")} (default all)
  --cells LIST    cells, from ${CELLS.map((c) => c.name).join(",")} (default all)
  --peers LIST    peers, from ${PEERS.join(",")}
                  (default ${DEFAULT_PEERS.join(",")}; cellc-noopt builds with optimize: false)
  --modes LIST    forward,train (default both)
  --runs N        timed runs per measurement, at least 5 (default 5); tiny runs repeat for >= 0.5 s
  --warmup N      warm-up runs before timing, at least 1 (default 1)
  --cap SECONDS   stop timing a measurement after this long, keeping the runs so far (default 300)
  --quick         S1 and S2 only, 5 runs
  --no-build      skip the per-spec build-time table
  --no-gemm       skip the reference GEMM measurement
  --out DIR       where results go (default test/bench/results)
  --help          show this help
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
  let sizesGiven = false;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--sizes":
        opts.sizes = pick(value(), SIZES, (s) => s.name, "sizes");
        sizesGiven = true;
        break;
      case "--cells":
        opts.cells = pick(value(), CELLS, (c) => c.name, "cells");
        break;
      case "--peers":
        opts.peers = pick(value(), PEERS, (p) => p, "peers");
        break;
      case "--modes":
        opts.modes = pick(value(), MODES, (m) => m, "modes");
        break;
      case "--runs":
        opts.runs = count(value(), flag, 5);
        break;
      case "--warmup":
        opts.warmup = count(value(), flag, 1);
        break;
      case "--cap":
        opts.capSeconds = count(value(), flag, 1);
        break;
      case "--quick":
        quick = true;
        break;
      case "--no-build":
        opts.buildTimes = false;
        break;
      case "--no-gemm":
        opts.gemm = false;
        break;
      case "--out":
        opts.outDir = value();
        break;
      default:
        throw new UsageError(`unknown flag "${arg}"`);
    }
  }
  if (quick) {
    if (!sizesGiven) opts.sizes = SIZES.filter((s) => s.name !== "S3");
    opts.runs = 5;
  }
  return opts;
}
