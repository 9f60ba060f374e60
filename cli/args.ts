// Command-line parsing for `cellc`: the commands' flags (read by node:util parseArgs through
// flags.ts, which also formats them for the usage texts) and the `--dims` syntax. Everything a user
// can get wrong on the command line ends here as a UsageError (exit 2) whose message names the
// problem; nothing in this file touches the file system.

import { MAX_THREADS } from "../abi/checks.ts";
import { FlagError, formatFlags, parseFlags, type FlagDefs } from "./flags.ts";

/** A mistake in how cellc was invoked: printed as one line plus the usage text, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Which usage text to print after the message. */
    readonly command: CommandName | "global" = "global",
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export type CommandName = "check" | "build";
export const commands: readonly CommandName[] = ["check", "build"];

const helpFlag = { type: "boolean", short: "h", help: "Show this help" } as const;

/** Each command's flags, in the order its help lists them. */
export const commandFlags: Record<CommandName, FlagDefs> = {
  check: {
    config: { type: "string", short: "c", arg: "FILE", help: "Check the specs listed in a config file" },
    help: helpFlag,
  },
  build: {
    dims: {
      type: "string",
      multiple: true,
      arg: "I=64,H=128",
      help: "Size bindings; repeat the flag or separate with commas. Sizes a cell\ndoes not declare are ignored; a size with no binding and no default is\nan error (CE401).",
    },
    out: {
      type: "string",
      short: "o",
      arg: "DIR",
      help: "Directory to write modules into (created if missing); a path ending\nin the target's extension (.ts, .py), or .js for JavaScript, names one\nfile, for a build of exactly one module",
    },
    cell: { type: "string", arg: "NAME", help: "Build only the cell or stack called NAME" },
    "no-opt": { type: "boolean", help: "Skip the optimizing passes and emit the plain lowering" },
    target: {
      type: "string",
      arg: "NAME",
      help: "What to emit: ts (a TypeScript kernel module, the default), wasm (a\n.ts module embedding a WebAssembly SIMD kernel, with the TypeScript\nkernel as fallback where SIMD is missing), webgpu (a .ts module whose\nforward and backward run WGSL compute shaders on the GPU and return\npromises; float32) or torch (a PyTorch nn.Module in a .py file)",
    },
    format: {
      type: "string",
      arg: "ts|js",
      help: "With --target ts or wasm: write TypeScript modules (.ts) or what tsc\nwould emit for them, JavaScript (.js, ES modules for plain node) with\ndeclarations (.d.ts). Default: ts when the output's project has a\ntsconfig.json or a TypeScript dependency (or no package.json), else js",
    },
    "emit-wat": { type: "boolean", help: "With --target wasm, also write the WebAssembly text beside each module" },
    threads: {
      type: "string",
      arg: "N",
      help: `With --target wasm, the worker threads (1-${MAX_THREADS}) a call runs on when its\n\`threads\` option does not say (default 1); results are identical for\nany number. Node only: browsers run on one`,
    },
    fma: {
      type: "string",
      arg: "auto|on|off",
      help: "With --target wasm, fused multiply-add (relaxed SIMD) in the matrix\nproducts: auto (the default) ships a binary with it and one without\nand runs the first where the engine has relaxed SIMD; on ships only\nthe FMA one (the TypeScript kernel runs elsewhere); off only the\nplain one. FMA rounds once per multiply-add, so the last bits differ",
    },
    config: {
      type: "string",
      short: "c",
      arg: "FILE",
      help: "Build the entries of a config file; with no files and no --config,\n./cellc.config.json is used if it exists",
    },
    watch: {
      type: "boolean",
      short: "w",
      help: "Build, then rebuild whenever a spec or a file it imports changes\n(Ctrl-C to stop)",
    },
    help: helpFlag,
  },
};

export const globalUsage = `Usage: cellc <command> [options]

Commands:
  check <files|dirs>...        Parse and check specs; report every diagnostic
  build <files|dirs>... --out DIR [--dims I=64,H=128]
                               Compile specs into self-contained TypeScript kernels
  build [--config FILE]        Build the entries of a config file (default ./cellc.config.json)
  export <spec.cell> --dims I=64,H=128 --out FILE.onnx
                               Write one cell or stack of a spec as an ONNX model
  study <specs>... --task NAME Train specs side by side on a task over several seeds and
                               report how they compare
  worker --queue URL           Run the runs of studies enqueued with study --queue URL
  help [command]               Show help for a command

Options:
  -h, --help                   Show help (also after a command: cellc build --help)
  --version                    Show the version

Exit status: 0 ok, 1 a spec has errors, 2 usage error, 70 internal error (a cellc bug).`;

export const checkUsage = `Usage: cellc check <files|dirs>... [options]
       cellc check [--config FILE]

Parses and checks every spec named, and every *.cell file under each directory named
(recursively), and reports all diagnostics with a code frame. With no files, checks the specs
of --config FILE, or of ./cellc.config.json if it exists.

Options:
${formatFlags(commandFlags.check)}

Exit status: 0 no errors, 1 a spec has errors, 2 usage error, 70 internal error (a cellc bug).`;

