// The AST of a .cell file: discriminated unions on `kind`, every node with a source span.
// Built from Chevrotain's CST by the visitor in ./ast-builder.ts; carries no semantics.

import type { Span } from "./source.ts";

export interface Ident {
  kind: "ident";
  name: string;
  span: Span;
}

// ---------- sizes: `4*H`, `I + H`, `(H + 1) * 2` ----------

export type SizeExpr = SizeNum | SizeName | SizeBinary;

export interface SizeNum {
  kind: "sizeNum";
  value: number;
  span: Span;
}

export interface SizeName {
  kind: "sizeName";
  name: string;
  span: Span;
}

export interface SizeBinary {
  kind: "sizeBinary";
  op: "+" | "-" | "*";
  left: SizeExpr;
  right: SizeExpr;
  span: Span;
}

/** `[H]`, `[H, I]`, or `[]` (no dims: a scalar, the same as `[1]`). */
export interface ShapeExpr {
  kind: "shape";
  dims: SizeExpr[];
  span: Span;
}

// ---------- expressions ----------

export type Expr = NumberLit | Ref | Binary | Unary | Call | Slice;

export interface NumberLit {
  kind: "number";
  value: number;
  span: Span;
}

/** `h` (a name) or `h'` (the new value of state h, or of a local named with a prime). */
export interface Ref {
  kind: "ref";
  name: string;
  primed: boolean;
  span: Span;
}

export type BinaryOp = "+" | "-" | "*" | "/" | "@";

export interface Binary {
  kind: "binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
  /** Span of the operator token itself. */
  opSpan: Span;
  span: Span;
}

export interface Unary {
  kind: "unary";
  op: "-";
  operand: Expr;
  span: Span;
}

/** `sigmoid(x)`, `concat(a, b)`, `clip(v, -1, 1)`. */
export interface Call {
  kind: "call";
  callee: Ident;
  args: Expr[];
  span: Span;
}

/** `v[lo:hi]`, bounds are size expressions. */
export interface Slice {
  kind: "slice";
  target: Expr;
  lo: SizeExpr;
  hi: SizeExpr;
  span: Span;
}

// ---------- statements inside a cell ----------

export interface VarDecl {
  kind: "varDecl";
  name: Ident;
  shape: ShapeExpr;
  span: Span;
}

export interface InitExpr {
  kind: "init";
  /** zeros | ones | const | uniform | normal | glorot | orthogonal (checked later). */
  name: Ident;
  /** Numeric arguments, e.g. uniform(-0.1, 0.1); empty when written without parentheses. */
  args: NumberLit[];
  span: Span;
}

export interface ParamVarDecl {
  kind: "paramVarDecl";
  name: Ident;
  shape: ShapeExpr;
  init?: InitExpr;
  span: Span;
}

export interface InputDecl {
  kind: "input";
  vars: VarDecl[];
  span: Span;
}

export interface StateDecl {
  kind: "state";
  vars: VarDecl[];
  span: Span;
}

export interface ParamDecl {
  kind: "param";
  vars: ParamVarDecl[];
  span: Span;
}

/** `f = sigmoid(...)` or `c' = f * c + i * g`. */
export interface Assign {
  kind: "assign";
  target: Ref;
  value: Expr;
  span: Span;
}

/** `output h'` or `output y, h'`. */
export interface OutputStmt {
  kind: "output";
  values: Expr[];
  span: Span;
}

export type Stmt = InputDecl | StateDecl | ParamDecl | Assign | OutputStmt;

// ---------- top level ----------

/** `H` or `P = 32` in `cell lstmp(I, H, P = 32)`. */
export interface DimParam {
  kind: "dimParam";
  name: Ident;
  default?: NumberLit;
  span: Span;
}

export interface CellDecl {
  kind: "cell";
  name: Ident;
  dims: DimParam[];
  body: Stmt[];
  span: Span;
}

/** `layer lstm(I, H)` inside a stack. */
export interface LayerDecl {
  kind: "layer";
  cell: Ident;
  args: SizeExpr[];
  span: Span;
}

export interface StackDecl {
  kind: "stack";
  name: Ident;
  dims: DimParam[];
  layers: LayerDecl[];
  span: Span;
}

export interface StringLit {
  kind: "string";
  value: string;
  span: Span;
}

/** `import { lstm, gru } from "./lstm.cell"`. */
export interface ImportDecl {
  kind: "import";
  names: Ident[];
  from: StringLit;
  span: Span;
}

export type TopDecl = ImportDecl | CellDecl | StackDecl;

export interface SpecFile {
  kind: "file";
  file: string;
  decls: TopDecl[];
  span: Span;
}

export type Node =
  | Ident
  | SizeExpr
  | ShapeExpr
  | Expr
  | VarDecl
  | InitExpr
  | ParamVarDecl
  | Stmt
  | DimParam
  | LayerDecl
  | StringLit
  | TopDecl
  | SpecFile;

export const isCell = (d: TopDecl): d is CellDecl => d.kind === "cell";
export const isStack = (d: TopDecl): d is StackDecl => d.kind === "stack";
export const isImport = (d: TopDecl): d is ImportDecl => d.kind === "import";
export const isAssign = (s: Stmt): s is Assign => s.kind === "assign";
