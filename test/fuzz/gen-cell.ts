// A generator of random well-typed cells (and stacks of them) for the differential fuzzer. It reads
// its choices from a tape (choices.ts), so fast-check shrinks a failing program by shrinking the
// tape. Every function of the language appears (a test checks the list against the compiler's
// function table; matrix values and the functions of issue 14 are in gen-forms.ts), with honest
// domains: log and sqrt only see arguments ≥ 0.5 and a divisor is
// always ≥ 0.5 in magnitude (`pos` below); exp sees a bounded argument. Non-smooth functions (relu,
// abs, clip, hard_sigmoid) are generated freely: the gradient check (fd.ts) detects the entries whose
// finite-difference step crosses a kink.

import { Choices } from "./choices.ts";
import { FORM_FUNCTIONS, genMat, NEW_FORMS, newForm, ONE, type GenHost, type MatVar } from "./gen-forms.ts";
import type { NameSource } from "./names.ts";
import { add, asOperand, mul, name as sizeName, num, type Sz } from "./polysize.ts";

export interface Program {
  text: string;
  /** The binding to build with (sizes with a default are sometimes left out). */
  dims: Record<string, number>;
  /** The cell or stack to build: the last one declared. */
  unit: string;
  /** Language features this program uses, for coverage statistics. */
  features: Set<string>;
}

export interface GenOptions {
  names: NameSource;
  /** Deepest expression nesting (default 4). */
  maxDepth?: number;
}

interface Dim {
  name: string;
  value: number;
  def?: number;
}

interface Var {
  text: string;
  sz: Sz;
  /** A matrix state's second dim (its first is sz). */
  cols?: Sz;
}

interface Param {
  name: string;
  shape: Sz[];
  init: string;
}

/** Functions the generator calls, by the form that calls them (checked against the compiler). */
export const GENERATED_FUNCTIONS = ["sigmoid", "tanh", "relu", "exp", "log", "softsign", "hard_sigmoid", "softplus", "sqrt", "abs", "concat", "layernorm", "clip", ...FORM_FUNCTIONS];

/** A shape as declared: a [1] is sometimes written `[]`. */
const shapeText = (dims: readonly Sz[], c: Choices) => (dims.length === 1 && dims[0]!.key === ONE.key && c.chance(1, 2) ? "[]" : `[${dims.map((d) => d.text).join(", ")}]`);

const SCALARS = [0.5, 2, 1, 0.25, 3, 1.5, 0.1, 1e-3];
const VECTOR_INITS = ["", " = zeros", " = ones", " = const(0.3)", " = uniform(-0.5, 0.5)", " = normal(0.2)"];
const MATRIX_INITS = ["", " = glorot", " = orthogonal", " = zeros", " = uniform(-1, 1)", " = normal(0.1)", " = const(-0.2)"];

class CellGen implements GenHost {
  readonly features = new Set<string>();
  readonly params: Param[] = [];
  readonly vars: Var[] = [];
  readonly mats: MatVar[] = [];
  readonly consts: string[] = [];
  readonly maxDepth: number;

  constructor(
    readonly c: Choices,
    private readonly names: NameSource,
    readonly dims: Dim[],
    maxDepth: number,
  ) {
    this.maxDepth = maxDepth;
  }

  unitValues(): string[] {
    return this.vars.filter((v) => v.sz.key === ONE.key).map((v) => v.text);
  }

  atoms(): Sz[] {
    return this.dims.map((d) => sizeName(d.name, d.value));
  }

  /** A size for a declaration: mostly a size name, sometimes a sum, a product or a number. */
  declSize(): Sz {
    const c = this.c;
    const atoms = this.atoms();
    const a = c.pick(atoms);
    switch (c.int(9)) {
      case 0:
      case 1:
      case 2:
        return a;
      case 3:
      case 8:
        return add(a, c.pick(atoms));
      case 4:
        return mul(num(2), a);
      case 5:
        return add(a, num(1));
      case 6: {
        const b = c.pick(atoms);
        return a.value * b.value <= 9 ? mul(a, b) : a;
      }
      default:
        return num(1 + c.int(3));
    }
  }

