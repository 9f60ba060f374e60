// The `cellc.config.json` file: a project lists the kernels it needs (spec, sizes, where to write
// them) so `cellc build` can run as a build step. This file reads and validates it; every problem
// is a ConfigError naming the file, the entry and the field, never a half-applied config.
//
// {
//   "out": "src/kernels",                       // optional default for entries
//   "optimize": true,                           // optional, default true
//   "target": "wasm",                           // optional backend, default "ts"
//   "threads": 2,                               // optional, wasm modules: threads per call (1)
//   "fma": "auto",                              // optional, wasm modules: fused multiply-add (auto|on|off)
//   "entries": [
//     { "spec": "specs/lstm.cell", "dims": { "I": 64, "H": 128 } },
//     { "spec": "specs/gru.cell", "dims": [{ "I": 8, "H": 16 }, { "I": 8, "H": 32 }], "out": "gen/" },
//     { "spec": "specs/lstmp.cell", "dims": { "I": 8, "H": 16, "P": 4 }, "out": "gen/lstmp.ts", "cell": "lstmp" }
//   ]
// }
//
// Paths are relative to the config file. "out" ending in ".ts" names one file (the entry must
// then produce exactly one module); anything else is a directory. The shape is the zod schema in
// config-schema.ts, which the build also writes as a JSON Schema for editors ("$schema").

import { statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import jsonc, { type ParseError } from "jsonc-parser";
import { describeFsError, readTextFile } from "../compiler/read-text.ts";
import { BACKENDS } from "../backends/index.ts";
import { validateConfig } from "./config-schema.ts";
import type { FmaMode } from "../compiler/api-types.ts";

export const defaultConfigName = "cellc.config.json";

/** The largest config file cellc reads (1 MiB: thousands of entries). */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Where one entry's modules go. */
export type OutTarget = { kind: "dir"; path: string } | { kind: "file"; path: string };

export interface ConfigEntry {
  /** Position in "entries", for messages. */
  index: number;
  /** Absolute path of the spec. */
  spec: string;
  /** One binding per module set; `[{}]` when the entry gives no dims. */
  bindings: Record<string, number>[];
  out: OutTarget;
  cell?: string;
  optimize: boolean;
  /** The backend; absent: TypeScript. */
  target?: string;
  /** WebAssembly modules: the threads a call runs on by default. */
  threads?: number;
  /** WebAssembly modules: fused multiply-add in the matrix products ("auto" when absent). */
  fma?: FmaMode;
  /** TypeScript-module targets: "ts" or "js" ("format", or an "out" ending in .js); absent: from
   *  the output's project (cli/format.ts). */
  format?: "ts" | "js";
}

export interface CellcConfig {
  /** Absolute path of the config file. */
  file: string;
  entries: ConfigEntry[];
}

/** A config that cannot be used; the message names the file and the offending field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function loadConfig(path: string): CellcConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readTextFile(file, MAX_CONFIG_BYTES, "a config file");
  } catch (e) {
    throw new ConfigError(`cannot read config '${path}': ${describeFsError(e)}`);
  }
  return parseConfig(text, file, path);
}

/**
 * Validates config text. `file` is its absolute path (the base for relative paths); `shown` is
 * how messages name it. Spec files must exist.
 */
export function parseConfig(text: string, file: string, shown = file): CellcConfig {
  // Editors on Windows save JSON with a byte-order mark; JSON.parse refuses it.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(jsonProblem(text, shown, e));
  }
  const fail = (where: string, problem: string): never => {
    throw new ConfigError(`${shown}: ${where}: ${problem}`);
  };
  // The shape first (config-schema.ts), then what a schema cannot say.
  const valid = validateConfig(json);
  if (!valid.ok) return fail(valid.where, valid.problem);
  const config = valid.value;
  const base = dirname(file);
  const defaultOptimize = config.optimize ?? true;

  const out: ConfigEntry[] = config.entries.map((raw, index) => {
    const at = `entries[${index}]`;
    const specPath = resolve(base, raw.spec);
    const kind = fileKind(specPath);
    if (kind === "missing") fail(`${at}.spec`, `no such file '${raw.spec}' (looked for ${shownPath(specPath)})`);
    else if (kind === "directory") fail(`${at}.spec`, `'${raw.spec}' is a directory; name one .cell file`);
    else if (kind !== "file") fail(`${at}.spec`, `'${raw.spec}' is ${kind}, not a regular file`);

    // The dims as written (zod's copy drops a key named __proto__).
    const written = (json as { entries: { dims?: unknown }[] }).entries[index]!.dims as Record<string, unknown> | Record<string, unknown>[] | undefined;
    const list = written === undefined ? [{}] : Array.isArray(written) ? written : [written];
    // No prototype: a size may be called toString or __proto__.
    const bindings = list.map((b) => {
      const dims: Record<string, number> = Object.create(null) as Record<string, number>;
      for (const [name, value] of Object.entries(b)) dims[name] = Number(value);
      return dims;
    });

    const outRaw = raw.out ?? config.out;
    if (outRaw === undefined) return fail(`${at}.out`, `is missing (give "out" here or at the top level)`);
    const outPath = resolve(base, outRaw);
    const backend = raw.target ?? config.target;
    const extension = BACKENDS.get(backend ?? "ts")!.extension;
    // A target that prints TypeScript can write JavaScript: an "out" ending in .js names one file.
    // The top-level "format" is for the entries whose target prints TypeScript; an entry's own is
    // an error on any other target.
    const format = extension === "ts" ? (raw.format ?? config.format) : undefined;
    const jsFile = extension === "ts" && outRaw.endsWith(".js");
    if (raw.format !== undefined && extension !== "ts") {
      fail(`${at}.format`, `is for targets that print TypeScript modules (ts, wasm); this entry's target is "${backend}"`);
    }
    if (jsFile && format === "ts") fail(`${at}.out`, `names a .js file ('${outRaw}') but "format" is "ts"; name a .ts file or set "format": "js"`);
    if (format === "js" && outRaw.endsWith(".ts")) fail(`${at}.out`, `names a .ts file ('${outRaw}') but "format" is "js"; name a .js file or a directory`);
    const target: OutTarget = outRaw.endsWith(`.${extension}`) || jsFile ? { kind: "file", path: outPath } : { kind: "dir", path: outPath };
    if (target.kind === "file" && bindings.length > 1) {
      fail(`${at}.out`, `names one file ('${outRaw}') but "dims" lists ${bindings.length} bindings; use a directory`);
    }
    const entry: ConfigEntry = { index, spec: specPath, bindings, out: target, optimize: raw.optimize ?? defaultOptimize };
    if (backend !== undefined) entry.target = backend;
    // The top-level value is for the wasm entries; an entry's own is an error on any other target.
    if (raw.threads !== undefined && backend !== "wasm") fail(`${at}.threads`, `is for WebAssembly modules; this entry's target is "${backend ?? "ts"}" (set "target": "wasm")`);
    const threads = raw.threads ?? config.threads;
    if (threads !== undefined && backend === "wasm") entry.threads = threads;
    if (raw.fma !== undefined && backend !== "wasm") fail(`${at}.fma`, `is for WebAssembly modules; this entry's target is "${backend ?? "ts"}" (set "target": "wasm")`);
    const fma = raw.fma ?? config.fma;
    if (fma !== undefined && backend === "wasm") entry.fma = fma;
    if (raw.cell !== undefined) entry.cell = raw.cell;
    if (format !== undefined) entry.format = format;
    else if (jsFile) entry.format = "js";
    return entry;
  });
  return { file, entries: out };
}

