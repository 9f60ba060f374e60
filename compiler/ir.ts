// The IR: one step of one sample in A-normal form. Every value has a concrete shape (sizes are
// bound before lowering); `verify` recomputes each equation's shape from its op's rule and is run
// after every pass.
//
// Values are per-sample vectors, except parameters, which may be matrices and are shared by the
// batch. Operands are values or numeric constants; a constant or a [1] value broadcasts over a
// vector in elementwise equations. Sequence semantics are part of the step: each state is read
// through its mask (`h_read = h * mask_h`), and what a step keeps is chosen by the per-sample
// `active` flag (`h_next = select(active, h_new, h)`, outputs `select(active, y, 0)`), so autodiff
// derives their backward and every backend gets them from the graph.

import type { Span } from "../grammar/source.ts";
import type { InitSpec } from "../abi/kernel.ts";
import { elementwise } from "./primitives/elementwise.ts";
import type { Attrs } from "./primitives/types.ts";

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
  /** [n] for vectors, [m, n] for matrix parameters. */
  shape: number[];
  role: Role;
}

export type Operand = { v: ValueId } | { c: number };

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

type EqnBody =
  | EwEqn
  /** out[m] = sum_n A[m, n] v[n]. */
  | { op: "matvec"; out: ValueId; args: [Operand, Operand]; span?: Span }
  /** out[n] = sum_m A[m, n] u[m] (backward only). */
  | { op: "matvecT"; out: ValueId; args: [Operand, Operand]; span?: Span }
  | { op: "concat"; out: ValueId; args: Operand[]; span?: Span }
  /** out = x[lo : lo + |out|]. */
  | { op: "slice"; out: ValueId; args: [Operand]; lo: number; span?: Span }
  /** out has size n, zero except out[lo : lo + |x|] = x (backward of slice). */
  | { op: "pad"; out: ValueId; args: [Operand]; lo: number; span?: Span }
  /** out[0] = sum_i x[i]. */
  | { op: "sum"; out: ValueId; args: [Operand]; span?: Span }
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

/** Length of a value's last axis: a vector's size, a matrix's row length. */
export function width(g: Graph, v: ValueId): number {
  const s = g.values[v]!.shape;
  return s[s.length - 1]!;
}

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

  /** Shape of an elementwise result: the widest of its operands ([n] over [1] over a number). */
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
  for (const e of g.eqns) {
    const shapes = e.args.map(shapeOf);
    let expect: number[];
    switch (e.op) {
      case "matvec": {
        const [a, v] = shapes as [number[], number[]];
        if (a.length !== 2 || vec(v, "matvec operand") !== a[1]) fail(`matvec [${a}] @ [${v}]`);
        expect = [a[0]!];
        break;
      }
      case "matvecT": {
        const [a, u] = shapes as [number[], number[]];
        if (a.length !== 2 || vec(u, "matvecT operand") !== a[0]) fail(`matvecT [${a}]ᵀ @ [${u}]`);
        expect = [a[1]!];
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
      case "sum":
        vec(shapes[0]!, "sum operand");
        expect = [1];
        break;
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
        // Operands share one size; numbers and [1] values broadcast.
        const vecs = shapes.filter((s) => s.length > 0);
        if (vecs.length === 0) fail(`${e.fn} has only constant operands`);
        for (const s of vecs) if (s.length !== 1) fail(`${e.fn} on a matrix`);
        const wide = vecs.filter((s) => s[0] !== 1);
        for (const s of wide) if (!eqShape(s, wide[0]!)) fail(`${e.fn} on [${wide[0]}] and [${s}]`);
        expect = wide[0] ?? [1];
        break;
      }
    }
    const out = e.out;
    if (defined.has(out)) fail(`${g.values[out]!.name} assigned twice`);
    if (!eqShape(g.values[out]!.shape, expect)) fail(`${e.op === "ew" ? e.fn : e.op} gives [${expect}] but ${g.values[out]!.name} is [${g.values[out]!.shape}]`);
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

/** The op of an equation as shown to people: the function name for elementwise ones. */
export function opName(e: Eqn): string {
  return e.op === "ew" ? e.fn : e.op;
}

/** A readable dump of the graph, one equation a line (CELLC_DUMP_IR and tests). */
export function printGraph(g: Graph): string {
  const name = (o: Operand) => (isConst(o) ? String(o.c) : g.values[o.v]!.name);
  const lines = [`graph ${g.name} ${JSON.stringify(g.dims)}`];
  for (const v of g.values) if (v.role !== "local") lines.push(`  ${v.role} ${v.name}: [${v.shape}]`);
  for (const e of g.eqns) {
    const attrs = e.op === "ew" && e.attrs ? Object.entries(e.attrs).map(([k, v]) => ` ${k}=${v}`).join("") : "";
    const extra = "lo" in e ? ` lo=${e.lo}` : attrs;
    const lhs = produces(e) ? `${g.values[e.out]!.name}: [${g.values[e.out]!.shape}] = ` : `${g.values[e.param]!.name} += `;
    lines.push(`  ${lhs}${opName(e)}(${e.args.map(name).join(", ")})${extra}`);
  }
  for (const s of g.states) lines.push(`  state ${s.name}: ${g.values[s.prev]!.name} -> ${g.values[s.next]!.name}`);
  for (const o of g.outputs) lines.push(`  output ${o.name} = ${g.values[o.value]!.name}`);
  return lines.join("\n");
}
