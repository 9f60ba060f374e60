// The plan's ops as ONNX nodes, in one graph (the main graph for an "all" stage over [T, B, n]
// tensors, the Scan body for the loop over [B, n]): GEMMs as MatMul against the weight as [K, N],
// maps through the registry's `onnx` lowerings, row primitives (sums, maxima, scans, ...) through
// theirs (compiler/primitives/rows.ts), per-row products and transposes as MatMul / Transpose over [..rows, m, n] reshapes,
// copies as renaming, fills as Expand. Values that have no rows (parameters, constants) or a single column (broadcast loads) are
// expanded to the view's shape where they are stored, as the kernels' loops write every row.

import { elementwise } from "../../compiler/primitives/elementwise.ts";
import { isRowOp, type Plan, type PlanOp, type Term, type View } from "../../compiler/plan/types.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import type { OnnxRowBuilder } from "../../compiler/primitives/row-types.ts";
import { bufKey, type Contents } from "./contents.ts";
import { OnnxExportError, type OnnxGraph } from "./graph.ts";

/** Where ops are printed: a graph, the buffers' contents there, and the shape of one row block. */
export interface StageContext {
  g: OnnxGraph;
  c: Contents;
  /** "all": tensors are [T, B, n]; "loop": [B, n]. */
  kind: "all" | "loop";
}

/** What the ops need from the printer of the whole model. */
export interface OpsEnv {
  plan: Plan;
  /** int64 [3] or [2]: the shape of `width` columns over a stage's rows (T, B, n or B, n). */
  rowShape(kind: "all" | "loop", width: number): string;
  /** A GEMM's weight as a [K, N] tensor of the main graph. */
  weight(buf: number, form: "xwT" | "xw", n: number, k: number): string;
  /** Names without rows (parameters, constants and what is made of them only). */
  rowless: Set<string>;
  /** Names whose last axis is 1 standing for every column (broadcast loads and their results). */
  narrow: Set<string>;
  /** Active flags known to be true everywhere (no lengths): a select keeps its first choice. */
  alwaysTrue: Set<string>;
}

export function readView(env: OpsEnv, ctx: StageContext, v: View): string {
  const b = env.plan.buffers[v.buf]!;
  if (b.kind === "mask") return ctx.g.op("Expand", [ctx.g.const(1), env.rowShape(ctx.kind, v.width)]);
  const name = ctx.c.read(ctx.g, bufKey(v.buf, v.shift), v.col, v.width, b.name);
  if (b.rows === "none") env.rowless.add(name);
  return name;
}

export function writeView(env: OpsEnv, ctx: StageContext, v: View, name: string): void {
  const b = env.plan.buffers[v.buf]!;
  if (b.rows === "none") throw new OnnxExportError(`onnx: the forward plan writes the parameter buffer ${b.name}`);
  let value = name;
  if (env.rowless.has(name) || (env.narrow.has(name) && v.width > 1)) value = ctx.g.op("Expand", [name, env.rowShape(ctx.kind, v.width)]);
  ctx.c.write(bufKey(v.buf, v.shift), v.col, v.width, value);
}

function map(env: OpsEnv, ctx: StageContext, op: Extract<PlanOp, { op: "map" }>): void {
  const { g } = ctx;
  const names: string[] = [];
  const masks = new Set<number>();
  op.terms.forEach((t: Term, i) => {
    if (t.kind === "load") {
      if (env.plan.buffers[t.view.buf]!.kind === "mask") {
        // Recurrent-dropout masks are ones at inference: a mask is the constant 1 and multiplying
        // by it is the value itself.
        masks.add(i);
        names.push("");
        return;
      }
      const name = readView(env, ctx, t.view);
      if (t.broadcast) env.narrow.add(name);
      names.push(name);
      return;
    }
    const prim = elementwise(t.fn);
    if (!prim) throw new OnnxExportError(`onnx: ${t.fn} is not an elementwise primitive`);
    if (!prim.onnx) throw new OnnxExportError(`the primitive '${t.fn}' has no ONNX lowering (add an onnx formula to its entry in compiler/primitives/elementwise.ts)`);
    const argMask = t.args.map((a) => "t" in a && masks.has(a.t));
    const arg = (j: number): string => {
      const a = t.args[j]!;
      return "c" in a || argMask[j] ? g.const("c" in a ? a.c : 1) : names[a.t]!;
    };
    let out: string;
    if (t.fn === "mul" && argMask.some((m) => m)) out = argMask[0] ? arg(1) : arg(0);
    else if (t.fn === "select" && env.alwaysTrue.has(arg(0))) out = arg(1);
    else out = prim.onnx(t.args.map((_, j) => arg(j)), t.attrs ?? {}, g);
    // Constants and masks have neither rows nor columns.
    const plain = t.args.map((a, j) => ("c" in a || argMask[j] ? undefined : names[a.t]!));
    if (plain.every((n) => n === undefined || env.rowless.has(n) || g.consts.scalars.has(n))) env.rowless.add(out);
    if (plain.every((n) => n === undefined || env.narrow.has(n) || g.consts.scalars.has(n))) env.narrow.add(out);
    names.push(out);
  });
  for (const s of op.stores) writeView(env, ctx, s.view, names[s.term]!);
}

