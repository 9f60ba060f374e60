// The statements of the value-level schedule as ONNX nodes, in one graph (the main graph for an
// "all" stage over [T, B, n] tensors, the Scan body for the loop over [B, n]): elementwise
// primitives through their registry entry's `onnx` lowering (compiler/primitives/elementwise.ts),
// row primitives (sums, maxima, scans, ...) and structural ones (per-row products, transposes)
// through theirs (compiler/primitives/rows.ts, structural.ts), products with a weight as MatMul
// against it, concatenations and slices on the last axis, broadcasts and zeros as Expand.
//
// A value is a tensor whose last axis holds its per-row numbers (a matrix value [m, n] as m·n,
// row-major) after its leading axes: T, B over all steps ("seq"), B in a step ("batch"), none for
// a value that is the same for every row ("none": parameters, constants, what only they make).

import { count, isConst, type Eqn, type Graph, type Operand, type ValueId } from "../../compiler/ir.ts";
import { elementwise } from "../../compiler/primitives/elementwise.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import type { OnnxRowBuilder } from "../../compiler/primitives/row-types.ts";
import { structuralOfIr } from "../../compiler/primitives/structural.ts";
import type { OnnxStructBuilder } from "../../compiler/primitives/structural-types.ts";
import { OnnxExportError, type OnnxGraph } from "./graph.ts";

export type Rows = "seq" | "batch" | "none";
export interface Bound {
  name: string;
  rows: Rows;
}
const RANK: Record<Rows, number> = { none: 0, batch: 1, seq: 2 };
export const widest = (rs: Rows[]): Rows => rs.reduce<Rows>((a, r) => (RANK[r] > RANK[a] ? r : a), "none");

/** What the statements need from the printer of the whole model. */
export interface OpsEnv {
  graph: Graph;
  /** int64 [3], [2] or [1]: the shape of `width` numbers a row with the given leading axes. */
  shapeOf(rows: Rows, width: number): string;
  /** A weight (a parameter, a pack or a rowless matrix value) as [m, n], or transposed as [n, m]. */
  weight(v: ValueId, transposed: boolean): string;
}

/** Where statements are printed: a graph and how it reads values (by id, flat on the last axis). */
export interface Scope {
  g: OnnxGraph;
  read(v: ValueId): Bound;
}

/** The tensor with the given leading axes (a rowless value expanded to every row). */
export function withRows(env: OpsEnv, g: OnnxGraph, b: Bound, rows: Rows, width: number): string {
  if (RANK[b.rows] >= RANK[rows]) return b.name;
  return g.op("Expand", [b.name, env.shapeOf(rows, width)]);
}