  knownSizes(): Sz[] {
    const seen = new Map<string, Sz>();
    for (const v of this.vars) if (!seen.has(v.sz.key)) seen.set(v.sz.key, v.sz);
    for (const a of this.atoms()) if (!seen.has(a.key)) seen.set(a.key, a);
    return [...seen.values()];
  }

  param(shape: Sz[], init?: string): string {
    const c = this.c;
    if (shape.length === 2 && c.chance(1, 3)) {
      const same = this.params.find((p) => p.shape.length === 2 && p.shape[0]!.key === shape[0]!.key && p.shape[1]!.key === shape[1]!.key);
      if (same) return same.name;
    }
    const name = this.names.fresh("param", c);
    this.params.push({ name, shape, init: init ?? c.pick(shape.length === 2 ? MATRIX_INITS : VECTOR_INITS) });
    // A parameter vector is a value like any other: later expressions and outputs may use it.
    if (shape.length === 1) this.vars.push({ text: name, sz: shape[0]! });
    return name;
  }

  private leaf(S: Sz): string {
    const have = this.vars.filter((v) => v.sz.key === S.key);
    if (have.length > 0 && !this.c.chance(1, 6)) return this.c.pick(have).text;
    this.features.add("param vector");
    return this.param([S]);
  }

  private scalar(): string {
    const c = this.c;
    if (this.consts.length > 0 && c.chance(1, 3)) {
      this.features.add("scalar constant");
      const k = c.pick(this.consts);
      return c.chance(1, 4) ? `(-${k})` : k;
    }
    return String(c.pick(SCALARS));
  }

  /** An operand for a view (slice, concat part, matvec vector): mostly a plain value or a product
   *  of one, the shapes the schedule turns into views of buffers it hoists or keeps per step. */
  private operand(S: Sz, d: number): string {
    switch (this.c.int(5)) {
      case 0:
      case 1:
        return this.leaf(S);
      case 2: {
        this.features.add("matvec");
        const S2 = this.c.pick(this.knownSizes());
        return `(${this.param([S, S2])} @ ${this.leaf(S2)})`;
      }
      case 3:
        if (S.parts && S.parts.length > 1 && d < this.maxDepth) {
          this.features.add("concat");
          return `concat(${S.parts.map((p) => this.operand(p, d + 1)).join(", ")})`;
        }
        return this.gen(S, d + 1);
      default:
        return this.gen(S, d + 1);
    }
  }

  /** A slice of S out of a declared value whose size is a sum with S as a summand, or is S. */
  private sliceOfValue(S: Sz): string | undefined {
    const options: string[] = [];
    for (const v of this.vars) {
      if (v.sz.key === S.key) options.push(`${v.text}[0:${S.text}]`);
      const parts = v.sz.parts ?? [];
      let off: Sz | undefined;
      for (const p of parts) {
        if (p.key === S.key) {
          const lo = off ? asOperand(off) : "0";
          options.push(`${v.text}[${lo}:${off ? `${asOperand(off)} + ${S.text}` : S.text}]`);
        }
        off = off ? add(off, p) : p;
      }
    }
    return options.length ? this.c.pick(options) : undefined;
  }

  /** An expression that is at least 0.5 (for log, sqrt and divisors). */
  pos(S: Sz, d: number): string {
    const e = this.gen(S, d + 1);
    switch (this.c.int(8)) {
      case 0:
        return `(2 + tanh(${e}))`;
      case 1:
        return `(0.5 + sigmoid(${e}))`;
      case 2:
        return `(1 + ${e} * ${e})`;
      case 3:
        return `exp(tanh(${e}))`;
      case 4:
        return `(1 + softplus(${e}))`;
      case 5:
        return `(1 + abs(${e}))`;
      case 6:
        return `(0.5 + relu(${e}))`;
      default:
        return `sqrt(1 + ${e} * ${e})`;
    }
  }