export function printOp(env: OpsEnv, ctx: StageContext, op: PlanOp): void {
  const { g } = ctx;
  if (isRowOp(op)) {
    // A row primitive over the last axis, as its registry entry lowers it.
    const src = readView(env, ctx, op.src);
    const rb: OnnxRowBuilder = {
      op: (o, inputs) => g.op(o, inputs),
      node: (o, inputs, attrs) => g.node(o, inputs, attrs)[0]!,
      const: (v) => g.const(v),
      ints: (v) => g.consts.ints(v),
    };
    const y = rowPrimitive(op.op)!.onnx(src, op.reverse, rb);
    if (env.rowless.has(src)) env.rowless.add(y);
    writeView(env, ctx, op.dst, y);
    return;
  }
  switch (op.op) {
    case "gemm": {
      if (op.form === "dw" || !("col" in op.c) || "col" in op.w) throw new OnnxExportError("onnx: a weight-gradient product in a forward plan");
      const a = readView(env, ctx, op.a);
      let y = g.op("MatMul", [a, env.weight(op.w.buf, op.form, op.n, op.k)]);
      if (env.rowless.has(a)) env.rowless.add(y);
      if (op.accumulate) y = g.op("Add", [readView(env, ctx, op.c), y]);
      writeView(env, ctx, op.c, y);
      return;
    }
    case "map":
      map(env, ctx, op);
      return;
    case "copy": {
      writeView(env, ctx, op.dst, readView(env, ctx, op.src));
      return;
    }
    case "fill":
      writeView(env, ctx, op.dst, g.op("Expand", [g.const(op.value), env.rowShape(ctx.kind, op.dst.width)]));
      return;
    case "colsum":
      throw new OnnxExportError("onnx: a parameter-gradient sum in a forward plan");
    case "bmm": {
      const a = asMatrix(env, ctx, readView(env, ctx, op.a), op.ta ? [op.k, op.m] : [op.m, op.k], op.ta);
      const b = asMatrix(env, ctx, readView(env, ctx, op.b), op.tb ? [op.n, op.k] : [op.k, op.n], op.tb);
      writeView(env, ctx, op.c, asRows(env, ctx, g.op("MatMul", [a.name, b.name]), op.m * op.n, a.rowless && b.rowless));
      return;
    }
    case "transpose": {
      const src = readView(env, ctx, op.src);
      const t = asMatrix(env, ctx, src, [op.m, op.n], true);
      writeView(env, ctx, op.dst, asRows(env, ctx, t.name, op.m * op.n, t.rowless));
      return;
    }
  }
}

/** A value of m·n columns per row as [..rows, m, n] (a row-less one as [m, n]), transposed on its
 *  last two axes when asked: the per-row matrices of bmm and transpose. */
function asMatrix(env: OpsEnv, ctx: StageContext, name: string, [m, n]: [number, number], transposed: boolean): { name: string; rowless: boolean } {
  const { g } = ctx;
  const rowless = env.rowless.has(name);
  const lead = rowless ? [] : ctx.kind === "all" ? [0, 0] : [0];
  let x = g.op("Reshape", [name, g.consts.ints([...lead, m, n])]);
  if (transposed) {
    const perm = [...lead.map((_, i) => i), lead.length + 1, lead.length];
    x = g.node("Transpose", [x], { perm: { ints: perm } })[0]!;
  }
  if (rowless) env.rowless.add(x);
  return { name: x, rowless };
}

/** [..rows, m, n] back to [..rows, m·n] (a row-less [m, n] to [m·n]). */
function asRows(env: OpsEnv, ctx: StageContext, name: string, width: number, rowless: boolean): string {
  const lead = rowless ? [] : ctx.kind === "all" ? [0, 0] : [0];
  const y = ctx.g.op("Reshape", [name, ctx.g.consts.ints([...lead, width])]);
  if (rowless) env.rowless.add(y);
  return y;
}


