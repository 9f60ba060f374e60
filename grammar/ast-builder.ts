// CST -> AST: a Chevrotain CST visitor that builds the typed nodes of ./ast.ts with spans.
// The parser recovers from errors, so any CST child may be missing or be a token Chevrotain
// inserted (no position); such partial nodes are skipped (`undefined`), never guessed at.
// Flat operator chains from the parser get their precedence here (+ - < * / < @, all left).

import type { CstNode, IToken } from "chevrotain";
import type * as A from "./ast.ts";
import { tokenEnd } from "./lexer.ts";
import { cellParser } from "./parser.ts";
import type { SourceText, Span } from "./source.ts";

type Ctx = Record<string, (CstNode | IToken)[] | undefined>;

/** A token that really is in the text (not inserted by error recovery). */
function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset) && Number.isFinite(tokenEnd(t));
}

function toks(ctx: Ctx, key: string): IToken[] {
  return ((ctx[key] ?? []) as IToken[]).filter(real);
}

function tok(ctx: Ctx, key: string): IToken | undefined {
  return toks(ctx, key)[0];
}

function nodes(ctx: Ctx, key: string): CstNode[] {
  return (ctx[key] ?? []) as CstNode[];
}

function node(ctx: Ctx, key: string): CstNode | undefined {
  return nodes(ctx, key)[0];
}

/** Builds each item; returns undefined if any item fails (a list with holes is a partial node). */
function all<T>(items: (T | undefined)[]): T[] | undefined {
  return items.every((x): x is T => x !== undefined) ? items : undefined;
}

const PRECEDENCE: Record<A.BinaryOp, number> = { "+": 1, "-": 1, "*": 2, "/": 2, "@": 3 };

/** Orders operands and operators of a flat chain and folds them by precedence, left-associative. */
function foldChain<E extends { span: Span }>(
  operands: E[],
  ops: IToken[],
  make: (op: string, opTok: IToken, left: E, right: E) => E,
): E | undefined {
  if (operands.length === 0 || operands.length !== ops.length + 1) return undefined;
  const sorted = [...ops].sort((a, b) => a.startOffset - b.startOffset);
  const out: E[] = [operands[0]!];
  const pending: IToken[] = [];
  const prec = (t: IToken): number => PRECEDENCE[t.image as A.BinaryOp];
  const reduce = (): void => {
    const op = pending.pop()!;
    const right = out.pop()!;
    const left = out.pop()!;
    out.push(make(op.image, op, left, right));
  };
  sorted.forEach((op, i) => {
    while (pending.length > 0 && prec(pending[pending.length - 1]!) >= prec(op)) reduce();
    pending.push(op);
    out.push(operands[i + 1]!);
  });
  while (pending.length > 0) reduce();
  return out[0];
}

function unescape(body: string): string {
  return body.replace(/\\(.)/g, (_, c: string) => ({ n: "\n", t: "\t", r: "\r" })[c] ?? c);
}

const BaseVisitor = cellParser.getBaseCstVisitorConstructor();

/** One builder per parse: it knows the source text for spans. */
export class AstBuilder extends BaseVisitor {
  constructor(private readonly src: SourceText) {
    super();
    this.validateVisitor();
  }

  // ---------- helpers ----------

  private tspan(t: IToken): Span {
    return this.src.span(t.startOffset, tokenEnd(t));
  }

  /** From the start of `a` to the end of `b`. */
  private join(a: Span, b: Span): Span {
    return this.src.span(a.start.offset, b.end.offset);
  }

  /** Span from token `first` to the later of the given ends (closing token if real, else last child). */
  private through(first: IToken, closing: IToken | undefined, last: Span | undefined): Span {
    const end = closing ? tokenEnd(closing) : (last?.end.offset ?? tokenEnd(first));
    return this.src.span(first.startOffset, end);
  }

  /**
   * Span from `start` to a closing token. Error recovery may have inserted the closer (it is not in
   * the text); the node is still whole, so it then ends at `fallback`, its last real part.
   */
  private closed(start: Span, close: IToken | undefined, fallback: Span): Span {
    return this.join(start, close ? this.tspan(close) : fallback);
  }

  private ident(t: IToken | undefined): A.Ident | undefined {
    return t ? { kind: "ident", name: t.image, span: this.tspan(t) } : undefined;
  }

  private sub<T>(n: CstNode | undefined): T | undefined {
    if (!n) return undefined;
    return this.visit(n) as T | undefined;
  }

  // ---------- top level ----------

