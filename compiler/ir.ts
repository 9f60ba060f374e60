// The IR: one step of one sample in A-normal form. Every value has a concrete shape (sizes are
// bound before lowering); `verify` recomputes each equation's shape from its op's rule and is run
// after every pass.
//
// Values are per-sample vectors [n] or matrices [m, n] (a matrix value is m·n numbers per sample,
// row-major); parameters, vectors or matrices, are shared by the batch. Operands are values or
// numeric constants; a constant or a [1] value broadcasts over any shape in elementwise equations. Sequence semantics are part of the step: each state is read
// through its mask (`h_read = h * mask_h`), and what a step keeps is chosen by the per-sample
// `active` flag (`h_next = select(active, h_new, h)`, outputs `select(active, y, 0)`), so autodiff
// derives their backward and every backend gets them from the graph.

import type { Span } from "../grammar/source.ts";
import type { InitSpec } from "../abi/kernel.ts";
import { elementwise } from "./primitives/elementwise.ts";
import { rowPrimitive, type RowOpName } from "./primitives/rows.ts";
import type { Attrs, Operand as PrimitiveOperand } from "./primitives/types.ts";

export type ValueId = number;

export type Role =
  | "input" // a per-step input of the cell
  | "state" // a state as carried into a step (before its mask)
  | "seq" // per-step sequence data with no gradient: the `active` flag and the state masks
  | "param"
  | "local"
  | "seed" // in a backward graph: an incoming adjoint (of an output or of a new state)
  | "fwd" // in a backward graph: a value the forward step computed (read from the tape)
  | "packed"; // parameter matrices stacked by rows (Graph.packs)

export interface ValueInfo {
  id: ValueId;
  name: string;
  /** [n] for vectors, [m, n] for matrices (parameters, and per-sample matrix values). */
  shape: number[];
  role: Role;
}

/** A value of the graph (by id) or a number; defined with the primitives, which the IR builds on. */
export type Operand = PrimitiveOperand;

/** An elementwise primitive from the registry (compiler/primitives). */
export interface EwEqn {
  op: "ew";
  fn: string;
  out: ValueId;
  args: Operand[];
  attrs?: Attrs;
  span?: Span;
}

/** Every equation may list spec lines it computes besides its own span (a fused product lists
 *  every gate; the adjoints of an equation inherit its lines). */
export type Eqn = EqnBody & { also?: Span[] };

/** A per-sample matrix product: out (m × n) = op(A) · op(B), where op(A) is A ([m, k], row-major)
 *  or, with ta, Aᵀ for A stored [k, m]; likewise op(B) is B [k, n] or, with tb, Bᵀ for B stored
 *  [n, k]. A vector operand is a one-column (or one-row) matrix: both are its numbers in order. A
 *  parameter operand is the same matrix for every sample. outer(a, b) is k = 1; M @ v is n = 1. */
export interface BmmEqn {
  op: "bmm";
  out: ValueId;
  args: [Operand, Operand];
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
  span?: Span;
}

/** A row primitive from the registry (compiler/primitives/rows.ts): a reduction (out [1]) or a
 *  scan (out of x's shape) of the whole of x. `reverse`: a scan's direction. `stop`: no gradient
 *  flows through it (the shift of a softmax, which its value does not depend on). */
export interface RowEqn {
  op: "row";
  fn: RowOpName;
  out: ValueId;
  args: [Operand];
  reverse?: boolean;
  stop?: boolean;
  span?: Span;
}

type EqnBody =
  | EwEqn
  /** out[m] = sum_n A[m, n] v[n], A a weight (a GEMM over the batch). */
  | { op: "matvec"; out: ValueId; args: [Operand, Operand]; span?: Span }
  /** out[n] = sum_m A[m, n] u[m], A a weight: transpose(W) @ u, and the backward of matvec. */
  | { op: "matvecT"; out: ValueId; args: [Operand, Operand]; span?: Span }
  | BmmEqn
  /** out [n, m] = xᵀ for a matrix x [m, n]. */
  | { op: "transpose"; out: ValueId; args: [Operand]; span?: Span }
  | RowEqn
  | { op: "concat"; out: ValueId; args: Operand[]; span?: Span }
  /** out = x[lo : lo + |out|]. */
  | { op: "slice"; out: ValueId; args: [Operand]; lo: number; span?: Span }
  /** out has size n, zero except out[lo : lo + |x|] = x (backward of slice). */
  | { op: "pad"; out: ValueId; args: [Operand]; lo: number; span?: Span }
  /** out[i] = x[0], size from the out value. */
  | { op: "bcast"; out: ValueId; args: [Operand]; span?: Span }
  | { op: "zeros"; out: ValueId; args: []; span?: Span }
  /** Sinks of a backward graph: gradient of parameter `param` += sum over the batch of u ⊗ v
   *  (acc_outer) or of u (acc). */
  | { op: "acc_outer"; param: ValueId; args: [Operand, Operand]; span?: Span }
  | { op: "acc"; param: ValueId; args: [Operand]; span?: Span };

