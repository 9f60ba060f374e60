// Emits the loops of one IR equation over a batch. Where each value lives (which array, which
// offset for sample b) is the caller's Layout; this file knows only how each op computes.

import { isConst, type Eqn, type Graph, type Operand, type ValueId } from "./ir.ts";

export interface Slot {
  /** Identifier of the Float32Array holding the value. */
  arr: string;
  /** Offset of sample `b`'s vector, as code; "0" for batch-independent values (parameters). */
  base: string;
}

export type Layout = (v: ValueId) => Slot;

/** A numeric literal as code. */
export function lit(c: number): string {
  if (Number.isNaN(c)) return "NaN";
  if (!Number.isFinite(c)) return c > 0 ? "Infinity" : "-Infinity";
  const s = String(c);
  return c < 0 || Object.is(c, -0) ? `(${s})` : s;
}

/** The formula of an elementwise unary op applied to the identifier `x`. */
function unaryFormula(op: string, x: string, e: Eqn): string {
  switch (op) {
    case "neg":
      return `-${x}`;
    case "copy":
      return x;
    case "sigmoid":
      return `1 / (1 + Math.exp(-${x}))`;
    case "tanh":
      return `Math.tanh(${x})`;
    case "relu":
      return `${x} > 0 ? ${x} : 0`;
    case "exp":
      return `Math.exp(${x})`;
    case "log":
      return `Math.log(${x})`;
    case "softsign":
      return `${x} / (1 + Math.abs(${x}))`;
    case "softplus":
      return `${x} > 20 ? ${x} : Math.log1p(Math.exp(${x}))`;
    case "sqrt":
      return `Math.sqrt(${x})`;
    case "abs":
      return `Math.abs(${x})`;
    case "sign":
      return `Math.sign(${x})`;
    case "heaviside":
      return `${x} > 0 ? 1 : 0`;
    case "clip": {
      const { lo, hi } = e as Extract<Eqn, { op: "clip" }>;
      return `${x} < ${lit(lo)} ? ${lit(lo)} : ${x} > ${lit(hi)} ? ${lit(hi)} : ${x}`;
    }
    case "between": {
      const { lo, hi } = e as Extract<Eqn, { op: "between" }>;
      return `${x} > ${lit(lo)} && ${x} < ${lit(hi)} ? 1 : 0`;
    }
    default:
      throw new Error(`emit: no formula for ${op}`);
  }
}

const BINARY: Record<string, string> = { add: "+", sub: "-", mul: "*", div: "/" };

export class EqnEmitter {
  private offsets = 0;

  constructor(
    private readonly g: Graph,
    private readonly layout: Layout,
    /** Identifier of the gradient array of a parameter (for sinks). */
    private readonly gradOf: (param: ValueId) => string,
  ) {}

  private size(v: ValueId): number {
    const s = this.g.values[v]!.shape;
    return s[s.length - 1]!;
  }

  /** Emits the equation as statements. */
  emit(e: Eqn): string {
    const lines: string[] = [];
    const offs: string[] = [];
    const bases = new Map<string, string>();
    // Per-sample offsets of every operand, hoisted out of the inner loops.
    const at = (v: ValueId): string => {
      const slot = this.layout(v);
      if (slot.base === "0") return "";
      let name = bases.get(slot.base);
      if (!name) {
        name = `o${this.offsets++}`;
        bases.set(slot.base, name);
        offs.push(`const ${name} = ${slot.base};`);
      }
      return `${name} + `;
    };
    const elem = (o: Operand, idx: string): string => (isConst(o) ? lit(o.c) : `${this.layout(o.v).arr}[${at(o.v)}${idx}]`);
    const out = "out" in e ? e.out : undefined;
    const dst = (idx: string) => `${this.layout(out!).arr}[${at(out!)}${idx}]`;

    const body = (): string => {
      switch (e.op) {
        case "add":
        case "sub":
        case "mul":
        case "div": {
          const [a, b] = e.args;
          return `for (let j = 0; j < ${this.size(out!)}; j++) ${dst("j")} = ${elem(a, "j")} ${BINARY[e.op]} ${elem(b, "j")};`;
        }
        case "matvec": {
          const [A, v] = e.args as [{ v: ValueId }, Operand];
          const [M, N] = this.g.values[A.v]!.shape as [number, number];
          const a = this.layout(A.v).arr;
          return `for (let row = 0; row < ${M}; row++) { let acc = 0; const base = row * ${N}; for (let k = 0; k < ${N}; k++) acc += ${a}[base + k] * ${elem(v, "k")}; ${dst("row")} = acc; }`;
        }
        case "matvecT": {
          const [A, u] = e.args as [{ v: ValueId }, Operand];
          const [M, N] = this.g.values[A.v]!.shape as [number, number];
          const a = this.layout(A.v).arr;
          return `for (let k = 0; k < ${N}; k++) ${dst("k")} = 0; for (let row = 0; row < ${M}; row++) { const acc = ${elem(u, "row")}; const base = row * ${N}; for (let k = 0; k < ${N}; k++) ${dst("k")} += ${a}[base + k] * acc; }`;
        }
        case "acc_outer": {
          const [u, v] = e.args;
          const [M, N] = this.g.values[e.param]!.shape as [number, number];
          const gp = this.gradOf(e.param);
          return `for (let row = 0; row < ${M}; row++) { const acc = ${elem(u, "row")}; const base = row * ${N}; for (let k = 0; k < ${N}; k++) ${gp}[base + k] += acc * ${elem(v, "k")}; }`;
        }
        case "acc": {
          const gp = this.gradOf(e.param);
          return `for (let j = 0; j < ${this.size(e.param)}; j++) ${gp}[j] += ${elem(e.args[0], "j")};`;
        }
        case "concat": {
          let off = 0;
          return e.args
            .map((a) => {
              const n = isConst(a) ? 1 : this.size(a.v);
              const s = `for (let j = 0; j < ${n}; j++) ${dst(`${off} + j`)} = ${elem(a, "j")};`;
              off += n;
              return s;
            })
            .join("\n");
        }
        case "slice":
          return `for (let j = 0; j < ${this.size(out!)}; j++) ${dst("j")} = ${elem(e.args[0], `${e.lo} + j`)};`;
        case "pad": {
          const n = this.size(out!);
          const m = isConst(e.args[0]) ? 1 : this.size((e.args[0] as { v: ValueId }).v);
          return `for (let j = 0; j < ${n}; j++) ${dst("j")} = 0; for (let j = 0; j < ${m}; j++) ${dst(`${e.lo} + j`)} = ${elem(e.args[0], "j")};`;
        }
        case "sum":
          return `{ let acc = 0; for (let j = 0; j < ${this.size((e.args[0] as { v: ValueId }).v)}; j++) acc += ${elem(e.args[0], "j")}; ${dst("0")} = acc; }`;
        case "bcast":
          return `{ const acc = ${elem(e.args[0], "0")}; for (let j = 0; j < ${this.size(out!)}; j++) ${dst("j")} = acc; }`;
        case "zeros":
          return `for (let j = 0; j < ${this.size(out!)}; j++) ${dst("j")} = 0;`;
        default: {
          // elementwise unary
          const x = elem(e.args[0] as Operand, "j");
          return `for (let j = 0; j < ${this.size(out!)}; j++) { const val = ${x}; ${dst("j")} = ${unaryFormula(e.op, "val", e)}; }`;
        }
      }
    };
    const inner = body();
    lines.push(`for (let b = 0; b < B; b++) {`, ...offs, inner, `}`);
    this.offsets = 0;
    return lines.join("\n");
  }
}
