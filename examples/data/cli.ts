// Small shared pieces of the example programs: flag parsing with a usage message (node:util
// parseArgs and the help layout of cli/flags.ts, shared with cellc and the benchmark; a bad flag
// prints usage and exits 2, as every CLI of the project does), plain-text tables (studies/table.ts), and a guard
// that turns a thrown error into a one-line message instead of a stack trace.

import { FlagError, formatFlags, parseFlags as parseArgv, type FlagDefs } from "../../cli/flags.ts";

export type FlagType = "int" | "number" | "string" | "bool";

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: number | string | boolean;
}

export type FlagValues = Record<string, number | string | boolean | undefined>;

export class UsageError extends Error {
  override name = "UsageError";
}

/** The examples' flag table in cli/flags.ts's terms: numbers are strings checked here. */
function flagDefs(flags: Record<string, FlagSpec>): FlagDefs {
  const defs: FlagDefs = {};
  for (const [name, f] of Object.entries(flags)) {
    const def = f.default === undefined || f.type === "bool" ? "" : ` (default ${f.default})`;
    defs[name] = f.type === "bool" ? { type: "boolean", help: f.help } : { type: "string", arg: f.type === "string" ? "<value>" : "<n>", help: `${f.help}${def}` };
  }
  defs["help"] = { type: "boolean", short: "h", help: "show this message" };
  return defs;
}

/** Usage text: one line per flag with its default. */
export function usage(program: string, summary: string, flags: Record<string, FlagSpec>): string {
  return [`usage: ${program} [options]`, "", summary, "", "options:", formatFlags(flagDefs(flags))].join("\n");
}

/** Parses `--name value` / `--name=value` / `--flag`; throws UsageError on anything unknown or malformed. */
export function parseFlags(argv: readonly string[], flags: Record<string, FlagSpec>): FlagValues & { help?: boolean } {
  const out: FlagValues = {};
  for (const [name, f] of Object.entries(flags)) out[name] = f.default;
  let parsed;
  try {
    parsed = parseArgv(argv, flagDefs(flags));
  } catch (e) {
    if (e instanceof FlagError) throw new UsageError(e.message);
    throw e;
  }
  if (parsed.values.has("help")) return { ...out, help: true };
  for (const [name, raw] of parsed.values) {
    const f = flags[name]!;
    if (f.type === "bool" || typeof raw !== "string") {
      out[name] = true;
      continue;
    }
    if (f.type === "string") {
      out[name] = raw;
      continue;
    }
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
    if (f.type === "int" && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got '${raw}'`);
    out[name] = v;
  }
  return out;
}

/**
 * Runs an example's main: a UsageError prints the message and usage and exits 2; any other error
 * prints "<program>: <message>" and exits 1, without a stack trace (set CELLC_DEBUG=1 to see it).
 */
export async function runMain(program: string, usageText: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${program}: ${e.message}\n\n${usageText}\n`);
      process.exitCode = 2;
      return;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`${program}: ${err.message}\n`);
    if (process.env["CELLC_DEBUG"]) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}

export { table } from "../../studies/table.ts";

/** 12345 -> "12,345". */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** 0.98765 -> "98.8%". */
export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** "--H 8" or "--H lstm=8,rnn=16": a size for each named cell. */
export function perCell(value: string, cells: readonly string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (/^\d+$/.test(value.trim())) {
    for (const c of cells) out[c] = Number(value);
    return out;
  }
  for (const part of value.split(",")) {
    const m = /^\s*([\w.-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new UsageError(`--${flag} must be a number or name=number pairs, got '${value}'`);
    out[m[1]!] = Number(m[2]);
  }
  for (const c of cells) if (!(c in out)) throw new UsageError(`--${flag} gives no size for cell '${c}'`);
  for (const v of Object.values(out)) if (v < 1) throw new UsageError(`--${flag} sizes must be positive`);
  return out;
}