export type Op = Eqn["op"];
export type ProducingEqn = Exclude<Eqn, { op: "acc_outer" | "acc" }>;

export const produces = (e: Eqn): e is ProducingEqn => "out" in e;

export interface GraphState {
  name: string;
  /** The value carried into a step (before its mask). */
  prev: ValueId;
  /** The value carried out of the step (the new value where the sample is active). */
  next: ValueId;
  /** Its recurrent-dropout mask (role "seq"). */
  mask: ValueId;
  projected: boolean;
}

export interface GraphParam {
  name: string;
  value: ValueId;
  init: InitSpec;
}

/** A matrix made of parameter matrices stacked by rows, so several products share one GEMM. */
export interface GraphPack {
  value: ValueId;
  parts: ValueId[];
}

export interface Graph {
  name: string;
  kind: "cell" | "stack";
  dims: Record<string, number>;
  values: ValueInfo[];
  inputs: { name: string; value: ValueId }[];
  states: GraphState[];
  params: GraphParam[];
  packs: GraphPack[];
  /** The per-sample flag [1]: 1 while the step is within the sample's length. */
  active: ValueId;
  eqns: Eqn[];
  outputs: { name: string; value: ValueId }[];
}

/** Numbers per sample of a value: a vector's size, a matrix value's m·n. */
export function width(g: Graph, v: ValueId): number {
  return count(g.values[v]!.shape);
}

/** Elements of a shape. */
export const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const isValue = (o: Operand): o is { v: ValueId } => "v" in o;
export const isConst = (o: Operand): o is { c: number } => "c" in o;

export function operandValues(e: Eqn): ValueId[] {
  const out: ValueId[] = [];
  for (const o of e.args as Operand[]) if (isValue(o)) out.push(o.v);
  return out;
}

/** Appends values and equations to a graph. */
export class GraphBuilder {
  constructor(readonly g: Graph) {}

  value(name: string, shape: number[], role: Role): ValueId {
    const id = this.g.values.length;
    this.g.values.push({ id, name, shape, role });
    return id;
  }

  shape(o: Operand): number[] {
    return isValue(o) ? this.g.values[o.v]!.shape : [];
  }

  /** Adds an equation producing a new local of the given shape and returns it as an operand. */
  emit(make: (out: ValueId) => Eqn, shape: number[], name = ""): { v: ValueId } {
    const out = this.value(name || `t${this.g.values.length}`, shape, "local");
    this.g.eqns.push(make(out));
    return { v: out };
  }

  /** Shape of an elementwise result: the widest of its operands ([n] or [m, n] over [1] over a number). */
  ewShape(args: readonly Operand[]): number[] {
    let shape: number[] | undefined;
    for (const a of args) {
      if (isConst(a)) continue;
      const s = this.shape(a);
      if (!shape || (shape.length === 1 && shape[0] === 1)) shape = s;
    }
    if (!shape) throw new IRError("elementwise op on constants only");
    return shape;
  }

  /** An elementwise equation from the registry. */
  ew(fn: string, args: Operand[], attrs?: Attrs, span?: Span, name = ""): { v: ValueId } {
    const shape = this.ewShape(args);
    return this.emit((out) => (attrs ? { op: "ew", fn, out, args, attrs, span } : { op: "ew", fn, out, args, span }), shape, name);
  }
}

export function emptyGraph(name: string, kind: "cell" | "stack", dims: Record<string, number>): Graph {
  return { name, kind, dims, values: [], inputs: [], states: [], params: [], packs: [], active: -1, eqns: [], outputs: [] };
}

// ---------------- verification ----------------

export class IRError extends Error {}

