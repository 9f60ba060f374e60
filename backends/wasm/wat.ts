// Small helpers for writing WebAssembly text: the element type a module computes in (f32 in
// f32x4 vectors, or f64 in f64x2 for the float64 builds used by numerical checks) and a function
// builder that collects locals and indents the folded instructions it is given.

import { watString } from "./escape.ts";

export interface Elem {
  /** Scalar type: "f32" or "f64". */
  readonly s: "f32" | "f64";
  /** Vector shape: "f32x4" or "f64x2". */
  readonly v: "f32x4" | "f64x2";
  /** Bytes per element. */
  readonly bytes: 4 | 8;
  /** Elements per v128. */
  readonly lanes: 4 | 2;
  /** Lane width in bits, as lane load/store instructions name it ("32" or "64"). */
  readonly bits: "32" | "64";
  /** Multiply-adds as relaxed SIMD's fused f32x4.relaxed_madd / f64x2.relaxed_madd (one rounding
   *  where the hardware fuses; only engines with relaxed SIMD run such a module). */
  readonly fma?: boolean;
}

export const F32: Elem = { s: "f32", v: "f32x4", bytes: 4, lanes: 4, bits: "32" };
export const F64: Elem = { s: "f64", v: "f64x2", bytes: 8, lanes: 2, bits: "64" };

/** acc + a·b as a vector expression: fused (relaxed_madd) in a module built with FMA, else a
 *  multiply then an add (two roundings). */
export const madd = (e: Elem, a: string, b: string, acc: string) => (e.fma ? `(${e.v}.relaxed_madd ${a} ${b} ${acc})` : `(${e.v}.add ${acc} (${e.v}.mul ${a} ${b}))`);

/** A number as a WAT float literal (nan, inf, -inf or a decimal that round-trips). */
export function flt(c: number): string {
  if (Number.isNaN(c)) return "nan";
  if (!Number.isFinite(c)) return c > 0 ? "inf" : "-inf";
  if (Object.is(c, -0)) return "-0";
  return String(c);
}

/** A vector with every lane equal to c. */
export function splatConst(e: Elem, c: number): string {
  const x = flt(c);
  return `(v128.const ${e.v} ${Array(e.lanes).fill(x).join(" ")})`;
}

export type ValType = "i32" | "f32" | "f64" | "v128";

/** One WAT function: parameters, locals declared on first use, and its body lines. */
export class Fn {
  private readonly locals = new Map<string, ValType>();
  private readonly lines: string[] = [];
  private depth = 2;

  constructor(
    readonly name: string,
    readonly params: readonly [string, ValType][],
    readonly result?: ValType,
    readonly exportAs?: string,
  ) {}

  /** Declares (once) and returns `$name`. */
  local(name: string, type: ValType): string {
    const have = this.locals.get(name) ?? this.params.find((p) => p[0] === name)?.[1];
    if (have !== undefined && have !== type) throw new Error(`wasm: local $${name} declared as ${have} and ${type}`);
    if (have === undefined) this.locals.set(name, type);
    return `$${name}`;
  }

  /** Appends instructions (one folded expression or comment per line). */
  emit(...lines: string[]): this {
    for (const l of lines) this.lines.push("  ".repeat(this.depth) + l);
    return this;
  }

  comment(text: string): this {
    for (const l of text.split("\n")) this.emit(`;; ${l}`);
    return this;
  }

  /** Emits `open`, the body at one more level of indentation, then `)`. */
  nest(open: string, body: () => void): this {
    this.emit(open);
    this.depth++;
    body();
    this.depth--;
    this.emit(")");
    return this;
  }

  text(): string {
    const head = [`(func $${this.name}`];
    if (this.exportAs) head.push(`(export ${watString(this.exportAs)})`);
    for (const [n, t] of this.params) head.push(`(param $${n} ${t})`);
    if (this.result) head.push(`(result ${this.result})`);
    const locals = [...this.locals].map(([n, t]) => `    (local $${n} ${t})`);
    return [`  ${head.join(" ")}`, ...locals, ...this.lines, `  )`].join("\n");
  }
}

/** `(local.get $x)` */
export const get = (x: string) => `(local.get ${x})`;
/** `(local.set $x value)` */
export const set = (x: string, v: string) => `(local.set ${x} ${v})`;
/** `(i32.const n)` */
export const i32 = (n: number) => `(i32.const ${n})`;
/** x + n as an i32 expression (x itself when n is 0). */
export const addI = (x: string, n: number | string) => (n === 0 ? x : `(i32.add ${x} ${typeof n === "number" ? i32(n) : n})`);
/** x · n as an i32 expression. */
export const mulI = (x: string, n: number) => (n === 1 ? x : `(i32.mul ${x} ${i32(n)})`);

/** A float32 constant in all four lanes. */
export const f32x4Const = (c: number): string => splatConst(F32, c);

/** A WAT function of one f32x4 argument $x returning f32x4: its v128 locals, then its body. */
export const f32x4Function = (name: string, locals: string[], body: string[]): string =>
  [`  (func $${name} (param $x v128) (result v128)`, ...locals.map((l) => `    (local $${l} v128)`), ...body.map((l) => `    ${l}`), "  )"].join("\n");

/** c[0] + z·(c[1] + z·(...)) by Horner's rule over f32x4 lanes, z an expression. */
export function f32x4Horner(c: readonly number[], z: string): string {
  let p = f32x4Const(c[c.length - 1]!);
  for (let i = c.length - 2; i >= 0; i--) p = `(f32x4.add (f32x4.mul ${p} ${z}) ${f32x4Const(c[i]!)})`;
  return p;
}
