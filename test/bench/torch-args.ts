// What `npm run bench:torch` measures and its flags: the cells (each with the PyTorch reference it
// is timed against), sizes S1–S3 (config.ts, shared with `npm run bench`), modes, thread counts and
// rounds. A bad flag or value is a UsageError (torch.ts prints it with the usage, exit 2).

import { FlagError, formatFlags, parseFlags, type FlagDefs } from "../../cli/flags.ts";
import { UsageError } from "./args.ts";
import { MODES, SIZES, type Mode, type Size } from "./config.ts";

export { UsageError };

export interface TorchCell {
  /** The name torch_bench.py knows the reference by. */
  name: "lstm" | "gru" | "mgu" | "slstm";
  /** Spec file, relative to the repository root. */
  spec: string;
  /** What the cellc module is timed against. */
  reference: string;
}

// gru is gru_reset_after.cell: nn.GRU applies the reset gate to (U_n h + b_hn), after the
// recurrent product (gru.cell applies it to h before, as tfjs' GRU and `npm run bench` do).
export const TORCH_CELLS: readonly TorchCell[] = [
  { name: "lstm", spec: "examples/specs/lstm.cell", reference: "nn.LSTM" },
  { name: "gru", spec: "examples/specs/gru_reset_after.cell", reference: "nn.GRU" },
  { name: "mgu", spec: "test/bench/specs/mgu.cell", reference: "TorchScript loop" },
  { name: "slstm", spec: "examples/specs/slstm.cell", reference: "TorchScript loop" },
];

/** A thread count, or every core this process may run on. */
export type Threads = number | "all";

export interface TorchBenchOptions {
  sizes: Size[];
  cells: TorchCell[];
  modes: Mode[];
  threads: Threads[];
  rounds: number;
  /** Also time cellc's WebAssembly kernel of each cell and size (in Node, after Python). */
  wasm: boolean;
  /** Where to write every time as JSON, if anywhere. */
  json?: string;
  /** The python to run (default: test/helpers/torch.ts's choice, CELLC_PYTHON or /usr/bin/python3). */
  python?: string;
}

const FLAGS: FlagDefs = {
  sizes: { type: "string", arg: "LIST", help: `from ${SIZES.map((s) => s.name).join(",")} (default all)` },
  cells: { type: "string", arg: "LIST", help: `from ${TORCH_CELLS.map((c) => c.name).join(",")} (default all)` },
  modes: { type: "string", arg: "LIST", help: "forward,train (default both)" },
  threads: { type: "string", arg: "LIST", help: "thread counts, whole numbers or all (default 1,all)" },
  rounds: { type: "string", arg: "N", help: "timed rounds, each peer once per round, at least 3 (default 9)" },
  "no-wasm": { type: "boolean", help: "do not time cellc's WebAssembly kernel beside" },
  json: { type: "string", arg: "FILE", help: "also write every timed round as JSON to FILE" },
  python: { type: "string", arg: "PATH", help: "the python with torch (default CELLC_PYTHON, else /usr/bin/python3)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

export const TORCH_USAGE = `Usage: npm run bench:torch -- [flags]

Times cellc's PyTorch module (--target torch) against nn.LSTM / nn.GRU (lstm, gru) and against the
same cell written by hand as a TorchScript loop (mgu, slstm): forward and training step, in one
Python process, interleaved rounds, at each thread count; cellc's WebAssembly kernel beside.

${formatFlags(FLAGS)}
`;

function pick<T>(list: string, all: readonly T[], nameOf: (t: T) => string, what: string): T[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`--${what} needs a comma-separated list`);
  const out = names.map((n) => {
    const found = all.find((t) => nameOf(t).toLowerCase() === n.toLowerCase());
    if (found === undefined) throw new UsageError(`unknown ${what.replace(/s$/, "")} "${n}" (choose from ${all.map(nameOf).join(", ")})`);
    return found;
  });
  return [...new Set(out)];
}

function threadList(text: string): Threads[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError("--threads needs a comma-separated list");
  const out = items.map((s): Threads => {
    if (s.toLowerCase() === "all") return "all";
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= 256)) throw new UsageError(`--threads takes whole numbers from 1 to 256 or "all", got "${s}"`);
    return n;
  });
  return [...new Set(out)];
}

export function parseTorchArgs(argv: readonly string[]): TorchBenchOptions | "help" {
  let f;
  try {
    f = parseFlags(argv, FLAGS).values;
  } catch (e) {
    throw e instanceof FlagError ? new UsageError(e.message) : e;
  }
  if (f.has("help")) return "help";
  const value = (name: string): string | undefined => {
    const v = f.get(name);
    return typeof v === "string" ? v : undefined;
  };
  const opts: TorchBenchOptions = { sizes: [...SIZES], cells: [...TORCH_CELLS], modes: [...MODES], threads: [1, "all"], rounds: 9, wasm: !f.has("no-wasm") };
  const sizes = value("sizes");
  if (sizes !== undefined) opts.sizes = pick(sizes, SIZES, (s) => s.name, "sizes");
  const cells = value("cells");
  if (cells !== undefined) opts.cells = pick(cells, TORCH_CELLS, (c) => c.name, "cells");
  const modes = value("modes");
  if (modes !== undefined) opts.modes = pick(modes, MODES, (m) => m, "modes");
  const threads = value("threads");
  if (threads !== undefined) opts.threads = threadList(threads);
  const rounds = value("rounds");
  if (rounds !== undefined) {
    const n = /^\d+$/.test(rounds) ? Number(rounds) : NaN;
    if (!(n >= 3 && n <= 1000)) throw new UsageError(`--rounds needs a whole number from 3 to 1000, got "${rounds}"`);
    opts.rounds = n;
  }
  const json = value("json");
  if (json !== undefined) opts.json = json;
  const python = value("python");
  if (python !== undefined) opts.python = python;
  return opts;
}

/** The thread counts to run: "all" is `cores`; duplicates go, the order stays. */
export function resolveThreads(threads: readonly Threads[], cores: number): number[] {
  return [...new Set(threads.map((t) => (t === "all" ? cores : t)))];
}
