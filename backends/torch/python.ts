// Python source for data: strings and JSON-like values (the module's META) as Python literals.

import { pyNum } from "../../compiler/primitives/elementwise.ts";

/** A string as a Python literal (JSON's escapes are valid Python escapes). */
export function pyString(s: string): string {
  return JSON.stringify(s);
}

/** A JSON-like value as a Python literal: objects become dicts, true/false/null True/False/None. */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyNum(v);
  if (typeof v === "string") return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyString(k)}: ${pyLiteral(x)}`).join(", ")}}`;
  }
  throw new Error(`torch backend: no Python literal for ${typeof v}`);
}
