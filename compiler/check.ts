// The checker for one cell: names, single assignment, every state written exactly once, and
// symbolic shapes. It reports every problem as a diagnostic and returns a typed summary of the
// cell (CellInfo) that lowering uses once sizes are bound.

import type { CellDecl, Expr, Ref, SizeExpr, Stmt } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import type { InitSpec } from "../abi/kernel.ts";
import { checkDims, declaredText, initSpec, sizeOf } from "./check-decls.ts";
import { functionSignature, functionNames } from "./functions.ts";
import { Size, shapeText, type SymShape } from "./sizes.ts";
import { didYouMean } from "./suggest.ts";

export { checkDims, declaredText, sizeOf } from "./check-decls.ts";

export interface DimInfo {
  name: string;
  default?: number;
  span: Span;
}

export interface VectorInfo {
  name: string;
  size: Size;
  span: Span;
}

export interface StateInfo extends VectorInfo {
  /** Multiplied by a matrix somewhere in the cell. */
  projected: boolean;
}

export interface ParamInfo {
  name: string;
  shape: SymShape;
  init: InitSpec;
  span: Span;
}

export interface OutputInfo {
  name: string;
  size: Size;
  expr: Expr;
}

export interface CellInfo {
  kind: "cell";
  name: string;
  file: string;
  decl: CellDecl;
  dims: DimInfo[];
  inputs: VectorInfo[];
  states: StateInfo[];
  params: ParamInfo[];
  /** Assignments in source order (locals and new states). */
  assigns: { target: Ref; value: Expr; span: Span }[];
  outputs: OutputInfo[];
  /** True when the checker found no error in this cell. */
  ok: boolean;
}

/** The type of an expression: a scalar (maybe with a known value), a vector, or a matrix parameter. */
export type Ty =
  | { k: "scalar"; value?: number }
  | { k: "vec"; size: Size }
  | { k: "mat"; rows: Size; cols: Size; param: string }
  | { k: "error" };

/** Deepest expression a statement may hold; deeper ones are reported, not walked recursively. */
export const MAX_EXPR_DEPTH = 256;

/** Nesting depth of an expression, computed without recursion. */
export function exprDepth(root: Expr): number {
  let deepest = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length) {
    const [e, d] = stack.pop()!;
    if (d > deepest) deepest = d;
    if (e.kind === "binary") stack.push([e.left, d + 1], [e.right, d + 1]);
    else if (e.kind === "unary") stack.push([e.operand, d + 1]);
    else if (e.kind === "call") for (const a of e.args) stack.push([a, d + 1]);
    else if (e.kind === "slice") stack.push([e.target, d + 1]);
  }
  return deepest;
}

export function tyText(t: Ty): string {
  switch (t.k) {
    case "scalar":
      return "a number";
    case "vec":
      return shapeText([t.size]);
    case "mat":
      return shapeText([t.rows, t.cols]);
    case "error":
      return "?";
  }
}

