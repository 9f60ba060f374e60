// The checker's rules for expressions: the type of every operator, call and slice, with a
// diagnostic for each misuse. Names are resolved by the caller (check.ts), which knows what is
// declared and assigned so far; this file knows only shapes.
//
//   A @ v       matrix [m, n] (any matrix value) times vector [n] -> [m]
//   A @ B       matrix [m, k] times matrix [k, n] -> [m, n]
//   + - * /     equal shapes; a number or a [1] value broadcasts over anything (check-types.ts)
//   f(...)      the function table (functions.ts)
//   v[lo:hi]    a slice of a vector

import type { Expr, Ref } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import { sizeOf } from "./check-decls.ts";
import { broadcast, tyText, tyWhat, type ArgTy, type Ty } from "./check-types.ts";
import { functionNames, functionSignature, isProblem } from "./functions.ts";
import { didYouMean } from "./suggest.ts";

export interface ExprContext {
  out: Diagnostic[];
  dimSet: ReadonlySet<string>;
  declared: string;
  /** The type of a name (or a primed name), reporting what is wrong with it. */
  refType: (e: Ref) => Ty;
  /** Called with the right side of every @: states reaching it are projected. */
  projects: (right: Expr) => void;
}

const fold = (op: string, a: number, b: number): number => (op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b);

/** The type of an expression, with every problem in it reported to ctx.out. */
export function exprTyper(ctx: ExprContext): (e: Expr) => Ty {
  const { out } = ctx;

  const typeOf = (e: Expr): Ty => {
    switch (e.kind) {
      case "number":
        return { k: "scalar", value: e.value };
      case "ref":
        return ctx.refType(e);
      case "unary": {
        const t = typeOf(e.operand);
        return t.k === "scalar" && t.value !== undefined ? { k: "scalar", value: -t.value } : t;
      }
      case "binary":
        return e.op === "@" ? productType(e.left, e.right, e.span) : elementwiseType(e.op, e.left, e.right, e.opSpan);
      case "call":
        return callType(e);
      case "slice":
        return sliceType(e);
    }
  };

  const productType = (l: Expr, r: Expr, span: Span): Ty => {
    const a = typeOf(l);
    const b = typeOf(r);
    if (a.k === "error" || b.k === "error") return { k: "error" };
    if (a.k !== "mat") {
      out.push(diag("CE209", l.span, tyWhat(a)));
      return { k: "error" };
    }
    if (b.k === "scalar") {
      out.push(diag("CE214", r.span, "the right side of @", "a vector or a matrix", tyWhat(b)));
      return { k: "error" };
    }
    const inner = b.k === "vec" ? b.size : b.rows;
    if (!a.cols.equals(inner)) {
      out.push(diag("CE201", span, tyText(a), tyText(b), a.cols.toString(), inner.toString()));
      return { k: "error" };
    }
    ctx.projects(r);
    return b.k === "vec" ? { k: "vec", size: a.rows } : { k: "mat", rows: a.rows, cols: b.cols };
  };

  const elementwiseType = (op: string, l: Expr, r: Expr, opSpan: Span): Ty => {
    const a = typeOf(l);
    const b = typeOf(r);
    if (a.k === "error" || b.k === "error") return { k: "error" };
    if (a.k === "scalar" && b.k === "scalar") {
      return a.value === undefined || b.value === undefined ? { k: "scalar" } : { k: "scalar", value: fold(op, a.value, b.value) };
    }
    const res = broadcast(op, a, b);
    if ("ty" in res) return res.ty;
    out.push(diag(res.code, opSpan, ...res.args));
    return { k: "error" };
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
    const r = sig.apply(argTys as ArgTy[]);
    if (isProblem(r)) {
      out.push(diag(r.code, e.args[r.arg]?.span ?? e.span, ...r.args));
      return { k: "error" };
    }
    return r;
  };

  const sliceType = (e: Extract<Expr, { kind: "slice" }>): Ty => {
    const t = typeOf(e.target);
    const lo = sizeOf(e.lo, ctx.dimSet, ctx.declared, out);
    const hi = sizeOf(e.hi, ctx.dimSet, ctx.declared, out);
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
  };

  return typeOf;
}