  /** An expression of size S; every result is syntactically an atom (a name, a call, or
   *  parenthesised), so it can be an operand anywhere. */
  gen(S: Sz, d = 0): string {
    const c = this.c;
    const f = this.features;
    const next = d + 1;
    const form = d >= this.maxDepth ? 0 : c.int(17 + NEW_FORMS);
    if (form >= 17) return newForm(this, S, d, form - 17);
    switch (form) {
      case 1: {
        const fn = c.pick(["sigmoid", "tanh", "softsign", "softplus"]);
        f.add(fn);
        return `${fn}(${this.gen(S, next)})`;
      }
      case 2: {
        const fn = c.pick(["relu", "abs", "hard_sigmoid", "clip"]);
        f.add(fn);
        if (fn !== "clip") return `${fn}(${this.gen(S, next)})`;
        const lo = c.pick([-2, -1, -0.5, 0, 0.25]);
        const hi = lo + c.pick([0, 0.5, 1, 3]);
        return `clip(${this.gen(S, next)}, ${lo}, ${hi})`;
      }
      case 3: {
        f.add("exp");
        const e = this.gen(S, next);
        return c.pick([`exp(tanh(${e}))`, `exp(clip(${e}, -3, 2))`, `exp(0.5 * sigmoid(${e}))`]);
      }
      case 4: {
        const fn = c.pick(["log", "sqrt"]);
        f.add(fn);
        return `${fn}(${this.pos(S, d)})`;
      }
      case 5: {
        const op = c.pick(["+", "-", "*"]);
        f.add(`binary ${op}`);
        return `(${this.gen(S, next)} ${op} ${this.gen(S, next)})`;
      }
      case 6: {
        f.add("binary /");
        switch (c.int(3)) {
          case 0:
            return `(${this.gen(S, next)} / ${this.pos(S, d)})`;
          case 1:
            return `(${this.gen(S, next)} / ${c.pick([2, 4, 0.5, -3])})`;
          default:
            return `(${c.pick([1, -2])} / ${this.pos(S, d)})`;
        }
      }
      case 7: {
        const op = c.pick(["+", "-", "*"]);
        f.add("scalar broadcast");
        return c.chance(1, 2) ? `(${this.scalar()} ${op} ${this.gen(S, next)})` : `(${this.gen(S, next)} ${op} ${this.scalar()})`;
      }
      case 8:
        f.add("negation");
        return `(-${this.gen(S, next)})`;
      case 9:
      case 10: {
        f.add("matvec");
        const S2 = c.pick(this.knownSizes());
        const W = this.param([S, S2]);
        const v = c.chance(2, 3) ? this.leaf(S2) : this.gen(S2, next);
        return `(${W} @ ${v})`;
      }
      case 11:
      case 15: {
        f.add("slice");
        const direct = c.chance(1, 2) ? this.sliceOfValue(S) : undefined;
        if (direct) return direct;
        const before = c.chance(1, 3) ? undefined : c.chance(1, 2) ? num(1 + c.int(2)) : c.pick(this.atoms());
        const after = c.chance(1, 2) ? undefined : num(1 + c.int(2));
        let whole = before ? add(before, S) : S;
        if (after) whole = add(whole, after);
        if (before && whole.parts) whole = { ...whole, parts: [before, S, ...(after ? [after] : [])] };
        const lo = before ? asOperand(before) : "0";
        const hi = before ? `${asOperand(before)} + ${S.text}` : S.text;
        return `${this.operand(whole, d)}[${lo}:${hi}]`;
      }
      case 12:
      case 16: {
        f.add("concat");
        const parts = S.parts && S.parts.length > 1 ? S.parts : [S];
        return `concat(${parts.map((p) => this.operand(p, d)).join(", ")})`;
      }
      case 13: {
        f.add("layernorm");
        const side = (init: string) => (c.chance(1, 3) ? String(c.pick([1, 0.5, 0])) : this.param([S], init));
        return `layernorm(${this.gen(S, next)}, ${side(" = ones")}, ${side("")})`;
      }
      case 14: {
        f.add("repeated subexpression");
        const e = this.gen(S, next);
        return `(${e} ${c.pick(["*", "+", "-"])} ${e})`;
      }
      default:
        return this.leaf(S);
    }
  }
}