/** Checks one cell. Diagnostics go to `out`. */
export function checkCell(decl: CellDecl, file: string, out: Diagnostic[]): CellInfo {
  const before = out.length;
  const dims = checkDims(decl.dims, out);
  const dimSet = new Set(dims.map((d) => d.name));
  const declared = declaredText(dims);
  const info: CellInfo = {
    kind: "cell",
    name: decl.name.name,
    file,
    decl,
    dims,
    inputs: [],
    states: [],
    params: [],
    assigns: [],
    outputs: [],
    ok: true,
  };

  // Declarations are visible everywhere in the cell; locals from their assignment on.
  const kinds = new Map<string, "input" | "state" | "param" | "local">();
  const types = new Map<string, Ty>();
  // Names declared twice: reported once, then not reported again where they are used.
  const duplicated = new Set<string>();
  const declare = (name: string, span: Span, kind: "input" | "state" | "param", ty: Ty): boolean => {
    if (kinds.has(name)) {
      out.push(diag("CE204", span, name));
      duplicated.add(name);
      return false;
    }
    kinds.set(name, kind);
    types.set(name, ty);
    return true;
  };
  const vectorShape = (shape: SymShape | undefined, what: string, name: string, span: Span): Size | undefined => {
    if (!shape) return undefined;
    if (shape.length !== 1) {
      out.push(diag("CE217", span, name, what));
      return undefined;
    }
    return shape[0];
  };
  // A size that is not positive under any binding is reported now, as building would (CE404).
  const shapeOf = (dimsExprs: SizeExpr[], name: string): SymShape | undefined => {
    const sizes = dimsExprs.map((d) => {
      const size = sizeOf(d, dimSet, declared, out);
      if (size?.alwaysNonPositive()) {
        out.push(diag("CE404", d.span, name, size.toString()));
        return undefined;
      }
      return size;
    });
    return sizes.every((s): s is Size => s !== undefined) ? sizes : undefined;
  };

  for (const s of decl.body) {
    if (s.kind === "input" || s.kind === "state") {
      for (const v of s.vars) {
        const size = vectorShape(shapeOf(v.shape.dims, v.name.name), s.kind === "input" ? "inputs" : "states", v.name.name, v.shape.span);
        const ty: Ty = size ? { k: "vec", size } : { k: "error" };
        if (!declare(v.name.name, v.name.span, s.kind, ty) || !size) continue;
        if (s.kind === "input") info.inputs.push({ name: v.name.name, size, span: v.name.span });
        else info.states.push({ name: v.name.name, size, span: v.name.span, projected: false });
      }
    } else if (s.kind === "param") {
      for (const v of s.vars) {
        const shape = shapeOf(v.shape.dims, v.name.name);
        if (shape && (shape.length < 1 || shape.length > 2)) {
          out.push(diag("CE214", v.shape.span, `the shape of '${v.name.name}'`, "[n] or [m, n]", shapeText(shape)));
        }
        const good = shape && shape.length >= 1 && shape.length <= 2 ? shape : undefined;
        const ty: Ty = !good ? { k: "error" } : good.length === 1 ? { k: "vec", size: good[0]! } : { k: "mat", rows: good[0]!, cols: good[1]!, param: v.name.name };
        const init = initSpec(v.init, good?.length ?? 1, out);
        if (declare(v.name.name, v.name.span, "param", ty) && good) {
          info.params.push({ name: v.name.name, shape: good, init, span: v.name.span });
        }
      }
    }
  }

  // Every name declared as a state, including one whose size had an error (so `h' = ...` is
  // not then reported as assigning to a non-state).
  const stateNames = new Set([...kinds].filter(([, k]) => k === "state").map(([n]) => n));
  const written = new Map<string, Ty>(); // state name -> type of its new value
  const projected = new Set<string>();
  const assignStmts = decl.body.filter((s): s is Extract<Stmt, { kind: "assign" }> => s.kind === "assign");
  const later = new Set(assignStmts.filter((s) => !s.target.primed).map((s) => s.target.name));
  const writtenSomewhere = new Set(assignStmts.filter((s) => s.target.primed).map((s) => s.target.name));
  const primedNotState = new Set<string>();
  // Names read somewhere (declarations and locals), for the unused-name warnings.
  const used = new Set<string>();
  // Names a reference could have meant: declarations, and locals assigned so far.
  const visibleNames = () => [...kinds.keys()].filter((n) => kinds.get(n) !== "local" || assignedLocals.has(n));

  const typeOf = (e: Expr): Ty => {
    switch (e.kind) {
      case "number":
        return { k: "scalar", value: e.value };
      case "ref":
        return refType(e);
      case "unary": {
        const t = typeOf(e.operand);
        if (t.k === "mat") {
          out.push(diag("CE217", e.operand.span, t.param, "negated"));
          return { k: "error" };
        }
        return t.k === "scalar" ? (t.value === undefined ? t : { k: "scalar", value: -t.value }) : t;
      }
      case "binary":
        return binaryType(e.op, e.left, e.right, e.span, e.opSpan);
      case "call":
        return callType(e);
      case "slice": {
        const t = typeOf(e.target);
        const lo = sizeOf(e.lo, dimSet, declared, out);
        const hi = sizeOf(e.hi, dimSet, declared, out);
        if (t.k === "error" || !lo || !hi) return { k: "error" };
        if (t.k !== "vec") {
          out.push(diag("CE214", e.target.span, "a sliced value", "a vector", tyText(t)));
          return { k: "error" };
        }
        // Reported when out of range under every binding (so every build would fail); a slice
        // that fails only under some bindings is reported when those are built.
        const len = hi.sub(lo);
        if (len.alwaysNonPositive() || lo.alwaysNegative() || t.size.sub(hi).alwaysNegative()) {
          out.push(diag("CE216", e.span, lo.toString(), hi.toString(), t.size.toString()));
          return { k: "error" };
        }
        return { k: "vec", size: len };
      }
    }
  };

  // `y'` for a name y that is not a state: reported at its first use only.
  const notState = (name: string, span: Span) => {
    if (duplicated.has(name) || primedNotState.has(name)) return;
    primedNotState.add(name);
    out.push(diag("CE210", span, name));
  };
  const refType = (e: Ref): Ty => {
    if (e.primed) {
      if (!stateNames.has(e.name)) {
        notState(e.name, e.span);
        return { k: "error" };
      }
      const t = written.get(e.name);
      if (!t) {
        // A state written nowhere already has its CE205; its uses are not news.
        if (writtenSomewhere.has(e.name)) out.push(diag("CE211", e.span, `${e.name}'`));
        return { k: "error" };
      }
      return t;
    }
    const t = types.get(e.name);
    if (t) {
      used.add(e.name);
      if (kinds.get(e.name) === "local" && !assignedLocals.has(e.name)) {
        out.push(diag("CE211", e.span, e.name));
        return { k: "error" };
      }
      return t;
    }
    if (later.has(e.name)) out.push(diag("CE211", e.span, e.name));
    else out.push(diag("CE203", e.span, e.name, didYouMean(e.name, visibleNames())));
    return { k: "error" };
  };

  const binaryType = (op: string, l: Expr, r: Expr, span: Span, opSpan: Span): Ty => {
    const a = typeOf(l);
    const b = typeOf(r);
    if (a.k === "error" || b.k === "error") return { k: "error" };
    if (op === "@") {
      if (a.k !== "mat") {
        out.push(diag("CE209", l.span, a.k === "vec" ? `a vector ${tyText(a)}` : tyText(a)));
        return { k: "error" };
      }
      if (b.k !== "vec") {
        out.push(diag("CE214", r.span, "the right side of @", "a vector", b.k === "mat" ? `a matrix ${tyText(b)}` : tyText(b)));
        return { k: "error" };
      }
      if (!a.cols.equals(b.size)) {
        out.push(diag("CE201", span, tyText(a), tyText(b), a.cols.toString(), b.size.toString()));
        return { k: "error" };
      }
      for (const st of statesIn(r)) projected.add(st);
      return { k: "vec", size: a.rows };
    }
    if (a.k === "mat" || b.k === "mat") {
      const m = a.k === "mat" ? a : (b as { param: string });
      out.push(diag("CE217", (a.k === "mat" ? l : r).span, m.param, `combined with '${op}'`));
      return { k: "error" };
    }
    if (a.k === "scalar" && b.k === "scalar") {
      if (a.value === undefined || b.value === undefined) return { k: "scalar" };
      const v = op === "+" ? a.value + b.value : op === "-" ? a.value - b.value : op === "*" ? a.value * b.value : a.value / b.value;
      return { k: "scalar", value: v };
    }
    if (a.k === "vec" && b.k === "vec" && !a.size.equals(b.size)) {
      out.push(diag("CE202", opSpan, op, tyText(a), tyText(b)));
      return { k: "error" };
    }
    return a.k === "vec" ? a : b;
  };

  const callType = (e: Extract<Expr, { kind: "call" }>): Ty => {
    const name = e.callee.name;
    const sig = functionSignature(name);
    if (!sig) {
      out.push(diag("CE207", e.callee.span, name, didYouMean(name, functionNames)));
      for (const a of e.args) typeOf(a);
      return { k: "error" };
    }
    const argTys = e.args.map(typeOf);
    if (!sig.arity(e.args.length)) {
      out.push(diag("CE208", e.span, name, sig.arityText, e.args.length));
      return { k: "error" };
    }
    if (argTys.some((t) => t.k === "error")) return { k: "error" };
    const matIdx = argTys.findIndex((t) => t.k === "mat");
    if (matIdx >= 0) {
      out.push(diag("CE217", e.args[matIdx]!.span, (argTys[matIdx] as { param: string }).param, `passed to ${name}`));
      return { k: "error" };
    }
    const problem = sig.check(argTys as Exclude<Ty, { k: "mat" } | { k: "error" }>[]);
    if (problem) {
      out.push(diag(problem.code, e.args[problem.arg]?.span ?? e.span, ...problem.args));
      return { k: "error" };
    }
    return sig.result(argTys as Exclude<Ty, { k: "mat" } | { k: "error" }>[]);
  };

  const assignedLocals = new Set<string>();
  // States each local depends on, to find the states that reach the right side of an @.
  const localStates = new Map<string, Set<string>>();
  const statesIn = (e: Expr, acc = new Set<string>()): Set<string> => {
    if (e.kind === "ref" && !e.primed) {
      if (stateNames.has(e.name)) acc.add(e.name);
      for (const st of localStates.get(e.name) ?? []) acc.add(st);
    } else if (e.kind === "binary") {
      statesIn(e.left, acc);
      statesIn(e.right, acc);
    } else if (e.kind === "unary") statesIn(e.operand, acc);
    else if (e.kind === "call") for (const a of e.args) statesIn(a, acc);
    else if (e.kind === "slice") statesIn(e.target, acc);
    return acc;
  };
  const tooDeep = (e: Expr): boolean => {
    const d = exprDepth(e);
    if (d <= MAX_EXPR_DEPTH) return false;
    out.push(diag("CE220", e.span, d, MAX_EXPR_DEPTH));
    return true;
  };
  for (const s of decl.body) {
    if (s.kind === "assign") {
      if (tooDeep(s.value)) {
        // Leave it unchecked, but do not report its target as missing.
        if (s.target.primed) written.set(s.target.name, { k: "error" });
        else {
          kinds.set(s.target.name, "local");
          types.set(s.target.name, { k: "error" });
          assignedLocals.add(s.target.name);
        }
        continue;
      }
      const ty = typeOf(s.value);
      const t = s.target;
      if (t.primed) {
        if (!stateNames.has(t.name)) {
          notState(t.name, t.span);
          continue;
        }
        if (written.has(t.name)) {
          out.push(diag("CE219", t.span, t.name));
          continue;
        }
        const st = info.states.find((x) => x.name === t.name);
        if (!st) {
          written.set(t.name, { k: "error" }); // its declaration had an error, already reported
          continue;
        }
        if (ty.k !== "error" && !(ty.k === "vec" && ty.size.equals(st.size))) {
          out.push(diag("CE214", s.value.span, `${t.name}'`, shapeText([st.size]), ty.k === "scalar" ? "a number" : tyText(ty)));
        }
        written.set(t.name, { k: "vec", size: st.size });
        info.assigns.push({ target: t, value: s.value, span: s.span });
      } else {
        const kind = kinds.get(t.name);
        if (kind === "local") {
          out.push(diag("CE204", t.span, t.name));
          continue;
        }
        if (kind) {
          out.push(diag("CE206", t.span, kind === "param" ? "parameter" : kind, t.name));
          continue;
        }
        kinds.set(t.name, "local");
        types.set(t.name, ty);
        localStates.set(t.name, statesIn(s.value));
        assignedLocals.add(t.name);
        info.assigns.push({ target: t, value: s.value, span: s.span });
      }
    } else if (s.kind === "output") {
      for (const v of s.values) {
        if (tooDeep(v)) continue;
        const ty = typeOf(v);
        if (ty.k === "error") continue;
        if (ty.k !== "vec") {
          out.push(diag("CE214", v.span, "an output", "a vector", ty.k === "mat" ? `a matrix ${tyText(ty)}` : tyText(ty)));
          continue;
        }
        let name = v.kind === "ref" ? v.name : `out${info.outputs.length}`;
        while (info.outputs.some((o) => o.name === name)) name = `${name}_${info.outputs.length}`;
        info.outputs.push({ name, size: ty.size, expr: v });
      }
    }
  }

  for (const st of info.states) {
    if (!written.has(st.name)) out.push(diag("CE205", st.span, st.name));
    st.projected = projected.has(st.name);
  }
  if (info.outputs.length === 0 && !decl.body.some((s) => s.kind === "output")) {
    out.push(diag("CE212", decl.name.span, decl.name.name));
  }
  info.ok = !out.slice(before).some((d) => d.severity === "error");
  // Names never read are warnings, given only for a cell with no errors: with an error, a name
  // may look unused only because the statement reading it was not understood.
  if (info.ok) {
    for (const p of info.params) if (!used.has(p.name)) out.push(diag("CE222", p.span, p.name));
    for (const i of info.inputs) if (!used.has(i.name)) out.push(diag("CE223", i.span, i.name));
    for (const a of info.assigns) {
      if (!a.target.primed && !used.has(a.target.name)) out.push(diag("CE224", a.target.span, a.target.name));
    }
  }
  return info;
}