  topDecl(ctx: Ctx): A.TopDecl | undefined {
    return (
      this.sub<A.TopDecl>(node(ctx, "importDecl")) ??
      this.sub<A.TopDecl>(node(ctx, "cellDecl")) ??
      this.sub<A.TopDecl>(node(ctx, "stackDecl"))
    );
  }

  importDecl(ctx: Ctx): A.ImportDecl | undefined {
    const kw = tok(ctx, "Import");
    const str = tok(ctx, "StringLiteral");
    const names = toks(ctx, "Identifier").map((t) => this.ident(t)!);
    if (!kw || !str || names.length === 0) return undefined;
    const closed = str.image.length >= 2 && str.image.endsWith('"') && !str.image.endsWith('\\"');
    const body = closed ? str.image.slice(1, -1) : str.image.slice(1);
    const from: A.StringLit = { kind: "string", value: unescape(body), span: this.tspan(str) };
    return { kind: "import", names, from, span: this.join(this.tspan(kw), from.span) };
  }

  cellDecl(ctx: Ctx): A.CellDecl | undefined {
    const kw = tok(ctx, "Cell");
    const name = this.ident(tok(ctx, "Identifier"));
    const dims = this.sub<A.DimParam[]>(node(ctx, "dimList"));
    if (!kw || !name || !dims) return undefined;
    const body = nodes(ctx, "statement")
      .map((n) => this.sub<A.Stmt>(n))
      .filter((s): s is A.Stmt => s !== undefined);
    const last = body.length > 0 ? body[body.length - 1]!.span : name.span;
    return { kind: "cell", name, dims, body, span: this.through(kw, tok(ctx, "RBrace"), last) };
  }

  stackDecl(ctx: Ctx): A.StackDecl | undefined {
    const kw = tok(ctx, "Stack");
    const name = this.ident(tok(ctx, "Identifier"));
    const dims = this.sub<A.DimParam[]>(node(ctx, "dimList"));
    if (!kw || !name || !dims) return undefined;
    const layers = nodes(ctx, "layerDecl")
      .map((n) => this.sub<A.LayerDecl>(n))
      .filter((l): l is A.LayerDecl => l !== undefined);
    const last = layers.length > 0 ? layers[layers.length - 1]!.span : name.span;
    return { kind: "stack", name, dims, layers, span: this.through(kw, tok(ctx, "RBrace"), last) };
  }

  dimList(ctx: Ctx): A.DimParam[] | undefined {
    // Dims that failed to build are dropped; the cell itself is still worth checking.
    return nodes(ctx, "dimParam")
      .map((n) => this.sub<A.DimParam>(n))
      .filter((d): d is A.DimParam => d !== undefined);
  }

  dimParam(ctx: Ctx): A.DimParam | undefined {
    const name = this.ident(tok(ctx, "Identifier"));
    if (!name) return undefined;
    const eq = (ctx["Equals"] ?? []).length > 0;
    const value = tok(ctx, "Integer");
    if (eq && !value) return undefined;
    if (!value) return { kind: "dimParam", name, span: name.span };
    const def: A.NumberLit = { kind: "number", value: Number(value.image), span: this.tspan(value) };
    return { kind: "dimParam", name, default: def, span: this.join(name.span, def.span) };
  }

  layerDecl(ctx: Ctx): A.LayerDecl | undefined {
    const kw = tok(ctx, "Layer");
    const cell = this.ident(tok(ctx, "Identifier"));
    const args = all(nodes(ctx, "sizeExpr").map((n) => this.sub<A.SizeExpr>(n)));
    if (!kw || !cell || !args) return undefined;
    const last = args.length > 0 ? args[args.length - 1]!.span : cell.span;
    return { kind: "layer", cell, args, span: this.through(kw, tok(ctx, "RParen"), last) };
  }

  // ---------- statements ----------

  statement(ctx: Ctx): A.Stmt | undefined {
    for (const key of ["inputDecl", "stateDecl", "paramDecl", "outputStmt", "assignStmt"]) {
      const n = node(ctx, key);
      if (n) return this.sub<A.Stmt>(n);
    }
    return undefined;
  }

  private varList<K extends "input" | "state">(ctx: Ctx, kwKey: string, kind: K) {
    const kw = tok(ctx, kwKey);
    const vars = all(nodes(ctx, "varDecl").map((n) => this.sub<A.VarDecl>(n)));
    if (!kw || !vars || vars.length === 0) return undefined;
    return { kind, vars, span: this.join(this.tspan(kw), vars[vars.length - 1]!.span) };
  }