/** The tensor of one statement's value. */
export function printEqn(env: OpsEnv, sc: Scope, e: Eqn): Bound {
  const { g } = sc;
  const gr = env.graph;
  const width = (v: ValueId) => count(gr.values[v]!.shape);
  const operand = (o: Operand): Bound => (isConst(o) ? { name: g.const(o.c), rows: "none" } : sc.read(o.v));
  if (e.op === "acc" || e.op === "acc_outer") throw new OnnxExportError("onnx: a parameter-gradient sum in a forward entry");
  const out = width(e.out);
  const prim = structuralOfIr(e.op);
  if (prim) {
    // A structural primitive, as its registry entry lowers it (a rowless factor broadcasts).
    if (!prim.onnx) throw new OnnxExportError(`onnx: ${prim.op} has no ONNX lowering`);
    const args = e.args.map(operand);
    const rows = widest(args.map((a) => a.rows));
    const attrs = prim.attrs(e as unknown as Record<string, unknown>, e.args.map((a) => gr.values[(a as { v: number }).v]!.shape));
    const sb: OnnxStructBuilder = {
      op: (o, inputs) => g.op(o, inputs),
      matrix: (k, r, c, transposed) => asMatrix(g, args[k]!, [r, c], transposed),
      flat: (x, w) => asRows(g, x, w, rows),
    };
    return { name: prim.onnx(sb, attrs), rows };
  }
  switch (e.op) {
    case "ew": {
      const prim = elementwise(e.fn);
      if (!prim) throw new OnnxExportError(`onnx: ${e.fn} is not an elementwise primitive`);
      if (!prim.onnx) throw new OnnxExportError(`the primitive '${e.fn}' has no ONNX lowering (add an onnx formula to its entry in compiler/primitives/elementwise.ts)`);
      const args = e.args.map(operand);
      return { name: prim.onnx(args.map((a) => a.name), e.attrs ?? {}, g), rows: widest(args.map((a) => a.rows)) };
    }
    case "bcast": {
      const x = operand(e.args[0]);
      return { name: g.op("Expand", [x.name, env.shapeOf(x.rows, out)]), rows: x.rows };
    }
    case "matvec":
    case "matvecT": {
      // W [m, n] times every row's vector: x Wᵀ (matvec), or u W (matvecT).
      const w = e.args[0];
      if (isConst(w)) throw new OnnxExportError(`onnx: a product with the constant ${w.c} as its weight`);
      const x = operand(e.args[1]);
      return { name: g.op("MatMul", [x.name, env.weight(w.v, e.op === "matvec")]), rows: x.rows };
    }
    case "row": {
      // A row primitive over the last axis, as its registry entry lowers it.
      const x = operand(e.args[0]);
      const rb: OnnxRowBuilder = {
        op: (o, inputs) => g.op(o, inputs),
        node: (o, inputs, attrs) => g.node(o, inputs, attrs)[0]!,
        const: (v) => g.const(v),
        ints: (v) => g.consts.ints(v),
      };
      return { name: rowPrimitive(e.fn)!.onnx(x.name, e.reverse === true, rb), rows: x.rows };
    }
    case "concat": {
      const args = e.args.map(operand);
      const rows = widest(args.map((a) => a.rows));
      const parts = args.map((a, k) => {
        const o = e.args[k]!;
        return withRows(env, g, a, rows, isConst(o) ? 1 : width(o.v));
      });
      return { name: g.concat(parts), rows };
    }
    case "slice": {
      const x = operand(e.args[0]);
      return { name: g.slice(x.name, e.lo, out, width((e.args[0] as { v: number }).v)), rows: x.rows };
    }
    case "pad": {
      const x = operand(e.args[0]);
      const w = width((e.args[0] as { v: number }).v);
      const zeros = (n: number) => g.op("Expand", [g.const(0), env.shapeOf(x.rows, n)]);
      const parts = [...(e.lo > 0 ? [zeros(e.lo)] : []), x.name, ...(out - e.lo - w > 0 ? [zeros(out - e.lo - w)] : [])];
      return { name: g.concat(parts), rows: x.rows };
    }
    case "zeros":
      return { name: g.op("Expand", [g.const(0), env.shapeOf("none", out)]), rows: "none" };
    default:
      throw new OnnxExportError(`onnx: no lowering for ${e.op}`);
  }
}

const leadOf = (rows: Rows): number[] => (rows === "seq" ? [0, 0] : rows === "batch" ? [0] : []);

/** A value of m·n numbers a row as [..rows, m, n], transposed on its last two axes when asked. */
function asMatrix(g: OnnxGraph, x: Bound, [m, n]: [number, number], transposed: boolean): string {
  const lead = leadOf(x.rows);
  let y = g.op("Reshape", [x.name, g.consts.ints([...lead, m, n])]);
  if (transposed) y = g.node("Transpose", [y], { perm: { ints: [...lead.map((_, i) => i), lead.length + 1, lead.length] } })[0]!;
  return y;
}

/** [..rows, m, n] back to [..rows, m·n]. */
function asRows(g: OnnxGraph, name: string, width: number, rows: Rows): string {
  return g.op("Reshape", [name, g.consts.ints([...leadOf(rows), width])]);
}
