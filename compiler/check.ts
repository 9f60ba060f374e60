// The checker for one cell: names, single assignment, every state written exactly once, and
// symbolic shapes. It reports every problem as a diagnostic and returns a typed summary of the
// cell (CellInfo) that lowering uses once sizes are bound.

import type { CellDecl, Expr, Ref, SizeExpr, Stmt } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import type { InitSpec } from "../abi/kernel.ts";
import { checkDims, declaredText, initSpec, sizeOf, type DimInfo } from "./check-decls.ts";
import { exprTyper } from "./check-expr.ts";
import { tyText, tyWhat, type Ty } from "./check-types.ts";
import { Size, shapeText, type SymShape } from "./sizes.ts";
import { didYouMean } from "./suggest.ts";

export { checkDims, declaredText, sizeOf, type DimInfo } from "./check-decls.ts";
export { tyText, type Ty } from "./check-types.ts";

export interface VectorInfo {
  name: string;
  size: Size;
  span: Span;
}

export interface StateInfo {
  name: string;
  /** [n] for a vector state, [m, n] for a matrix state (carried as m·n numbers per sample). */
  shape: SymShape;
  span: Span;
  /** Multiplied by a matrix somewhere in the cell (on the right side of an @). */
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

const sameShape = (a: Ty, b: Ty): boolean =>
  (a.k === "vec" && b.k === "vec" && a.size.equals(b.size)) ||
  (a.k === "mat" && b.k === "mat" && a.rows.equals(b.rows) && a.cols.equals(b.cols));

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
  // A size that is not positive under any binding is reported now, as building would (CE404).
  // `[]` is a scalar, the same as `[1]`.
  const shapeOf = (dimsExprs: SizeExpr[], name: string): SymShape | undefined => {
    if (dimsExprs.length === 0) return [Size.of(1)];
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
        let shape = shapeOf(v.shape.dims, v.name.name);
        // Inputs are vectors; a state is a vector or a matrix.
        if (shape && (shape.length > 2 || (s.kind === "input" && shape.length !== 1))) {
          if (s.kind === "input") out.push(diag("CE217", v.shape.span, v.name.name, "inputs"));
          else out.push(diag("CE214", v.shape.span, `the shape of '${v.name.name}'`, "[n] or [m, n]", shapeText(shape)));
          shape = undefined;
        }
        const ty: Ty = !shape ? { k: "error" } : shape.length === 1 ? { k: "vec", size: shape[0]! } : { k: "mat", rows: shape[0]!, cols: shape[1]! };
        if (!declare(v.name.name, v.name.span, s.kind, ty) || !shape) continue;
        if (s.kind === "input") info.inputs.push({ name: v.name.name, size: shape[0]!, span: v.name.span });
        else info.states.push({ name: v.name.name, shape, span: v.name.span, projected: false });
      }
    } else if (s.kind === "param") {
      for (const v of s.vars) {
        const shape = shapeOf(v.shape.dims, v.name.name);
        if (shape && (shape.length < 1 || shape.length > 2)) {
          out.push(diag("CE214", v.shape.span, `the shape of '${v.name.name}'`, "[n] or [m, n]", shapeText(shape)));
        }
        const good = shape && shape.length >= 1 && shape.length <= 2 ? shape : undefined;
        const ty: Ty = !good ? { k: "error" } : good.length === 1 ? { k: "vec", size: good[0]! } : { k: "mat", rows: good[0]!, cols: good[1]! };
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
    // A size name is a number in an expression (`1 / sqrt(H)`), known once sizes are bound.
    if (dimSet.has(e.name) && !later.has(e.name)) return { k: "scalar" };
    if (later.has(e.name)) out.push(diag("CE211", e.span, e.name));
    else out.push(diag("CE203", e.span, e.name, didYouMean(e.name, [...visibleNames(), ...dimSet])));
    return { k: "error" };
  };

  const assignedLocals = new Set<string>();
  const typeOf = exprTyper({
    out,
    dimSet,
    declared,
    refType,
    projects: (r) => {
      for (const st of statesIn(r)) projected.add(st);
    },
  });
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
        const want: Ty = st.shape.length === 1 ? { k: "vec", size: st.shape[0]! } : { k: "mat", rows: st.shape[0]!, cols: st.shape[1]! };
        if (ty.k !== "error" && !sameShape(ty, want)) {
          out.push(diag("CE214", s.value.span, `${t.name}'`, shapeText(st.shape), ty.k === "scalar" ? "a number" : tyText(ty)));
        }
        written.set(t.name, want);
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
          out.push(diag("CE214", v.span, "an output", "a vector", tyWhat(ty)));
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