  inputDecl(ctx: Ctx): A.InputDecl | undefined {
    return this.varList(ctx, "Input", "input");
  }

  stateDecl(ctx: Ctx): A.StateDecl | undefined {
    return this.varList(ctx, "State", "state");
  }

  varDecl(ctx: Ctx): A.VarDecl | undefined {
    const name = this.ident(tok(ctx, "Identifier"));
    const shape = this.sub<A.ShapeExpr>(node(ctx, "shape"));
    if (!name || !shape || !tok(ctx, "Colon")) return undefined;
    return { kind: "varDecl", name, shape, span: this.join(name.span, shape.span) };
  }

  paramDecl(ctx: Ctx): A.ParamDecl | undefined {
    const kw = tok(ctx, "Param");
    const vars = all(nodes(ctx, "paramVar").map((n) => this.sub<A.ParamVarDecl>(n)));
    if (!kw || !vars || vars.length === 0) return undefined;
    return { kind: "param", vars, span: this.join(this.tspan(kw), vars[vars.length - 1]!.span) };
  }

  paramVar(ctx: Ctx): A.ParamVarDecl | undefined {
    const name = this.ident(tok(ctx, "Identifier"));
    const shape = this.sub<A.ShapeExpr>(node(ctx, "shape"));
    if (!name || !shape || !tok(ctx, "Colon")) return undefined;
    if ((ctx["Equals"] ?? []).length === 0) {
      return { kind: "paramVarDecl", name, shape, span: this.join(name.span, shape.span) };
    }
    const init = this.sub<A.InitExpr>(node(ctx, "initExpr"));
    if (!init) return undefined;
    return { kind: "paramVarDecl", name, shape, init, span: this.join(name.span, init.span) };
  }

  initExpr(ctx: Ctx): A.InitExpr | undefined {
    const name = this.ident(tok(ctx, "Identifier"));
    if (!name) return undefined;
    if ((ctx["LParen"] ?? []).length === 0) return { kind: "init", name, args: [], span: name.span };
    const args = all(nodes(ctx, "signedNumber").map((n) => this.sub<A.NumberLit>(n)));
    if (!args) return undefined;
    const last = args.length > 0 ? args[args.length - 1]!.span : name.span;
    return { kind: "init", name, args, span: this.closed(name.span, tok(ctx, "RParen"), last) };
  }

  signedNumber(ctx: Ctx): A.NumberLit | undefined {
    const num = tok(ctx, "NumberLiteral");
    if (!num) return undefined;
    const minus = tok(ctx, "Minus");
    const value = Number(num.image);
    const span = this.src.span((minus ?? num).startOffset, tokenEnd(num));
    return { kind: "number", value: minus ? -value : value, span };
  }

  assignStmt(ctx: Ctx): A.Assign | undefined {
    const target = this.ref(tok(ctx, "Identifier") ?? tok(ctx, "PrimedIdentifier"));
    const value = this.sub<A.Expr>(node(ctx, "expression"));
    if (!target || !value || !tok(ctx, "Equals")) return undefined;
    return { kind: "assign", target, value, span: this.join(target.span, value.span) };
  }

  outputStmt(ctx: Ctx): A.OutputStmt | undefined {
    const kw = tok(ctx, "Output");
    const values = all(nodes(ctx, "expression").map((n) => this.sub<A.Expr>(n)));
    if (!kw || !values || values.length === 0) return undefined;
    return { kind: "output", values, span: this.join(this.tspan(kw), values[values.length - 1]!.span) };
  }

  // ---------- sizes ----------

  shape(ctx: Ctx): A.ShapeExpr | undefined {
    const open = tok(ctx, "LBracket");
    const close = tok(ctx, "RBracket");
    const dims = all(nodes(ctx, "sizeExpr").map((n) => this.sub<A.SizeExpr>(n)));
    if (!open || !dims) return undefined;
    // `[]` is a scalar: it must really be closed, or it is a shape recovery made up.
    if (dims.length === 0 && !close) return undefined;
    const last = dims.length > 0 ? dims[dims.length - 1]!.span : this.tspan(open);
    return { kind: "shape", dims, span: this.closed(this.tspan(open), close, last) };
  }

