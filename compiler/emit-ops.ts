// Emits the code of one scheduled item (a fused elementwise group, a GEMM, a copy) for R rows
// starting at row `tb` (both in scope as variables). Where each value lives comes from the
// schedule's storage; this file knows only how each op computes.

import { isConst, width, type Eqn, type Graph, type Operand, type ValueId } from "./ir.ts";
import type { Item, Storage } from "./schedule.ts";

/** A numeric literal as code. */
export function lit(c: number): string {
  if (Number.isNaN(c)) return "NaN";
  if (!Number.isFinite(c)) return c > 0 ? "Infinity" : "-Infinity";
  const s = String(c);
  return c < 0 || Object.is(c, -0) ? `(${s})` : s;
}

/** The formula of an elementwise op over scalar expressions. */
function formula(e: Eqn, a: string[], fast: boolean): string {
  const [x, y] = a as [string, string];
  switch (e.op) {
    case "add":
      return `${x} + ${y}`;
    case "sub":
      return `${x} - ${y}`;
    case "mul":
      return `${x} * ${y}`;
    case "div":
      return `${x} / ${y}`;
    case "neg":
      return `-${x}`;
    case "copy":
      return x;
    case "sigmoid":
      return fast ? `fsigmoid(${x})` : `1 / (1 + Math.exp(-${x}))`;
    case "tanh":
      return fast ? `ftanh(${x})` : `Math.tanh(${x})`;
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
    case "clip":
      return `${x} < ${lit(e.lo)} ? ${lit(e.lo)} : ${x} > ${lit(e.hi)} ? ${lit(e.hi)} : ${x}`;
    case "between":
      return `${x} > ${lit(e.lo)} && ${x} < ${lit(e.hi)} ? 1 : 0`;
    default:
      throw new Error(`emit: ${e.op} is not elementwise`);
  }
}

/** Code for the offset of row `b` of a stored value (in scope: tb, the phase's first row). */
export function rowBase(s: Storage, b = "b"): string {
  const off = s.offset ? ` + ${s.offset}` : "";
  if (s.row === "rows") return `(tb + ${b}) * ${s.stride}${off}`;
  if (s.row === "step") return `${b} * ${s.stride}${off}`;
  return String(s.offset);
}

export interface OpContext {
  g: Graph;
  storage: ReadonlyMap<ValueId, Storage>;
  scalars: ReadonlySet<ValueId>;
  /** Identifier of a buffer (by the value that owns it) or of a parameter array. */
  arr: (buffer: ValueId) => string;
  /** Identifier of the scalar holding a value inside a fused loop. */
  scalar: (v: ValueId) => string;
  /** Identifier of a parameter's (or a pack's) gradient array. */
  grad: (weight: ValueId) => string;
  /** Use the module's fast sigmoid and tanh (optimised builds). */
  fastMath: boolean;
  /** For products run at every step: a panel slot per weight, so its packing is reused. */
  slot: (weight: ValueId, transposed: boolean) => number;
}


export class OpEmitter {
  constructor(private readonly c: OpContext) {}

  private st(v: ValueId): Storage {
    const s = this.c.storage.get(v);
    if (!s) throw new Error(`emit: ${this.c.g.values[v]!.name} has no storage`);
    return s;
  }

  /** Offset of row `b` of v. */
  private base(v: ValueId): string {
    return rowBase(this.st(v));
  }

  /** Offset of the first row of v in this phase. */
  private base0(v: ValueId): string {
    const s = this.st(v);
    const off = s.offset ? ` + ${s.offset}` : "";
    if (s.row === "rows") return `tb * ${s.stride}${off}`;
    return String(s.offset);
  }

  private rowStride(v: ValueId): number {
    const s = this.st(v);
    return s.row === "none" ? 0 : s.stride;
  }

  private arrOf(v: ValueId): string {
    return this.c.arr(this.st(v).buffer);
  }

  emit(it: Item): string {
    return it.kind === "group" ? this.group(it.eqns, it.size) : this.single(it.eqn);
  }

  /** Elementwise equations of one size as one loop; intermediate results stay in registers. */
  private group(eqns: Eqn[], n: number): string {
    const produced = new Set<ValueId>(eqns.map((e) => (e as { out: ValueId }).out));
    const offsets = new Map<string, string>();
    const offs: string[] = [];
    const offsetOf = (v: ValueId): string => {
      const s = this.st(v);
      if (s.row === "none") return s.offset ? `${s.offset} + ` : "";
      const expr = this.base(v);
      let name = offsets.get(expr);
      if (!name) {
        name = `o${offsets.size}`;
        offsets.set(expr, name);
        offs.push(`const ${name} = ${expr};`);
      }
      return `${name} + `;
    };
    const loads: string[] = [];
    const loaded = new Set<ValueId>();
    const body: string[] = [];
    const operand = (o: Operand): string => {
      if (isConst(o)) return lit(o.c);
      if (!produced.has(o.v) && !loaded.has(o.v)) {
        loaded.add(o.v);
        loads.push(`const ${this.c.scalar(o.v)} = ${this.arrOf(o.v)}[${offsetOf(o.v)}j];`);
      }
      return this.c.scalar(o.v);
    };
    for (const e of eqns) {
      const out = (e as { out: ValueId }).out;
      const args = e.args.map(operand);
      body.push(`const ${this.c.scalar(out)} = ${formula(e, args, this.c.fastMath)};`);
      if (!this.c.scalars.has(out)) body.push(`${this.arrOf(out)}[${offsetOf(out)}j] = ${this.c.scalar(out)};`);
    }
    return [`for (let b = 0; b < R; b++) {`, ...offs, `for (let j = 0; j < ${n}; j++) {`, ...loads, ...body, `}`, `}`].join("\n");
  }

