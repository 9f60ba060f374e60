// Boundary checks every generated TypeScript module carries (inlined from here; tests import
// them). A wrong argument is a RangeError that names the kernel, the function, the argument and
// what was expected — never a silent misread: unknown keys are errors (a typo in a gradient's
// name would otherwise read as zeros), and keys are read as own properties only, so names such
// as `constructor` or `__proto__` are ordinary keys. The facts these checks apply (describe,
// MAX_THREADS, the option keys) live in abi/checks.ts, whose text every module carries ahead of
// this file's.

import { describe, MAX_THREADS } from "../../../abi/checks.ts";

/** Provided by each generated module. */
declare const meta: { readonly name: string; readonly states: readonly { readonly name: string; readonly size: number }[] };

// ---- inline from here

/** Inputs, states or outputs as meta lists them. */
export type Named = readonly { readonly name: string; readonly size: number }[];

export function fail(where: string, message: string): never {
  throw new RangeError(`${meta.name}.${where}: ${message}`);
}

/** The own property `key` of `o` (never one inherited from Object.prototype). */
export function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/** `v` must be a plain object whose keys are all in `allowed`. */
export function checkObject(where: string, name: string, v: unknown, allowed: readonly string[]): object {
  if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) fail(where, `${name} must be an object, got ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (allowed.includes(k)) continue;
    const valid = allowed.length > 0 ? `valid keys: ${allowed.join(", ")}` : "it takes no keys";
    fail(where, `${name} has an unknown key ${JSON.stringify(k)} (${valid})`);
  }
  return v;
}

/** `v` must be a Float32Array of exactly n elements; `layout` says how n is made up. */
export function checkArray(where: string, name: string, v: unknown, n: number, layout: string): Float32Array {
  if (!(v instanceof Float32Array)) fail(where, `${name} must be a Float32Array of length ${n} (${layout}), got ${describe(v)}`);
  if (v.length !== n) fail(where, `${name} has length ${v.length}, expected ${n} (${layout})`);
  return v;
}

/** The array at `obj[key]` when present (undefined when absent), checked as checkArray. */
export function optionalArray(where: string, obj: object | undefined, name: string, key: string, n: number, layout: string): Float32Array | undefined {
  const v = obj === undefined ? undefined : own(obj, key);
  return v === undefined ? undefined : checkArray(where, `${name}.${key}`, v, n, layout);
}

export function checkCount(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(where, `${name} must be a positive integer, got ${describe(v)}`);
  return v;
}

/** The `threads` option: absent, or a whole number of worker threads from 1 to MAX_THREADS. */
export function checkThreads(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_THREADS) fail(where, `options.threads must be a whole number from 1 to ${MAX_THREADS}, got ${describe(v)}`);
  return v;
}

export function checkBatchSize(where: string, v: unknown): number {
  return checkCount(where, "batchSize", v);
}

/** Per-sample lengths as the per-step flags `active[t·B + b]` = 1 while t < lengths[b]. */
export function checkLengths(where: string, v: unknown, B: number, T: number, active: Float32Array): void {
  if (v === undefined) {
    active.fill(1);
    return;
  }
  if (typeof v !== "object" || v === null || typeof (v as ArrayLike<number>).length !== "number") {
    fail(where, `options.lengths must be an array of ${B} lengths, got ${describe(v)}`);
  }
  const a = v as ArrayLike<unknown>;
  if (a.length !== B) fail(where, `options.lengths has ${a.length} entries, expected batchSize ${B}`);
  for (let b = 0; b < B; b++) {
    const n = a[b];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > T) fail(where, `options.lengths[${b}] must be an integer from 0 to timeSteps ${T}, got ${describe(n)}`);
    for (let t = 0; t < T; t++) active[t * B + b] = t < n ? 1 : 0;
  }
}

/** The number of steps in an input sequence of `batchSize × n` per step. */
export function inferSteps(where: string, v: unknown, B: number, n: number, name: string): number {
  if (!(v instanceof Float32Array)) fail(where, `${name} must be a Float32Array of timeSteps × batchSize × ${n}, got ${describe(v)}`);
  const per = B * n;
  if (v.length === 0 || v.length % per !== 0) fail(where, `${name} has length ${v.length}, not a positive multiple of batchSize ${B} × ${n} = ${per}`);
  return v.length / per;
}

/** An optional flag: undefined, true or false. */
export function checkFlag(where: string, name: string, v: unknown): boolean | undefined {
  if (v !== undefined && typeof v !== "boolean") fail(where, `${name} must be true or false, got ${describe(v)}`);
  return v;
}

/** `v` (when given) must be an object whose keys are among `allowed`. */
export function optionalObject(where: string, name: string, v: unknown, allowed: readonly string[]): object | undefined {
  return v === undefined ? undefined : checkObject(where, name, v, allowed);
}

/** The arrays `obj[item.name]` for each item, in order: timeSteps × batchSize × size floats each
 *  (batchSize × size when T is 0). Required ones must be present; optional ones may be absent. */
export function checkArrays(where: string, name: string, obj: object | undefined, items: Named, T: number, B: number, required: boolean): (Float32Array | undefined)[] {
  return items.map((it) => {
    const v = obj === undefined ? undefined : own(obj, it.name);
    if (v === undefined && !required) return undefined;
    const layout = `${T > 0 ? `timeSteps ${T} × ` : ""}batchSize ${B} × ${it.size}`;
    return checkArray(where, `${name}.${it.name}`, v, (T || 1) * B * it.size, layout);
  });
}

/** The per-state arrays of options[key] (initialState, stateMasks, dFinalState): [batchSize, n]
 *  each, in the order of meta.states, undefined where absent. */
export function stateOption(where: string, options: object, key: string, B: number): (Float32Array | undefined)[] {
  const name = `options.${key}`;
  const states: Named = meta.states;
  const obj = optionalObject(where, name, own(options, key), states.map((s) => s.name));
  return checkArrays(where, name, obj, states, 0, B, false);
}