const isWeight = (r: Role) => r === "param" || r === "packed";
const eqShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Recomputes every equation's shape and checks single assignment and definition before use. */
export function verify(g: Graph, where = "verify"): void {
  const fail = (msg: string): never => {
    throw new IRError(`${where}: ${g.name}: ${msg}`);
  };
  const defined = new Set<ValueId>();
  for (const v of g.values) if (v.role !== "local") defined.add(v.id);
  const shapeOf = (o: Operand): number[] => {
    if (isConst(o)) return [];
    const v = g.values[o.v] ?? fail(`unknown value ${o.v}`);
    if (!defined.has(o.v)) fail(`${v.name} used before definition`);
    return v.shape;
  };
  const vec = (s: number[], what: string) => (s.length === 1 ? s[0]! : fail(`${what} must be a vector, got [${s}]`));
  const weight = (o: Operand, what: string) => {
    if (isConst(o) || !isWeight(g.values[o.v]!.role)) fail(`${what} must be a weight`);
  };
  for (const e of g.eqns) {
    const shapes = e.args.map(shapeOf);
    let expect: number[];
    switch (e.op) {
      case "matvec": {
        const [a, v] = shapes as [number[], number[]];
        weight(e.args[0], "the matrix of matvec");
        if (a.length !== 2 || vec(v, "matvec operand") !== a[1]) fail(`matvec [${a}] @ [${v}]`);
        expect = [a[0]!];
        break;
      }
      case "matvecT": {
        const [a, u] = shapes as [number[], number[]];
        weight(e.args[0], "the matrix of matvecT");
        if (a.length !== 2 || vec(u, "matvecT operand") !== a[0]) fail(`matvecT [${a}]ᵀ @ [${u}]`);
        expect = [a[1]!];
        break;
      }
      case "bmm": {
        const [a, b] = shapes as [number[], number[]];
        if (e.args.some(isConst) || count(a) !== e.m * e.k || count(b) !== e.k * e.n) fail(`bmm [${a}] · [${b}] for ${e.m}×${e.k}·${e.k}×${e.n}`);
        for (const [s, rows] of [[a, e.ta ? e.k : e.m], [b, e.tb ? e.n : e.k]] as const) {
          if (s.length === 2 && s[0] !== rows) fail(`bmm operand [${s}] is not stored with ${rows} rows`);
        }
        expect = g.values[e.out]!.shape;
        if (count(expect) !== e.m * e.n || (expect.length === 2 && expect[0] !== e.m)) fail(`bmm gives ${e.m}×${e.n} but ${g.values[e.out]!.name} is [${expect}]`);
        break;
      }
      case "transpose": {
        const [a] = shapes as [number[]];
        if (a.length !== 2) fail(`transpose of [${a}]`);
        expect = [a[1]!, a[0]!];
        break;
      }
      case "row": {
        const prim = rowPrimitive(e.fn) ?? fail(`unknown row primitive ${e.fn}`);
        if (shapes[0]!.length === 0) fail(`${e.fn} of a constant`);
        expect = prim.kind === "reduce" ? [1] : shapes[0]!;
        break;
      }
      case "acc_outer": {
        const p = g.values[e.param]!.shape;
        const [u, v] = shapes as [number[], number[]];
        if (!isWeight(g.values[e.param]!.role) || !eqShape(p, [vec(u, "acc_outer u"), vec(v, "acc_outer v")])) fail(`acc_outer into ${g.values[e.param]!.name}`);
        continue;
      }
      case "acc": {
        const p = g.values[e.param]!.shape;
        if (!isWeight(g.values[e.param]!.role) || !eqShape(p, shapes[0]!)) fail(`acc into ${g.values[e.param]!.name}: [${p}] vs [${shapes[0]}]`);
        continue;
      }
      case "concat":
        expect = [shapes.reduce((n, s) => n + vec(s, "concat operand"), 0)];
        break;
      case "slice": {
        const out = g.values[e.out]!.shape;
        if (e.lo < 0 || e.lo + vec(out, "slice") > vec(shapes[0]!, "slice operand")) fail(`slice out of range`);
        expect = out;
        break;
      }
      case "pad": {
        const out = g.values[e.out]!.shape;
        if (e.lo < 0 || e.lo + vec(shapes[0]!, "pad operand") > vec(out, "pad")) fail(`pad out of range`);
        expect = out;
        break;
      }
      case "bcast":
        if (!eqShape(shapes[0]!, [1])) fail(`bcast of [${shapes[0]}]`);
        expect = g.values[e.out]!.shape;
        break;
      case "zeros":
        expect = g.values[e.out]!.shape;
        break;
      case "ew": {
        const prim = elementwise(e.fn) ?? fail(`unknown elementwise function ${e.fn}`);
        if (e.args.length !== prim.arity) fail(`${e.fn} takes ${prim.arity} operands, got ${e.args.length}`);
        for (const a of prim.attrs ?? []) if (typeof e.attrs?.[a] !== "number") fail(`${e.fn} needs attribute ${a}`);
        // Operands share one shape; numbers and [1] values broadcast. Weights (vectors or
        // matrices) are read alike by every sample.
        const vals = shapes.filter((s) => s.length > 0);
        if (vals.length === 0) fail(`${e.fn} has only constant operands`);
        const wide = vals.filter((s) => !eqShape(s, [1]));
        for (const s of wide) if (!eqShape(s, wide[0]!)) fail(`${e.fn} on [${wide[0]}] and [${s}]`);
        expect = wide[0] ?? [1];
        break;
      }
    }
    const out = e.out;
    if (defined.has(out)) fail(`${g.values[out]!.name} assigned twice`);
    if (!eqShape(g.values[out]!.shape, expect)) fail(`${opName(e)} gives [${expect}] but ${g.values[out]!.name} is [${g.values[out]!.shape}]`);
    defined.add(out);
  }
  for (const o of g.outputs) if (!defined.has(o.value)) fail(`output ${o.name} undefined`);
  const produced = g as { dInputs?: { name: string; value: ValueId }[]; dStates?: { name: string; value: ValueId }[] };
  for (const d of [...(produced.dInputs ?? []), ...(produced.dStates ?? [])]) if (!defined.has(d.value)) fail(`adjoint of ${d.name} undefined`);
  for (const s of g.states) {
    if (!defined.has(s.next)) fail(`state ${s.name} never written`);
    if (g.values[s.mask]?.role !== "seq" || !eqShape(g.values[s.mask]!.shape, g.values[s.prev]!.shape)) fail(`state ${s.name} has no mask of its shape`);
  }
  if (g.values[g.active]?.role !== "seq" || !eqShape(g.values[g.active]!.shape, [1])) fail(`no per-sample active flag`);
  for (const p of g.packs) {
    const [rows, cols] = g.values[p.value]!.shape as [number, number];
    const parts = p.parts.map((v) => g.values[v]!);
    if (parts.some((x) => x.role !== "param" || x.shape[1] !== cols) || parts.reduce((n, x) => n + x.shape[0]!, 0) !== rows) fail(`pack ${g.values[p.value]!.name} does not match its parts`);
  }
}

