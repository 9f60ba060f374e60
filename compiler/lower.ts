// Lowering: a checked cell or stack plus a size binding becomes one IR graph for one step.
// Stacks are flattened: layer k's parameters and states are prefixed `l{k}_`, and each layer's
// first output is wired into the next layer's first input.

import type { Expr } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { DimsSource } from "./api-types.ts";
import type { CellInfo } from "./check.ts";
import { layerSubst, type StackInfo, type UnitInfo } from "./check-stack.ts";
import { emptyGraph, GraphBuilder, isConst, type Graph, type Operand, type ValueId } from "./ir.ts";
import { lowerCall } from "./lower-calls.ts";
import { Lowerer } from "./lower-ops.ts";
import type { Size } from "./sizes.ts";

export type Binding = Record<string, number>;

/** How `name` would be bound, in the words of the caller who left it unbound. */
function bindHint(name: string, source: DimsSource): string {
  switch (source) {
    case "cli":
      return `pass --dims ${name}=N`;
    case "config":
      return `add "${name}": N to the entry's "dims" in the config`;
    case "layer":
      return `pass it in the layer's options as dims: { ${name}: N }`;
    case "api":
      return `pass dims: { ${name}: N }`;
  }
}

/** How the caller wrote a binding, for CE405. */
function bindingText(name: string, value: unknown, source: DimsSource): string {
  switch (source) {
    case "cli":
      return `--dims ${name}=${valueText(value)}`;
    case "config":
      return `the config's "dims"`;
    case "layer":
      return "the layer's options";
    case "api":
      return "dims";
  }
}

/** A binding's value as a message shows it: a number as written, anything else with its type. */
function valueText(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return v === null ? "null" : typeof v;
}

/**
 * Completes a binding with the unit's defaults; reports unbound sizes (CE401), values that are not
 * positive safe integers (CE402), and a given name that differs from a declared one only in case
 * (CE405). Only the given object's own properties count, so sizes named `toString` or `__proto__`
 * bind like any other; the result has no prototype for the same reason.
 */
export function bindDims(
  u: UnitInfo,
  given: Readonly<Record<string, number>>,
  out: Diagnostic[],
  source: DimsSource = "api",
): Binding | undefined {
  const b: Binding = Object.create(null) as Binding;
  let ok = true;
  const declared = new Set(u.dims.map((d) => d.name));
  const givenNames = Object.keys(given);
  for (const d of u.dims) {
    const has = Object.hasOwn(given, d.name);
    const v: unknown = has ? given[d.name] : d.default;
    // `p=4` for a size `P`: an error, not a silently ignored binding and a default or CE401.
    const near = has ? undefined : givenNames.find((n) => !declared.has(n) && n.toLowerCase() === d.name.toLowerCase());
    if (near !== undefined) {
      out.push(diag("CE405", d.span, bindingText(near, given[near], source), near, u.name, d.name));
      ok = false;
    } else if (v === undefined) {
      out.push(diag("CE401", d.span, d.name, bindHint(d.name, source)));
      ok = false;
    } else if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      const shown = typeof v === "number" && Number.isInteger(v) && v > 0 ? `${valueText(v)} (larger than 2^53 - 1)` : valueText(v);
      out.push(diag("CE402", d.span, d.name, shown));
      ok = false;
    } else b[d.name] = v;
  }
  return ok ? b : undefined;
}

/** Lowers a unit under a complete binding. Returns undefined (with diagnostics) when a size
 *  becomes non-positive or a slice falls out of range once sizes are known. */