export const buildUsage = `Usage: cellc build <files|dirs>... --out DIR [options]
       cellc build [--config FILE] [--watch]

Compiles every cell and stack declared in each spec (not the ones it imports) into one
self-contained TypeScript module per cell and size binding, named like lstm_I64_H128.ts (with
--format js, lstm_I64_H128.js and its declarations, lstm_I64_H128.d.ts).

Options:
${formatFlags(commandFlags.build)}

Config file (paths relative to it; "out" ending in the target's extension (or .js, which
means "format": "js") names a single file; "target" and "format" at the top or per entry):
  { "out": "src/kernels",
    "entries": [ { "spec": "specs/lstm.cell", "dims": { "I": 64, "H": 128 } },
                 { "spec": "specs/gru.cell", "dims": [{ "I": 8, "H": 16 }, { "I": 8, "H": 32 }],
                   "out": "gen/", "cell": "gru", "optimize": false, "target": "wasm",
                   "threads": 2, "format": "js" } ] }

Exit status: 0 built, 1 a spec has errors (or an output could not be written), 2 usage error,
70 internal error (a cellc bug).`;

export function usageFor(command: CommandName | "global"): string {
  if (command === "check") return checkUsage;
  if (command === "build") return buildUsage;
  return globalUsage;
}

// ---------- flags ----------

export interface ParsedCommand {
  command: CommandName;
  positionals: string[];
  /** Switches map to true; valued flags to their values in order. */
  flags: Map<string, string[] | true>;
}

export type Invocation =
  { kind: "help"; command: CommandName | "global" } | { kind: "version" } | { kind: "run"; parsed: ParsedCommand };

/** Splits argv (without node and the script) into a command and its flags; throws UsageError. */
export function parseInvocation(argv: readonly string[]): Invocation {
  const first = argv[0];
  if (first === undefined) throw new UsageError("missing command");
  if (first === "-h" || first === "--help") return { kind: "help", command: "global" };
  if (first === "--version" || first === "-v") return { kind: "version" };
  if (first === "help") {
    const topic = argv[1];
    if (topic === undefined) return { kind: "help", command: "global" };
    if (!isCommand(topic)) throw new UsageError(`unknown command '${topic}'`);
    return { kind: "help", command: topic };
  }
  if (first.startsWith("-")) throw new UsageError(`unknown option '${first}' (options go after the command)`);
  if (!isCommand(first)) throw new UsageError(`unknown command '${first}'`);
  const parsed = parseCommandFlags(first, argv.slice(1));
  if (parsed.flags.has("help")) return { kind: "help", command: first };
  return { kind: "run", parsed };
}

function isCommand(s: string): s is CommandName {
  return (commands as readonly string[]).includes(s);
}

function parseCommandFlags(command: CommandName, args: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseFlags(args, commandFlags[command], { positionals: true });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    const unknown = e.message.startsWith("unknown option");
    throw new UsageError(unknown ? `${e.message} for 'cellc ${command}'` : e.message, command);
  }
  const flags = new Map<string, string[] | true>();
  for (const [name, v] of parsed.values) flags.set(name, v === true ? true : Array.isArray(v) ? v : [v]);
  return { command, positionals: parsed.positionals, flags };
}

/** The single value of a valued flag, if given. */
export function flagValue(p: ParsedCommand, name: string): string | undefined {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

export function flagValues(p: ParsedCommand, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function flagSet(p: ParsedCommand, name: string): boolean {
  return p.flags.get(name) === true;
}

// ---------- --dims ----------

const sizeName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why `value` is not a valid size, or undefined when it is a positive integer. Shared by --dims
 * and the config file so both say the same thing.
 */
export function sizeValueProblem(value: string): string | undefined {
  if (value === "") return "needs a value (a positive integer)";
  if (!/^[0-9]+$/.test(value)) return `must be a positive integer, got '${value}'`;
  const n = Number(value);
  if (n === 0) return "must be a positive integer, got 0";
  if (!Number.isSafeInteger(n)) return `is too large (${value})`;
  return undefined;
}

export function isSizeName(name: string): boolean {
  return sizeName.test(name);
}

/**
 * Parses the values of every --dims flag into one binding: `["I=64,H=128", "P=32"]` gives
 * { I: 64, H: 128, P: 32 }. The same size bound twice to different values is an error.
 */
export function parseDims(values: readonly string[]): Record<string, number> {
  // No prototype: a size may be called toString or __proto__.
  const dims: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const value of values) {
    if (value.trim() === "") throw new UsageError("--dims needs NAME=N pairs, e.g. --dims I=64,H=128", "build");
    for (const raw of value.split(",")) {
      const item = raw.trim();
      const where = `--dims '${value}'`;
      if (item === "") throw new UsageError(`${where}: empty binding between commas`, "build");
      const eq = item.indexOf("=");
      if (eq < 0) throw new UsageError(`${where}: expected NAME=N, got '${item}'`, "build");
      const name = item.slice(0, eq).trim();
      const text = item.slice(eq + 1).trim();
      if (name === "") throw new UsageError(`${where}: missing the size name before '=' in '${item}'`, "build");
      if (!isSizeName(name)) throw new UsageError(`${where}: '${name}' is not a size name`, "build");
      const problem = sizeValueProblem(text);
      if (problem !== undefined) throw new UsageError(`${where}: ${name} ${problem}`, "build");
      const n = Number(text);
      const prev = dims[name];
      if (prev !== undefined && prev !== n) {
        throw new UsageError(`--dims binds ${name} twice (${prev} and ${n})`, "build");
      }
      dims[name] = n;
    }
  }
  return dims;
}

/** `{ I: 64, H: 128 }` as "I=64 H=128" (in the binding's own order). */
export function formatDims(dims: Readonly<Record<string, number>>): string {
  const parts = Object.entries(dims).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? "(no sizes)" : parts.join(" ");
}
