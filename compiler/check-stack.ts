// Checks stacks (`stack deep(I, H) { layer lstm(I, H) ... }`) and every cell of a program, each
// unit once. A stack's layers are chained: each layer's first output feeds the next layer's
// first input, so their sizes must agree symbolically.

import type { StackDecl } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { Span } from "../grammar/source.ts";
import { checkCell, checkDims, declaredText, sizeOf, type CellInfo, type DimInfo, type VectorInfo } from "./check.ts";
import type { LoadedFile, Program, UnitDecl } from "./modules.ts";
import { isSize, Size } from "./sizes.ts";
import { didYouMean } from "./suggest.ts";

export interface LayerInfo {
  unit: UnitInfo;
  /** The layer's sizes in terms of the stack's sizes, one per size the unit declares. */
  args: Size[];
  span: Span;
}

export interface StackInfo {
  kind: "stack";
  name: string;
  file: string;
  decl: StackDecl;
  dims: DimInfo[];
  layers: LayerInfo[];
  ok: boolean;
}

export type UnitInfo = CellInfo | StackInfo;

interface Port {
  name: string;
  size: Size;
}

/** A unit's inputs in terms of its own sizes. A stack's are its first layer's, plus any further
 *  inputs of later layers, named l{k}_name. */
export function unitInputs(u: UnitInfo): Port[] {
  if (u.kind === "cell") return u.inputs.map((i: VectorInfo) => ({ name: i.name, size: i.size }));
  const out: Port[] = [];
  u.layers.forEach((l, k) => {
    const sub = layerSubst(l);
    unitInputs(l.unit).forEach((p, j) => {
      if (k === 0) out.push({ name: p.name, size: p.size.substitute(sub) });
      else if (j > 0) out.push({ name: `l${k}_${p.name}`, size: p.size.substitute(sub) });
    });
  });
  return out;
}

/** A unit's outputs in terms of its own sizes; a stack's are its last layer's. */
export function unitOutputs(u: UnitInfo): Port[] {
  if (u.kind === "cell") return u.outputs.map((o) => ({ name: o.name, size: o.size }));
  const last = u.layers[u.layers.length - 1];
  if (!last) return [];
  const sub = layerSubst(last);
  return unitOutputs(last.unit).map((p) => ({ name: p.name, size: p.size.substitute(sub) }));
}

export function layerSubst(l: LayerInfo): Map<string, Size> {
  return new Map(l.unit.dims.map((d, i) => [d.name, l.args[i] ?? Size.of(d.default ?? 0)]));
}

/** Checks every cell and stack in every file of the program. */
export function checkProgram(p: Program): { units: Map<UnitDecl, UnitInfo>; diagnostics: Diagnostic[] } {
  const units = new Map<UnitDecl, UnitInfo>();
  const diagnostics: Diagnostic[] = [];
  const visiting = new Set<UnitDecl>();

  const checkUnit = (decl: UnitDecl, file: LoadedFile): UnitInfo => {
    const done = units.get(decl);
    if (done) return done;
    visiting.add(decl);
    const broken = file.broken.has(decl);
    // A declaration with syntax errors is checked into a throwaway list and marked not ok.
    const sink = broken ? [] : diagnostics;
    const info = decl.kind === "cell" ? checkCell(decl, file.file, sink) : checkStack(decl, file, sink);
    if (broken) info.ok = false;
    visiting.delete(decl);
    units.set(decl, info);
    return info;
  };

  const checkStack = (decl: StackDecl, file: LoadedFile, diagnostics: Diagnostic[]): StackInfo => {
    const before = diagnostics.length;
    const dims = checkDims(decl.dims, diagnostics);
    const dimSet = new Set(dims.map((d) => d.name));
    const info: StackInfo = { kind: "stack", name: decl.name.name, file: file.file, decl, dims, layers: [], ok: true };
    if (decl.layers.length === 0) diagnostics.push(diag("CE306", decl.name.span, decl.name.name, "layers"));
    let prevOut: Size | undefined;
    let prevOk = false;
    decl.layers.forEach((layer, k) => {
      const found = file.scope.get(layer.cell.name);
      if (!found || visiting.has(found.decl)) {
        if (!file.unresolved.has(layer.cell.name)) {
          diagnostics.push(diag("CE303", layer.cell.span, layer.cell.name, found ? "" : didYouMean(layer.cell.name, file.scope.keys())));
        }
        prevOk = false;
        return;
      }
      const unit = checkUnit(found.decl, found.file);
      const required = unit.dims.filter((d) => d.default === undefined).length;
      if (layer.args.length < required || layer.args.length > unit.dims.length) {
        const want = required === unit.dims.length ? `${required}` : `${required} to ${unit.dims.length}`;
        diagnostics.push(diag("CE208", layer.span, layer.cell.name, `${want} sizes (${declaredText(unit.dims)})`, layer.args.length));
        prevOk = false;
        return;
      }
      const args = layer.args.map((a, i) => {
        const size = sizeOf(a, dimSet, declaredText(dims), diagnostics);
        // Not positive under any binding: every build would report it (CE404), so check does.
        if (size?.alwaysNonPositive()) {
          diagnostics.push(diag("CE404", a.span, unit.dims[i]!.name, size.toString()));
          return undefined;
        }
        return size;
      });
      if (!args.every((a): a is Size => a !== undefined)) {
        prevOk = false;
        return;
      }
      const li: LayerInfo = { unit, args, span: layer.span };
      // The unit's ports in the stack's sizes must stay within the size limits (a layer's sizes
      // substituted into a cell's products can grow past them).
      const subst = layerSubst(li);
      const tooLarge = [...unitInputs(unit), ...unitOutputs(unit)]
        .map((p) => p.size.substituteChecked(subst))
        .find((r) => !isSize(r));
      if (tooLarge && !isSize(tooLarge)) {
        diagnostics.push(diag("CE221", layer.span, tooLarge.problem));
        prevOk = false;
        return;
      }
      info.layers.push(li);
      const ins = unitInputs(unit);
      const outs = unitOutputs(unit);
      const sub = layerSubst(li);
      if (k > 0) {
        if (ins.length === 0) diagnostics.push(diag("CE306", layer.cell.span, layer.cell.name, "input"));
        else if (prevOk && prevOut && unit.ok) {
          const inSize = ins[0]!.size.substitute(sub);
          if (!inSize.equals(prevOut)) diagnostics.push(diag("CE304", layer.span, k, prevOut.toString(), inSize.toString()));
        }
      }
      if (outs.length === 0) diagnostics.push(diag("CE306", layer.cell.span, layer.cell.name, "output"));
      prevOut = outs[0]?.size.substitute(sub);
      prevOk = unit.ok && prevOut !== undefined;
    });
    info.ok = !diagnostics.slice(before).some((d) => d.severity === "error") && info.layers.every((l) => l.unit.ok);
    return info;
  };

  for (const f of p.files.values()) {
    for (const d of f.ast.decls) if (d.kind !== "import") checkUnit(d, f);
  }
  return { units, diagnostics };
}