export function lowerUnit(u: UnitInfo, binding: Binding, out: Diagnostic[]): Graph | undefined {
  const g = emptyGraph(u.name, u.kind, Object.assign(Object.create(null) as Binding, binding));
  const builder = new GraphBuilder(g);
  const b = new Lowerer(builder, out);
  g.active = builder.value("active", [1], "seq");
  const outputs = lowerInto(b, u, binding, "", "", new Map());
  if (!outputs || b.failed) return undefined;
  // Sequence semantics: past its length a sample keeps its state and outputs zeros.
  for (const s of g.states) {
    b.statement(`${s.name}_next`, undefined);
    s.next = builder.ew("select", [{ v: g.active }, { v: s.next }, { v: s.prev }], undefined, undefined, `${s.name}_next`).v;
  }
  g.outputs = outputs.map((o) => {
    const y = builder.ew("select", [{ v: g.active }, { v: o.value }, { c: 0 }], undefined, undefined, `${o.name}_out`);
    return { name: o.name, value: y.v };
  });
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
    const inner: Binding = Object.create(null) as Binding; // size names may be `__proto__`
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
  const prevStates: { name: string; prev: ValueId; mask: ValueId; projected: boolean }[] = [];
  for (const s of c.states) {
    const shape: number[] = [];
    for (const d of s.shape) {
      const n = vecSize(d, s.span, s.name);
      if (n === undefined) return undefined;
      shape.push(n);
    }
    // The state as carried, its recurrent-dropout mask, and the state as the cell reads it.
    const v = b.builder.value(prefix + s.name, shape, "state");
    const mask = b.builder.value(`mask_${prefix}${s.name}`, [...shape], "seq");
    b.statement(`${prefix}${s.name}_read`, undefined);
    const read = b.builder.ew("mul", [{ v }, { v: mask }], undefined, undefined, `${prefix}${s.name}_read`);
    prevStates.push({ name: s.name, prev: v, mask, projected: s.projected });
    env.set(s.name, read);
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
    const key = a.target.primed ? `${a.target.name}'` : a.target.name;
    const local = prefix + (a.target.primed ? `${a.target.name}_new` : a.target.name);
    b.statement(local, a.span);
    const before = g.eqns.length;
    let v = expr(a.value);
    if (isConst(v)) {
      // A scalar local (k = 0.5) is a constant, folded into its uses; a state is always a vector.
      if (a.target.primed) return b.bug(`constant assigned to ${key}`);
      env.set(key, v);
      continue;
    }
    // A new state is a value of its own, even when it is just another name (h' = x).
    if (a.target.primed && g.eqns.length === before) v = b.ew("copy", [v]) as { v: ValueId };
    if (!isConst(v) && g.eqns.length > before && g.values[v.v]!.role === "local") g.values[v.v]!.name = local;
    env.set(key, v);
  }
  for (const s of prevStates) {
    const next = env.get(`${s.name}'`);
    if (!next || isConst(next)) return undefined;
    g.states.push({ name: prefix + s.name, prev: s.prev, next: next.v, mask: s.mask, projected: s.projected });
  }
  const ports: Ports = [];
  for (const o of c.outputs) {
    b.statement(`${prefix}${o.name}`, undefined);
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
    case "ref": {
      const v = env.get(e.primed ? `${e.name}'` : e.name);
      if (v) return v;
      // A size used as a number.
      if (!e.primed && Object.hasOwn(binding, e.name)) return { c: binding[e.name]! };
      return b.bug(`unbound ${e.name}`);
    }
    case "unary": {
      const x = rec(e.operand);
      return b.ew("neg", [x]);
    }
    case "binary": {
      if (e.op === "@") return lowerProduct(b, e.left, e.right, rec);
      const l = rec(e.left);
      const r = rec(e.right);
      const op = e.op === "+" ? "add" : e.op === "-" ? "sub" : e.op === "*" ? "mul" : "div";
      return b.ew(op, [l, r]);
    }
    case "call": {
      const args = e.args.map(rec);
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
      return b.slice(x, lo, hi - lo);
    }
  }
}

/** `transpose(X)` as written, or undefined: a product reads X transposed instead of copying it. */
function transposed(e: Expr): Expr | undefined {
  return e.kind === "call" && e.callee.name === "transpose" && e.args.length === 1 ? e.args[0] : undefined;
}

/**
 * A @ B. A parameter matrix times a vector is a product over the whole batch (one GEMM, reading
 * the parameter transposed for transpose(W) @ v); any other product is per sample (bmm), reading
 * transposed operands in place.
 */
function lowerProduct(b: Lowerer, left: Expr, right: Expr, rec: (x: Expr) => Operand): Operand {
  const lt = transposed(left);
  const rt = transposed(right);
  const A = rec(lt ?? left);
  const B = rec(rt ?? right);
  if (isConst(A) || isConst(B)) return b.bug("product of a number");
  const [ra, ca] = b.builder.shape(A) as [number, number];
  const [m, k] = lt ? [ca, ra] : [ra, ca];
  const sb = b.builder.shape(B);
  if (sb.length === 1) {
    if (b.builder.g.values[A.v]!.role === "param") return lt ? b.matvecT(A, B) : b.matvec(A, B);
    return b.bmm(A, B, m, k, 1, lt !== undefined, false, [m]);
  }
  const n = rt ? sb[0]! : sb[1]!;
  return b.bmm(A, B, m, k, n, lt !== undefined, rt !== undefined, [m, n]);
}