function genDims(c: Choices, names: NameSource): Dim[] {
  const n = 1 + c.int(3);
  const dims: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const value = 1 + c.int(4);
    const dim: Dim = { name: names.fresh("size", c), value };
    if (c.chance(1, 5)) dim.def = value;
    dims.push(dim);
  }
  return dims;
}

interface CellText {
  text: string;
  name: string;
}

/** One cell. With `chain`, its first input is [first dim] and its first output has the size of the
 *  second dim, so it can be a layer of a stack over (dims[0], dims[1]). */
function genCell(c: Choices, o: GenOptions, dims: Dim[], chain: boolean, features: Set<string>): CellText {
  const g = new CellGen(c, o.names, dims, o.maxDepth ?? 4);
  const cellName = o.names.fresh("cell", c);
  const lines: string[] = [];
  const decl = (what: string, vars: Var[]) => {
    if (vars.length) lines.push(`  ${what} ${vars.map((v) => `${v.text}: ${shapeText(v.cols ? [v.sz, v.cols] : [v.sz], c)}`).join(", ")}`);
  };
  const inputs: Var[] = [];
  const nIn = chain ? 1 + c.int(2) : c.int(4);
  for (let i = 0; i < nIn; i++) {
    const sz = chain && i === 0 ? sizeName(dims[0]!.name, dims[0]!.value) : g.declSize();
    inputs.push({ text: o.names.fresh("input", c), sz });
  }
  if (nIn === 0) features.add("no inputs");
  if (nIn > 1) features.add("several inputs");
  const states: Var[] = [];
  const nState = 1 + c.int(3);
  for (let i = 0; i < nState; i++) {
    const sz = chain && i === 0 ? sizeName(dims[1]!.name, dims[1]!.value) : g.declSize();
    // A matrix state now and then; never the first (outputs and a stack layer need a vector).
    const cols = i > 0 && c.chance(1, 3) ? g.declSize() : undefined;
    states.push(cols ? { text: o.names.fresh("state", c), sz, cols } : { text: o.names.fresh("state", c), sz });
  }
  const vectorStates = states.filter((st) => !st.cols);
  if (states.some((st) => st.cols)) features.add("matrix state");
  if (states.some((st) => !st.cols && st.sz.key === ONE.key)) features.add("scalar state");
  g.vars.push(...inputs, ...vectorStates);
  g.mats.push(...states.filter((st) => st.cols).map((st) => ({ text: st.text, rows: st.sz, cols: st.cols! })));

  const body: string[] = [];
  const nConst = c.int(3);
  for (let i = 0; i < nConst; i++) {
    const k = o.names.fresh("const", c);
    const prev = g.consts.length ? c.pick(g.consts) : undefined;
    body.push(`  ${k} = ${prev && c.chance(1, 2) ? `${prev} * ${c.pick([2, 0.5, -1])}` : c.pick(["0.5", "-0.25", "2", "tanh(0.5)", "sigmoid(1)", "(1 + 2) / 4", "-1.5"])}`);
    g.consts.push(k);
  }
  // Locals and new states in a random order; each may use what was assigned before it.
  const slots: (Var | "local")[] = [...states, ...Array.from({ length: c.int(4) }, () => "local" as const)];
  for (let i = slots.length - 1; i > 0; i--) {
    const j = c.int(i + 1);
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  for (const s of slots) {
    if (s === "local" && c.chance(1, 5)) {
      // A matrix local.
      const [rows, cols] = [g.declSize(), g.declSize()];
      const name = o.names.fresh("local", c);
      body.push(`  ${name} = ${genMat(g, rows, cols, 0)}`);
      g.mats.push({ text: name, rows, cols });
      features.add("matrix local");
    } else if (s === "local") {
      const sz = c.chance(1, 2) ? c.pick(g.vars).sz : g.declSize();
      const name = o.names.fresh("local", c);
      body.push(`  ${name} = ${g.gen(sz)}`);
      g.vars.push({ text: name, sz });
      features.add("local");
    } else if (s.cols) {
      body.push(`  ${s.text}' = ${genMat(g, s.sz, s.cols, 0)}`);
      g.mats.push({ text: `${s.text}'`, rows: s.sz, cols: s.cols });
    } else {
      body.push(`  ${s.text}' = ${g.gen(s.sz)}`);
      g.vars.push({ text: `${s.text}'`, sz: s.sz });
    }
  }
  const outs: string[] = [];
  const nOut = 1 + c.int(3);
  for (let i = 0; i < nOut; i++) {
    if (i === 0 && chain) {
      outs.push(`${states[0]!.text}'`);
      continue;
    }
    switch (c.int(5)) {
      case 0:
        outs.push(c.pick(g.vars).text);
        break;
      case 1:
        outs.push(g.gen(c.pick(g.vars).sz, 2));
        break;
      default:
        outs.push(`${c.pick(vectorStates).text}'`);
    }
  }
  if (nOut > 1) features.add("several outputs");

  const dimText = dims.map((d) => (d.def !== undefined ? `${d.name} = ${d.def}` : d.name)).join(", ");
  lines.push(`cell ${cellName}(${dimText}) {`);
  decl("input", inputs);
  decl("state", states);
  for (const p of g.params) lines.push(`  param ${p.name}: ${shapeText(p.shape, c)}${p.init}`);
  lines.push(...body, `  output ${outs.join(", ")}`, `}`);
  for (const x of g.features) features.add(x);
  return { text: lines.join("\n"), name: cellName };
}

/** A random program: one cell, or (one time in four) a stack of random cells, maybe nested. */
export function generateProgram(tape: readonly number[], o: GenOptions): Program {
  const c = new Choices(tape);
  const features = new Set<string>();
  const dims = genDims(c, o.names);
  const binding = (ds: Dim[]) => Object.fromEntries(ds.filter((d) => d.def === undefined || c.chance(1, 2)).map((d) => [d.name, d.value]));
  if (!c.chance(1, 4)) {
    const cell = genCell(c, o, dims, false, features);
    return { text: cell.text + "\n", dims: binding(dims), unit: cell.name, features };
  }
  // A stack over (A, B, rest...): layers are random cells whose first input is [A] and first
  // output [B], the first layer at (A, B, rest), the others at (B, B, rest).
  features.add("stack");
  while (dims.length < 2) dims.push({ name: o.names.fresh("size", c), value: 1 + c.int(4) });
  const cells = [genCell(c, o, dims, true, features)];
  if (c.chance(1, 2)) cells.push(genCell(c, o, dims, true, features));
  const args = (first: string) => [first, ...dims.slice(1).map((d) => d.name)].join(", ");
  const dimText = dims.map((d) => (d.def !== undefined ? `${d.name} = ${d.def}` : d.name)).join(", ");
  const layers = (n: number) => Array.from({ length: n }, (_, k) => `  layer ${c.pick(cells).name}(${args(k === 0 ? dims[0]!.name : dims[1]!.name)})`);
  const parts = cells.map((x) => x.text);
  let unit = o.names.fresh("cell", c);
  parts.push(`stack ${unit}(${dimText}) {\n${layers(1 + c.int(3)).join("\n")}\n}`);
  if (c.chance(1, 3)) {
    // A stack whose first layer is the stack above.
    features.add("nested stack");
    const inner = unit;
    unit = o.names.fresh("cell", c);
    parts.push(`stack ${unit}(${dimText}) {\n  layer ${inner}(${args(dims[0]!.name)})\n  layer ${c.pick(cells).name}(${args(dims[1]!.name)})\n}`);
  }
  return { text: parts.join("\n\n") + "\n", dims: binding(dims), unit, features };
}
