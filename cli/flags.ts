// Flag parsing for every command line of the project (cellc, the examples, the benchmark): a table
// of flags read by node:util's parseArgs (strict: an unknown or malformed flag is an error), its
// errors reworded as one short line, and the table printed as aligned help. A program supplies the
// table, checks the values' meaning, and prints its usage with the line when a FlagError comes.

import { parseArgs } from "node:util";

export interface FlagDef {
  type: "string" | "boolean";
  short?: string;
  /** May be given more than once; the values are kept in order. */
  multiple?: boolean;
  /** The value's name in help, e.g. "DIR" (default "VALUE"). */
  arg?: string;
  /** One line (or a few, joined with "\n") for the help. */
  help: string;
}

export type FlagDefs = Record<string, FlagDef>;

/** A flag that cannot be parsed; the message is one line naming it. */
export class FlagError extends Error {
  override name = "FlagError";
}

export interface ParsedFlags {
  /** Flag name -> true (a switch), its value, or its values in order (a `multiple` flag). */
  values: Map<string, string | string[] | true>;
  positionals: string[];
}

/** Reads `argv` against `defs`; throws FlagError for an unknown flag, a missing or unwanted
 *  value, a flag given twice that takes one value, or a positional where none is allowed. */
export function parseFlags(argv: readonly string[], defs: FlagDefs, opts: { positionals?: boolean } = {}): ParsedFlags {
  const options = Object.fromEntries(
    Object.entries(defs).map(([name, d]) => [name, { type: d.type, multiple: d.multiple ?? false, ...(d.short ? { short: d.short } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: opts.positionals ?? false, tokens: true });
  } catch (e) {
    throw new FlagError(reword(e, defs));
  }
  const values = new Map<string, string | string[] | true>();
  for (const t of parsed.tokens) {
    if (t.kind !== "option") continue;
    const d = defs[t.name]!;
    if (d.type === "boolean") {
      values.set(t.name, true);
      continue;
    }
    const value = t.value ?? "";
    const prev = values.get(t.name);
    if (d.multiple) values.set(t.name, [...(Array.isArray(prev) ? prev : []), value]);
    else if (prev !== undefined) throw new FlagError(`--${t.name} is given more than once`);
    else values.set(t.name, value);
  }
  return { values, positionals: parsed.positionals };
}

/** parseArgs' error as one line: `unknown option '--fast'`, `--out needs a value`. */
function reword(e: unknown, defs: FlagDefs): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? "";
  // parseArgs names an option as '-o, --out <value>'; the long name is what users read.
  const long = /--([\w-]+)/.exec(quoted)?.[1] ?? Object.keys(defs).find((n) => defs[n]!.short === quoted.replace(/^-/, "")) ?? quoted;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option '${quoted}'`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument '${quoted}'`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return /does not take an argument/.test(message) ? `--${long} takes no value` : `--${long} needs a value`;
  }
  return message.split("\n")[0]!;
}

/** The flags as aligned help lines: `  -o, --out DIR    Where to write ...`. */
export function formatFlags(defs: FlagDefs, indent = 2): string {
  const heads = Object.entries(defs).map(([name, d]) => {
    const short = d.short ? `-${d.short}, ` : "";
    return `${short}--${name}${d.type === "string" ? ` ${d.arg ?? "VALUE"}` : ""}`;
  });
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  return Object.values(defs)
    .flatMap((d, i) =>
      d.help.split("\n").map((line, j) => `${" ".repeat(indent)}${(j === 0 ? heads[i]! : "").padEnd(width)}${line}`.trimEnd()),
    )
    .join("\n");
}