  sizeExpr(ctx: Ctx): A.SizeExpr | undefined {
    const atoms = all(nodes(ctx, "sizeAtom").map((n) => this.sub<A.SizeExpr>(n)));
    if (!atoms) return undefined;
    const ops = [...toks(ctx, "Plus"), ...toks(ctx, "Minus"), ...toks(ctx, "Star")];
    return foldChain<A.SizeExpr>(atoms, ops, (op, _t, left, right) => ({
      kind: "sizeBinary",
      op: op as A.SizeBinary["op"],
      left,
      right,
      span: this.join(left.span, right.span),
    }));
  }

  sizeAtom(ctx: Ctx): A.SizeExpr | undefined {
    const int = tok(ctx, "Integer");
    if (int) return { kind: "sizeNum", value: Number(int.image), span: this.tspan(int) };
    const name = tok(ctx, "Identifier");
    if (name) return { kind: "sizeName", name: name.image, span: this.tspan(name) };
    const inner = this.sub<A.SizeExpr>(node(ctx, "sizeExpr"));
    const open = tok(ctx, "LParen");
    const close = tok(ctx, "RParen");
    if (!inner || !open) return undefined;
    return { ...inner, span: this.closed(this.tspan(open), close, inner.span) };
  }

  // ---------- expressions ----------

  expression(ctx: Ctx): A.Expr | undefined {
    const operands = all(nodes(ctx, "unaryExpr").map((n) => this.sub<A.Expr>(n)));
    if (!operands) return undefined;
    const ops = ["Plus", "Minus", "Star", "Slash", "At"].flatMap((k) => toks(ctx, k));
    return foldChain<A.Expr>(operands, ops, (op, opTok, left, right) => ({
      kind: "binary",
      op: op as A.BinaryOp,
      left,
      right,
      opSpan: this.tspan(opTok),
      span: this.join(left.span, right.span),
    }));
  }

  unaryExpr(ctx: Ctx): A.Expr | undefined {
    let e = this.sub<A.Expr>(node(ctx, "primary"));
    for (const s of nodes(ctx, "sliceSuffix")) {
      if (!e) return undefined;
      const bounds = this.sub<{ lo: A.SizeExpr; hi: A.SizeExpr; close: Span }>(s);
      if (!bounds) return undefined;
      e = { kind: "slice", target: e, lo: bounds.lo, hi: bounds.hi, span: this.join(e.span, bounds.close) };
    }
    const minuses = toks(ctx, "Minus");
    for (let i = minuses.length - 1; i >= 0 && e; i--) {
      const m = minuses[i]!;
      e = { kind: "unary", op: "-", operand: e, span: this.join(this.tspan(m), e.span) };
    }
    return e;
  }

  sliceSuffix(ctx: Ctx): { lo: A.SizeExpr; hi: A.SizeExpr; close: Span } | undefined {
    const [loN, hiN] = nodes(ctx, "sizeExpr");
    const lo = this.sub<A.SizeExpr>(loN);
    const hi = this.sub<A.SizeExpr>(hiN);
    const close = tok(ctx, "RBracket");
    if (!lo || !hi || !tok(ctx, "Colon")) return undefined;
    return { lo, hi, close: close ? this.tspan(close) : hi.span };
  }

  primary(ctx: Ctx): A.Expr | undefined {
    const num = tok(ctx, "NumberLiteral");
    if (num) return { kind: "number", value: Number(num.image), span: this.tspan(num) };
    const primed = tok(ctx, "PrimedIdentifier");
    if (primed) return this.ref(primed);
    const name = tok(ctx, "Identifier");
    const open = tok(ctx, "LParen");
    const close = tok(ctx, "RParen");
    const inner = nodes(ctx, "expression");
    if (name && (ctx["LParen"] ?? []).length === 0) return this.ref(name);
    const exprs = all(inner.map((n) => this.sub<A.Expr>(n)));
    if (!exprs) return undefined;
    if (name) {
      const callee = this.ident(name)!;
      const last = exprs.length > 0 ? exprs[exprs.length - 1]!.span : callee.span;
      return { kind: "call", callee, args: exprs, span: this.closed(callee.span, close, last) };
    }
    // A parenthesised expression: the node itself, widened to cover its parentheses.
    const e = exprs[0];
    if (!open || !e || exprs.length !== 1) return undefined;
    return { ...e, span: this.closed(this.tspan(open), close, e.span) };
  }

  private ref(t: IToken | undefined): A.Ref | undefined {
    if (!t) return undefined;
    const primed = t.image.endsWith("'");
    return { kind: "ref", name: primed ? t.image.slice(0, -1) : t.image, primed, span: this.tspan(t) };
  }
}
