// Lowering: a checked cell or stack plus a size binding becomes one IR graph for one step.
// Stacks are flattened: layer k's parameters and states are prefixed `l{k}_`, and each layer's
// first output is wired into the next layer's first input.

import type { Expr } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { CellInfo } from "./check.ts";
import { layerSubst, type StackInfo, type UnitInfo } from "./check-stack.ts";
import { emptyGraph, GraphBuilder, isConst, type Graph, type Operand, type ValueId } from "./ir.ts";
import { lowerCall } from "./lower-calls.ts";
import { fold, fromUnary, Lowerer } from "./lower-ops.ts";
import type { Size } from "./sizes.ts";

export type Binding = Record<string, number>;

/** Completes a binding with the unit's defaults; reports unbound and non-positive sizes. */
export function bindDims(u: UnitInfo, given: Readonly<Record<string, number>>, out: Diagnostic[]): Binding | undefined {
  const b: Binding = {};
  let ok = true;
  for (const d of u.dims) {
    const v = given[d.name] ?? d.default;
    if (v === undefined) {
      out.push(diag("CE401", d.span, d.name));
      ok = false;
    } else if (!Number.isInteger(v) || v <= 0) {
      out.push(diag("CE402", d.span, d.name, v));
      ok = false;
    } else b[d.name] = v;
  }
  return ok ? b : undefined;
}

/** Lowers a unit under a complete binding. Returns undefined (with diagnostics) when a size
 *  becomes non-positive or a slice falls out of range once sizes are known. */
export function lowerUnit(u: UnitInfo, binding: Binding, out: Diagnostic[]): Graph | undefined {
  const g = emptyGraph(u.name, u.kind, Object.assign(Object.create(null) as Binding, binding));
  const b = new Lowerer(new GraphBuilder(g), out);
  const outputs = lowerInto(b, u, binding, "", "", new Map());
  if (!outputs || b.failed) return undefined;
  g.outputs = outputs;
  return g;
}

type Ports = { name: string; value: ValueId }[];

function lowerInto(b: Lowerer, u: UnitInfo, binding: Binding, prefix: string, inputPrefix: string, given: Map<string, ValueId>): Ports | undefined {
  return u.kind === "cell" ? lowerCell(b, u, binding, prefix, inputPrefix, given) : lowerStack(b, u, binding, prefix, inputPrefix, given);
}

function lowerStack(b: Lowerer, s: StackInfo, binding: Binding, prefix: string, inputPrefix: string, given: Map<string, ValueId>): Ports | undefined {
  let prev: Ports | undefined;
  for (const [k, layer] of s.layers.entries()) {
    const sub = layerSubst(layer);
    // Prototype-free: a size may be called `__proto__` or `toString`.
    const inner: Binding = Object.create(null) as Binding;
    for (const [name, size] of sub) {
      const v = b.size(size, binding, layer.span, name);
      if (v === undefined) return undefined;
      inner[name] = v;
    }
    const layerPrefix = `${prefix}l${k}_`;
    const wired = new Map<string, ValueId>();
    if (k === 0) for (const [n, v] of given) wired.set(n, v);
    else {
      const first = firstInputName(layer.unit);
      if (first !== undefined && prev?.[0]) wired.set(first, prev[0].value);
    }
    prev = lowerInto(b, layer.unit, inner, layerPrefix, k === 0 ? inputPrefix : layerPrefix, wired);
    if (!prev) return undefined;
  }
  return prev;
}

function firstInputName(u: UnitInfo): string | undefined {
  if (u.kind === "cell") return u.inputs[0]?.name;
  const l0 = u.layers[0];
  return l0 ? firstInputName(l0.unit) : undefined;
}