/** What is at `p`, without opening it (opening a FIFO would block). */
function fileKind(p: string): "missing" | "file" | "directory" | string {
  let st;
  try {
    st = statSync(p);
  } catch {
    return "missing";
  }
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return st.isSocket() ? "a socket" : "something else";
}

/** Phrases for jsonc-parser's error codes (by name: the enum is const and not importable). */
const jsonErrors: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: "expected the end of the file after the value",
  InvalidCommentToken: "comments are not allowed in JSON",
  UnexpectedEndOfComment: "unterminated comment (comments are not allowed in JSON)",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "unterminated number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape in a string",
  InvalidCharacter: "a control character in a string (write it escaped, e.g. \\n)",
};

/**
 * "file:line:col: not valid JSON: what" with the line and a caret. JSON.parse (on Node 20) does
 * not say where; jsonc-parser, in strict mode, finds the first error's offset.
 */
function jsonProblem(text: string, shown: string, e: unknown): string {
  const errors: ParseError[] = [];
  jsonc.parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return `${shown}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
  const before = text.slice(0, first.offset);
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const col = first.offset - lineStart + 1;
  const lineEnd = text.indexOf("\n", lineStart);
  const lineText = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd).replace(/\r$/, "");
  const what = jsonErrors[jsonc.printParseErrorCode(first.error)] ?? "syntax error";
  const frame = lineText.length <= 200 ? `\n  ${lineText.replace(/\t/g, " ")}\n  ${" ".repeat(col - 1)}^` : "";
  return `${shown}:${line}:${col}: not valid JSON: ${what}${frame}`;
}

/** A path as the user would like to read it: relative to the cwd when under it. */
export function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel === "" ? "." : rel.startsWith("..") || rel.startsWith("/") ? abs : rel;
}
