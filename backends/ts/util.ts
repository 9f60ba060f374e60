// Small helpers of the TypeScript printer: property keys for the caller's names, and the row
// count of each row space as an expression.

import type { RowSpace } from "../../compiler/plan/types.ts";
import { tsString } from "./escape.ts";

/** A spec name as a key of an object literal: `__proto__` must be computed, or the literal would
 *  set the object's prototype instead of defining a property. */
export function key(name: string): string {
  if (name === "__proto__") return `["__proto__"]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : tsString(name);
}

/** A spec name as a property type in a type literal. */
export function typeKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && name !== "__proto__" ? name : tsString(name);
}

/** Stands for the element array type (Float32Array, or Float64Array in a float64 build) in the
 *  printed text until the module is complete. A spec name cannot contain "$", so replacing it then
 *  never touches a name of the spec (a size called Float32Array stays Float32Array). */
export const ARRAY = "Float$Array";

/** Rows of a buffer in a row space, as an expression over T and B. */
export function rowsExpr(rows: RowSpace): string {
  switch (rows) {
    case "seq":
      return "T * B";
    case "carry":
      return "(T + 1) * B";
    case "batch":
      return "B";
    case "none":
      return "1";
  }
}

const PROTO = new Set(["__proto__", "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "toString", "valueOf"]);

/** Reading property `name` of an object the module made or checked: `obj.name`, or `obj["name"]`
 *  for names that are not plain identifiers or that Object.prototype also has. */
export function prop(obj: string, name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !PROTO.has(name) ? `${obj}.${name}` : `${obj}[${tsString(name)}]`;
}

const isWord = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // [0-9A-Za-z_]

/** The words of `code` (`//` comments aside): each maximal run of [A-Za-z0-9_], or of
 *  [A-Za-z0-9_$] with `dollar`, and whether a `.` is right before it. No regular expression is
 *  built from a name (a name may be 40,000 characters long); linear in the length of `code`. */
function words(code: string, dollar: boolean): { word: string; dotted: boolean }[] {
  const text = code.replace(/\/\/.*$/gm, "");
  const inWord = (c: number) => isWord(c) || (dollar && c === 36);
  const out: { word: string; dotted: boolean }[] = [];
  for (let i = 0; i < text.length; ) {
    if (!inWord(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && inWord(text.charCodeAt(j))) j++;
    out.push({ word: text.slice(i, j), dotted: i > 0 && text[i - 1] === "." });
    i = j;
  }
  return out;
}

/** The names `code` mentions anywhere (`//` comments aside), as `\bname\b` would find them. */
export function wordsIn(code: string): Set<string> {
  return new Set(words(code, false).map((w) => w.word));
}

/** True when `code` (comments aside) reads the identifier `name` (not as a property, `.name`). */
export function uses(code: string, name: string): boolean {
  return words(code, true).some((w) => w.word === name && !w.dotted);
}

/** `function name(a: A, b: B): R {`, with `_` before each parameter that `body` never reads, as
 *  noUnusedParameters asks (a cell without inputs never reads T in some helpers). */
export function functionHead(name: string, params: readonly (readonly [string, string])[], ret: string, body: string): string {
  const list = params.map(([p, type]) => `${uses(body, p) ? p : `_${p}`}: ${type}`);
  return `function ${name}(${list.join(", ")}): ${ret} {`;
}