/** The fields of an equation that say what it computes besides its op and operands (lo of a
 *  slice, m/k/n/ta/tb of a product, stop, reverse), in a stable order: for CSE keys and dumps. */
export function eqnFields(e: Eqn): [string, number | boolean | string][] {
  const skip = new Set(["op", "out", "args", "span", "also", "param", "fn"]);
  return Object.entries(e)
    .filter(([k, v]) => !skip.has(k) && v !== undefined)
    .map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : (v as number | boolean | string)] as [string, number | boolean | string])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The op of an equation as shown to people: the function name for elementwise ones. */
export function opName(e: Eqn): string {
  return e.op === "ew" || e.op === "row" ? e.fn : e.op;
}

/** A readable dump of the graph, one equation a line (CELLC_DUMP_IR and tests). */
export function printGraph(g: Graph): string {
  const name = (o: Operand) => (isConst(o) ? String(o.c) : g.values[o.v]!.name);
  const lines = [`graph ${g.name} ${JSON.stringify(g.dims)}`];
  for (const v of g.values) if (v.role !== "local") lines.push(`  ${v.role} ${v.name}: [${v.shape}]`);
  for (const e of g.eqns) {
    const attrs = e.op === "ew" && e.attrs ? Object.entries(e.attrs).map(([k, v]) => ` ${k}=${v}`).join("") : "";
    const extra = e.op === "ew" ? attrs : eqnFields(e).map(([k, v]) => ` ${k}=${v}`).join("");
    const lhs = produces(e) ? `${g.values[e.out]!.name}: [${g.values[e.out]!.shape}] = ` : `${g.values[e.param]!.name} += `;
    lines.push(`  ${lhs}${opName(e)}(${e.args.map(name).join(", ")})${extra}`);
  }
  for (const s of g.states) lines.push(`  state ${s.name}: ${g.values[s.prev]!.name} -> ${g.values[s.next]!.name}`);
  for (const o of g.outputs) lines.push(`  output ${o.name} = ${g.values[o.value]!.name}`);
  return lines.join("\n");
}
