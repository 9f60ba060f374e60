// What an editor asks of a spec (the language server in editor/server): every name in a file with
// its kind, its symbolic shape (`f: [H]`, `W_f: [H, I]`) and where it is declared (in this file
// or one it imports), and every place a name is used. Built on the checker's results; for locals,
// whose shapes the checker keeps to itself, shapes follow the same rules as the checker
// (functions through their signatures), and a name whose shape cannot be told shows none.

import type { CellDecl, Expr, Ident, StackDecl } from "../grammar/ast.ts";
import { sortDiagnostics, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import type { CellInfo } from "./check.ts";
import { checkProgram, type UnitInfo } from "./check-stack.ts";
import type { ArgTy } from "./check-types.ts";
import { functionNames, functionSignature, isProblem } from "./functions.ts";
import { defaultRead, loadProgram, type LoadedFile, type ReadFile } from "./modules.ts";
import { shapeText, type Size, type SymShape } from "./sizes.ts";

export type SymbolKind = "size" | "input" | "state" | "param" | "local" | "cell" | "stack";

export interface SpecSymbol {
  name: string;
  kind: SymbolKind;
  /** What hover shows, e.g. `param W_f: [H, I]`, `state h: [H]`, `cell lstm(I, H)`. */
  detail: string;
  /** Where it is declared (a local: its first assignment). */
  span: Span;
  /** The cell or stack it belongs to (none for a cell or stack itself). */
  scope?: string;
}

export interface SpecOccurrence {
  /** The name as written here. */
  span: Span;
  symbol: SpecSymbol;
}

export interface SpecAnalysis {
  diagnostics: Diagnostic[];
  /** Names declared in the file (cells and stacks it imports included). */
  symbols: SpecSymbol[];
  /** Every use and declaration of a name in the file, in order. */
  occurrences: SpecOccurrence[];
  /** The functions a spec may call. */
  functions: readonly string[];
  /** The text of every file read, by name. */
  sources: Record<string, string>;
}

type Ty = { k: "scalar" } | { k: "vec"; size: Size } | { k: "mat"; rows: Size; cols: Size } | undefined;

/** Checks `text` (named `file`) and lists its names and their uses. Never throws for a user's mistake. */
export function analyzeSpec(text: string, file: string, readFile: ReadFile = defaultRead): SpecAnalysis {
  const program = loadProgram(text, file, readFile);
  const { units, diagnostics } = checkProgram(program);
  const root = program.root;
  const symbols: SpecSymbol[] = [];
  const occurrences: SpecOccurrence[] = [];
  const unitSymbol = new Map<object, SpecSymbol>();
  const symbolOfUnit = (decl: CellDecl | StackDecl, info: UnitInfo | undefined): SpecSymbol => {
    let s = unitSymbol.get(decl);
    if (!s) {
      const dims = decl.dims.map((d) => (d.default ? `${d.name.name} = ${d.default.value}` : d.name.name)).join(", ");
      s = { name: decl.name.name, kind: decl.kind, detail: `${decl.kind} ${decl.name.name}(${dims})${info ? ports(info) : ""}`, span: decl.name.span };
      unitSymbol.set(decl, s);
    }
    return s;
  };
  const scopeUnit = (name: string) => {
    const found = root.scope.get(name);
    return found ? symbolOfUnit(found.decl, units.get(found.decl)) : undefined;
  };

  for (const decl of root.ast.decls) {
    if (decl.kind === "import") {
      for (const n of decl.names) {
        const s = scopeUnit(n.name);
        if (s) occurrences.push({ span: n.span, symbol: s });
      }
      continue;
    }
    const own = symbolOfUnit(decl, units.get(decl));
    symbols.push(own);
    occurrences.push({ span: decl.name.span, symbol: own });
    const sizes = new Map<string, SpecSymbol>();
    for (const d of decl.dims) {
      const s: SpecSymbol = { name: d.name.name, kind: "size", detail: `size ${d.name.name}${d.default ? ` = ${d.default.value}` : ""}`, span: d.name.span, scope: own.name };
      sizes.set(s.name, s);
      symbols.push(s);
      occurrences.push({ span: d.name.span, symbol: s });
    }
    const sizeUse = (e: unknown) => walkSizeNames(e, (id) => {
      const s = sizes.get(id.name);
      if (s) occurrences.push({ span: id.span, symbol: s });
    });
    if (decl.kind === "stack") {
      for (const l of decl.layers) {
        const s = scopeUnit(l.cell.name);
        if (s) occurrences.push({ span: l.cell.span, symbol: s });
        for (const a of l.args) sizeUse(a);
      }
      continue;
    }
    const info = units.get(decl);
    cellNames(decl, info?.kind === "cell" ? info : undefined, own.name, symbols, occurrences, sizeUse);
  }
  // Cells and stacks imported from other files are names of this file too.
  for (const [name, { decl, file: from }] of root.scope) {
    if (from !== root) symbols.push({ ...symbolOfUnit(decl, units.get(decl)), name });
  }
  occurrences.sort((a, b) => a.span.start.offset - b.span.start.offset);
  return { diagnostics: sortDiagnostics([...program.diagnostics, ...diagnostics]), symbols, occurrences, functions: functionNames, sources: program.sources };
}

/** The occurrence of a name at 1-based `line` and `column` (the character under the cursor, or
 *  just after the name's end). */
export function occurrenceAt(a: SpecAnalysis, file: string, line: number, column: number): SpecOccurrence | undefined {
  return a.occurrences.find(
    (o) => o.span.file === file && o.span.start.line === line && o.span.start.column <= column && column <= o.span.end.column && o.span.end.line === line,
  );
}

/** The cell or stack whose text holds `offset` in the root file, for completion. */
export function scopeAt(a: SpecAnalysis, file: string, offset: number): string | undefined {
  const own = a.symbols.filter((s) => (s.kind === "cell" || s.kind === "stack") && s.span.file === file);
  let found: string | undefined;
  for (const s of own) if (s.span.start.offset <= offset) found = s.name;
  return found;
}

function ports(u: UnitInfo): string {
  if (u.kind !== "cell") return "";
  const list = (vs: readonly ({ name: string; size: Size } | { name: string; shape: SymShape })[]) => vs.map((v) => `${v.name}: ${shapeText("size" in v ? [v.size] : v.shape)}`).join(", ");
  return ` { inputs ${list(u.inputs) || "none"}; states ${list(u.states) || "none"} }`;
}

function cellNames(
  decl: CellDecl,
  info: CellInfo | undefined,
  scope: string,
  symbols: SpecSymbol[],
  occurrences: SpecOccurrence[],
  sizeUse: (e: unknown) => void,
): void {
  const names = new Map<string, { symbol: SpecSymbol; ty: Ty }>();
  const add = (id: Ident, kind: SymbolKind, ty: Ty) => {
    if (names.has(id.name)) return;
    const symbol: SpecSymbol = { name: id.name, kind, detail: `${kind} ${id.name}${ty ? `: ${tyText(ty)}` : ""}`, span: id.span, scope };
    names.set(id.name, { symbol, ty });
    symbols.push(symbol);
    occurrences.push({ span: id.span, symbol });
  };
  const sized = (list: readonly ({ name: string; size: Size } | { name: string; shape: SymShape })[] | undefined, name: string): Ty => {
    const v = list?.find((x) => x.name === name);
    if (!v) return undefined;
    const shape = "size" in v ? [v.size] : v.shape;
    return shape.length === 2 ? { k: "mat", rows: shape[0]!, cols: shape[1]! } : { k: "vec", size: shape[0]! };
  };
  for (const s of decl.body) {
    if (s.kind === "input" || s.kind === "state") {
      for (const v of s.vars) {
        add(v.name, s.kind, sized(s.kind === "input" ? info?.inputs : info?.states, v.name.name));
        sizeUse(v.shape);
      }
    } else if (s.kind === "param") {
      for (const v of s.vars) {
        const p = info?.params.find((x) => x.name === v.name.name);
        const ty: Ty = !p ? undefined : p.shape.length === 1 ? { k: "vec", size: p.shape[0]! } : { k: "mat", rows: p.shape[0]!, cols: p.shape[1]! };
        add(v.name, "param", ty);
        sizeUse(v.shape);
      }
    }
  }
  const typeOf = (e: Expr): Ty => {
    switch (e.kind) {
      case "number":
        return { k: "scalar" };
      case "ref":
        return names.get(e.name)?.ty;
      case "unary":
        return typeOf(e.operand);
      case "binary": {
        const l = typeOf(e.left);
        const r = typeOf(e.right);
        if (e.op === "@") return l?.k === "mat" ? { k: "vec", size: l.rows } : undefined;
        if (l?.k === "vec") return l;
        return r?.k === "vec" || r?.k === "scalar" ? r : undefined;
      }
      case "call": {
        const sig = functionSignature(e.callee.name);
        const args = e.args.map(typeOf);
        if (!sig || !sig.arity(args.length) || !args.every((a) => a !== undefined)) return undefined;
        try {
          const r = sig.apply(args as ArgTy[]);
          return isProblem(r) ? undefined : r;
        } catch {
          return undefined;
        }
      }
      case "slice":
        return undefined;
    }
  };
  const uses = (e: Expr): void => {
    if (e.kind === "ref") {
      const n = names.get(e.name);
      if (n) occurrences.push({ span: e.span, symbol: n.symbol });
    } else if (e.kind === "binary") {
      uses(e.left);
      uses(e.right);
    } else if (e.kind === "unary") uses(e.operand);
    else if (e.kind === "call") e.args.forEach(uses);
    else if (e.kind === "slice") {
      uses(e.target);
      sizeUse(e.lo);
      sizeUse(e.hi);
    }
  };
  for (const s of decl.body) {
    if (s.kind === "assign") {
      uses(s.value);
      const known = names.get(s.target.name);
      if (known) occurrences.push({ span: s.target.span, symbol: known.symbol });
      else add({ kind: "ident", name: s.target.name, span: s.target.span }, "local", typeOf(s.value));
    } else if (s.kind === "output") s.values.forEach(uses);
  }
}

function tyText(t: NonNullable<Ty>): string {
  if (t.k === "scalar") return "a number";
  return t.k === "vec" ? shapeText([t.size]) : shapeText([t.rows, t.cols]);
}

/** Calls `f` for every size name in a size or shape expression. */
function walkSizeNames(e: unknown, f: (id: { name: string; span: Span }) => void): void {
  if (typeof e !== "object" || e === null) return;
  const node = e as { kind?: string; name?: unknown; span?: Span };
  if (node.kind === "sizeName" && typeof node.name === "string" && node.span) {
    f({ name: node.name, span: node.span });
    return;
  }
  for (const v of Object.values(e)) if (typeof v === "object" && v !== null && v !== node.span) walkSizeNames(v, f);
}

export type { LoadedFile };