function lowerCell(b: Lowerer, c: CellInfo, binding: Binding, prefix: string, inputPrefix: string, given: Map<string, ValueId>): Ports | undefined {
  const g = b.builder.g;
  const env = new Map<string, Operand>();
  const vecSize = (s: Size, span: CellInfo["inputs"][number]["span"], what: string) => b.size(s, binding, span, what);

  for (const i of c.inputs) {
    const wired = given.get(i.name);
    if (wired !== undefined) {
      env.set(i.name, { v: wired });
      continue;
    }
    const n = vecSize(i.size, i.span, i.name);
    if (n === undefined) return undefined;
    const v = b.builder.value(inputPrefix + i.name, [n], "input");
    g.inputs.push({ name: inputPrefix + i.name, value: v });
    env.set(i.name, { v });
  }
  const prevStates: { name: string; prev: ValueId; projected: boolean }[] = [];
  for (const s of c.states) {
    const n = vecSize(s.size, s.span, s.name);
    if (n === undefined) return undefined;
    const v = b.builder.value(prefix + s.name, [n], "state");
    prevStates.push({ name: s.name, prev: v, projected: s.projected });
    env.set(s.name, { v });
  }
  for (const p of c.params) {
    const shape: number[] = [];
    for (const d of p.shape) {
      const n = vecSize(d, p.span, p.name);
      if (n === undefined) return undefined;
      shape.push(n);
    }
    const v = b.builder.value(prefix + p.name, shape, "param");
    g.params.push({ name: prefix + p.name, value: v, init: p.init });
    env.set(p.name, { v });
  }

  const expr = (e: Expr): Operand => lowerExpr(b, e, env, binding);

  for (const a of c.assigns) {
    b.span = a.span;
    const key = a.target.primed ? `${a.target.name}'` : a.target.name;
    const local = prefix + (a.target.primed ? `${a.target.name}_next` : a.target.name);
    const before = g.eqns.length;
    let v = expr(a.value);
    if (isConst(v)) {
      // A scalar local (k = 0.5) is a constant, folded into its uses; a state is always a vector.
      if (a.target.primed) return b.bug(`constant assigned to ${key}`);
      env.set(key, v);
      continue;
    }
    // A new state is a value of its own, even when it is just another name (h' = x).
    if (a.target.primed && g.eqns.length === before) v = b.emit("copy", [v]);
    if (!isConst(v) && g.eqns.length > before && g.values[v.v]!.role === "local") g.values[v.v]!.name = local;
    env.set(key, v);
  }
  for (const s of prevStates) {
    const next = env.get(`${s.name}'`);
    if (!next || isConst(next)) return undefined;
    g.states.push({ name: prefix + s.name, prev: s.prev, next: next.v, projected: s.projected });
  }
  const ports: Ports = [];
  for (const o of c.outputs) {
    b.span = undefined;
    const v = expr(o.expr);
    if (isConst(v)) return undefined;
    ports.push({ name: o.name, value: v.v });
  }
  return ports;
}

function lowerExpr(b: Lowerer, e: Expr, env: Map<string, Operand>, binding: Binding): Operand {
  const rec = (x: Expr) => lowerExpr(b, x, env, binding);
  switch (e.kind) {
    case "number":
      return { c: e.value };
    case "ref":
      return env.get(e.primed ? `${e.name}'` : e.name) ?? b.bug(`unbound ${e.name}`);
    case "unary": {
      const x = rec(e.operand);
      return isConst(x) ? { c: -x.c } : b.emit("neg", [x]);
    }
    case "binary": {
      const l = rec(e.left);
      const r = rec(e.right);
      if (e.op === "@") return b.matvec(l, r);
      const op = e.op === "+" ? "add" : e.op === "-" ? "sub" : e.op === "*" ? "mul" : "div";
      if (isConst(l) && isConst(r)) return { c: fold(op, l.c, r.c) };
      return b.emit(op, [l, r]);
    }
    case "call": {
      const args = e.args.map(rec);
      if (args.every(isConst) && e.callee.name !== "concat") {
        const v = fromUnary(e.callee.name, args.map((a) => (a as { c: number }).c));
        if (v !== undefined) return { c: v };
      }
      return lowerCall(b, e.callee.name, args);
    }
    case "slice": {
      const x = rec(e.target);
      const lo = b.sizeExpr(e.lo, binding);
      const hi = b.sizeExpr(e.hi, binding);
      if (isConst(x) || lo === undefined || hi === undefined) return b.bug("bad slice");
      const n = b.builder.shape(x)[0]!;
      if (lo < 0 || hi > n || hi <= lo) {
        b.report(diag("CE216", e.span, lo, hi, n));
        return { c: 0 };
      }
      return b.builder.emit((out) => ({ op: "slice", out, args: [x], lo, span: b.span }), [hi - lo]);
    }
  }
}