  /** Copies value v into row b of `to` (a storage of the same width) — for concat parts. */
  private copyRows(src: Operand, dst: ValueId, dstOff: number, n: number): string {
    const dBase = `${this.base(dst)}${dstOff ? ` + ${dstOff}` : ""}`;
    const read = isConst(src) ? lit(src.c) : `${this.arrOf(src.v)}[${this.base(src.v)} + j]`;
    return `for (let b = 0; b < R; b++) for (let j = 0; j < ${n}; j++) ${this.arrOf(dst)}[${dBase} + j] = ${read};`;
  }

  private single(e: Eqn): string {
    const c = this.c;
    const g = c.g;
    switch (e.op) {
      case "matvec": {
        const [W, v] = e.args as [{ v: ValueId }, { v: ValueId }];
        const [M, K] = g.values[W.v]!.shape as [number, number];
        return `gemm(R, ${M}, ${K}, ${this.arrOf(v.v)}, ${this.base0(v.v)}, ${this.rowStride(v.v)}, 1, ${this.arrOf(W.v)}, 0, ${K}, 1, ${this.arrOf(e.out)}, ${this.base0(e.out)}, ${this.rowStride(e.out)}, false, ${c.slot(W.v, false)});`;
      }
      case "matvecT": {
        const [W, u] = e.args as [{ v: ValueId }, { v: ValueId }];
        const [M, K] = g.values[W.v]!.shape as [number, number];
        return `gemm(R, ${K}, ${M}, ${this.arrOf(u.v)}, ${this.base0(u.v)}, ${this.rowStride(u.v)}, 1, ${this.arrOf(W.v)}, 0, 1, ${K}, ${this.arrOf(e.out)}, ${this.base0(e.out)}, ${this.rowStride(e.out)}, false, ${c.slot(W.v, true)});`;
      }
      case "acc_outer": {
        const [u, v] = e.args as [{ v: ValueId }, { v: ValueId }];
        const [M, K] = g.values[e.param]!.shape as [number, number];
        return `gemm(${M}, ${K}, R, ${this.arrOf(u.v)}, ${this.base0(u.v)}, 1, ${this.rowStride(u.v)}, ${this.arrOf(v.v)}, ${this.base0(v.v)}, 1, ${this.rowStride(v.v)}, ${c.grad(e.param)}, 0, ${K}, true, -1);`;
      }
      case "acc": {
        const u = (e.args[0] as { v: ValueId }).v;
        return `colSum(R, ${width(g, e.param)}, ${this.arrOf(u)}, ${this.base0(u)}, ${this.rowStride(u)}, ${c.grad(e.param)});`;
      }
      case "concat": {
        const out = this.st(e.out);
        let off = 0;
        const parts: string[] = [];
        for (const a of e.args) {
          const n = isConst(a) ? 1 : width(g, a.v);
          const s = isConst(a) ? undefined : this.st(a.v);
          const inPlace = s && s.buffer === out.buffer && s.offset === out.offset + off && s.row === out.row;
          if (!inPlace) parts.push(this.copyRows(a, e.out, off, n));
          off += n;
        }
        return parts.join("\n");
      }
      case "slice": {
        const x = (e.args[0] as { v: ValueId }).v;
        const s = this.st(e.out);
        const src = this.st(x);
        if (s.buffer === src.buffer && s.offset === src.offset + e.lo) return "";
        return `for (let b = 0; b < R; b++) for (let j = 0; j < ${width(g, e.out)}; j++) ${this.arrOf(e.out)}[${this.base(e.out)} + j] = ${this.arrOf(x)}[${this.base(x)} + ${e.lo} + j];`;
      }
      case "pad": {
        const x = (e.args[0] as { v: ValueId }).v;
        return `for (let b = 0; b < R; b++) { const dst0 = ${this.base(e.out)}; const src0 = ${this.base(x)}; for (let j = 0; j < ${width(g, e.out)}; j++) ${this.arrOf(e.out)}[dst0 + j] = 0; for (let j = 0; j < ${width(g, x)}; j++) ${this.arrOf(e.out)}[dst0 + ${e.lo} + j] = ${this.arrOf(x)}[src0 + j]; }`;
      }
      case "sum": {
        const x = (e.args[0] as { v: ValueId }).v;
        return `for (let b = 0; b < R; b++) { const src0 = ${this.base(x)}; let acc = 0; for (let j = 0; j < ${width(g, x)}; j++) acc += ${this.arrOf(x)}[src0 + j]; ${this.arrOf(e.out)}[${this.base(e.out)}] = acc; }`;
      }
      case "bcast": {
        const x = (e.args[0] as { v: ValueId }).v;
        return `for (let b = 0; b < R; b++) { const acc = ${this.arrOf(x)}[${this.base(x)}]; const dst0 = ${this.base(e.out)}; for (let j = 0; j < ${width(g, e.out)}; j++) ${this.arrOf(e.out)}[dst0 + j] = acc; }`;
      }
      case "zeros":
        return `for (let b = 0; b < R; b++) { const dst0 = ${this.base(e.out)}; for (let j = 0; j < ${width(g, e.out)}; j++) ${this.arrOf(e.out)}[dst0 + j] = 0; }`;
      default:
        return this.group([e], width(g, (e as { out: ValueId }).out));
    }
  }
}
