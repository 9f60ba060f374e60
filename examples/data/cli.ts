// Small shared pieces of the example programs: flag parsing with a usage message (a bad flag
// prints usage and exits 2, as every CLI of the project does), plain-text tables, and a guard
// that turns a thrown error into a one-line message instead of a stack trace.

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

/** Usage text: one line per flag with its default. */
export function usage(program: string, summary: string, flags: Record<string, FlagSpec>): string {
  const lines = [`usage: ${program} [options]`, "", summary, "", "options:"];
  const width = Math.max(...Object.keys(flags).map((n) => n.length + 8));
  for (const [name, f] of Object.entries(flags)) {
    const arg = f.type === "bool" ? `--${name}` : `--${name} <${f.type === "string" ? "value" : "n"}>`;
    const def = f.default === undefined || f.type === "bool" ? "" : ` (default ${f.default})`;
    lines.push(`  ${arg.padEnd(width + 4)} ${f.help}${def}`);
  }
  lines.push(`  ${"--help".padEnd(width + 4)} show this message`);
  return lines.join("\n");
}

/** Parses `--name value` / `--name=value` / `--flag`; throws UsageError on anything unknown or malformed. */
export function parseFlags(argv: readonly string[], flags: Record<string, FlagSpec>): FlagValues & { help?: boolean } {
  const out: FlagValues = {};
  for (const [name, f] of Object.entries(flags)) out[name] = f.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return { ...out, help: true };
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument: ${arg}`);
    const name = m[1]!;
    const f = flags[name];
    if (!f) throw new UsageError(`unknown option: --${name}`);
    if (f.type === "bool") {
      if (m[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
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

/** A plain-text table; columns whose cells all look numeric are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d,.]+(%|s| ?ms)?$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

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
