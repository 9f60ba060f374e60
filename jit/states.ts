// A spec's state names, read from its declarations without compiling it. A recurrent layer made
// from a spec compiles its kernel only when built (once its input size is known), but a layer with
// returnState must say how many tensors it returns as soon as it is applied in a functional model.
// The names come from the parsed spec in kernel order: a cell's `state` declarations in order; a
// stack's layers in order, layer k's states prefixed `l{k}_` (how the compiler flattens stacks).
// The layer checks them against the compiled kernel's meta when it is built.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { formatDiagnostic, parse, type CellDecl, type SpecFile, type StackDecl } from "../grammar/index.ts";

function read(file: string): SpecFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read spec ${file}: ${(e as Error).message}`);
  }
  const { ast, diagnostics } = parse(text, file);
  const error = diagnostics.find((d) => d.severity === "error");
  if (error) throw new Error(`spec ${file} does not parse: ${formatDiagnostic(error)}`);
  return ast;
}

/** The unit `name` of a file (or its last cell or stack), following imports; with its file. */
function findUnit(file: string, name: string | undefined, depth: number): { decl: CellDecl | StackDecl; file: string } {
  if (depth > 32) throw new Error(`spec ${file}: stacks nest more than 32 deep`);
  const ast = read(file);
  const units = ast.decls.filter((d): d is CellDecl | StackDecl => d.kind === "cell" || d.kind === "stack");
  if (name === undefined) {
    const last = units[units.length - 1];
    if (!last) throw new Error(`spec ${file} declares no cell or stack`);
    return { decl: last, file };
  }
  const own = units.find((u) => u.name.name === name);
  if (own) return { decl: own, file };
  for (const d of ast.decls) {
    if (d.kind === "import" && d.names.some((n) => n.name === name)) return findUnit(path.resolve(path.dirname(file), d.from.value), name, depth + 1);
  }
  throw new Error(`spec ${file} has no cell or stack named '${name}'`);
}

function statesOf(file: string, name: string | undefined, depth: number): string[] {
  const { decl, file: where } = findUnit(file, name, depth);
  if (decl.kind === "cell") return decl.body.flatMap((s) => (s.kind === "state" ? s.vars.map((v) => v.name.name) : []));
  return decl.layers.flatMap((l, k) => statesOf(where, l.cell.name, depth + 1).map((s) => `l${k}_${s}`));
}

/** State names, in kernel order, of the cell or stack `cell` of a spec file (default its last). */
export function specStateNames(specPath: string, cell?: string): string[] {
  return statesOf(path.resolve(specPath), cell, 0);
}
