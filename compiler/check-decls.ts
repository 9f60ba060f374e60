// The checker's declarations: size parameters with their defaults, size expressions (evaluated
// to symbolic sizes within SIZE_LIMITS, without recursion) and parameter initializers.

import type { DimParam, InitExpr, SizeExpr } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { InitSpec } from "../abi/kernel.ts";
import type { Span } from "../grammar/source.ts";
import { isSize, Size, SIZE_LIMITS } from "./sizes.ts";
import { didYouMean } from "./suggest.ts";

/** A declared size parameter: its name, its default when it has one, and where it is written. */
export interface DimInfo {
  name: string;
  default?: number;
  span: Span;
}

export function checkDims(dims: DimParam[], out: Diagnostic[]): DimInfo[] {
  const seen = new Set<string>();
  const result: DimInfo[] = [];
  for (const d of dims) {
    if (seen.has(d.name.name)) out.push(diag("CE218", d.name.span, d.name.name));
    seen.add(d.name.name);
    const info: DimInfo = { name: d.name.name, span: d.name.span };
    if (d.default) {
      const v = d.default.value;
      if (!Number.isSafeInteger(v) || v <= 0) out.push(diag("CE402", d.default.span, d.name.name, v));
      else info.default = v;
    }
    result.push(info);
  }
  return result;
}

/**
 * Evaluates a size expression over the declared size names. Unknown names, and expressions past
 * SIZE_LIMITS (CE221), are reported. Iterative, so a long chain cannot overflow the stack; and an
 * expression with too many nodes is rejected before any of it is normalised.
 */
export function sizeOf(e: SizeExpr, dims: ReadonlySet<string>, declared: string, out: Diagnostic[]): Size | undefined {
  const nodes = countSizeNodes(e, SIZE_LIMITS.nodes);
  if (nodes > SIZE_LIMITS.nodes) {
    out.push(diag("CE221", e.span, `more than ${SIZE_LIMITS.nodes} numbers, names and operators`));
    return undefined;
  }
  // Post-order over an explicit stack: a node is visited, then its operands, then combined.
  const values: (Size | undefined)[] = [];
  const todo: { e: SizeExpr; combine: boolean }[] = [{ e, combine: false }];
  let failed = false;
  while (todo.length) {
    const { e: n, combine } = todo.pop()!;
    if (n.kind === "sizeNum") {
      if (!Number.isSafeInteger(n.value)) {
        out.push(diag("CE221", n.span, "a number past 2^53 - 1"));
        failed = true;
      }
      values.push(Size.of(n.value));
    } else if (n.kind === "sizeName") {
      if (!dims.has(n.name)) {
        out.push(diag("CE215", n.span, n.name, declared, didYouMean(n.name, dims)));
        failed = true;
      }
      values.push(Size.name(n.name));
    } else if (!combine) {
      todo.push({ e: n, combine: true }, { e: n.right, combine: false }, { e: n.left, combine: false });
    } else {
      const r = values.pop();
      const l = values.pop();
      if (failed || !l || !r) {
        values.push(undefined);
        continue;
      }
      const v = n.op === "*" ? l.mulChecked(r) : l.addChecked(r, n.op === "+" ? 1 : -1);
      if (isSize(v)) values.push(v);
      else {
        out.push(diag("CE221", e.span, v.problem));
        failed = true;
        values.push(undefined);
      }
    }
  }
  return failed ? undefined : values[0];
}

/** Nodes of a size expression, counting no further than just past `limit`. */
function countSizeNodes(e: SizeExpr, limit: number): number {
  let n = 0;
  const stack = [e];
  while (stack.length && n <= limit) {
    const x = stack.pop()!;
    n++;
    if (x.kind === "sizeBinary") stack.push(x.left, x.right);
  }
  return n;
}

export function declaredText(dims: readonly DimInfo[]): string {
  return dims.length === 0 ? "no sizes" : dims.map((d) => d.name).join(", ");
}

const INIT_ARITY = new Map<string, number>([
  ["zeros", 0],
  ["ones", 0],
  ["glorot", 0],
  ["orthogonal", 0],
  ["const", 1],
  ["normal", 1],
  ["uniform", 2],
]);

export function initSpec(e: InitExpr | undefined, rank: number, out: Diagnostic[]): InitSpec {
  if (!e) return rank === 2 ? { kind: "glorot" } : { kind: "zeros" };
  const name = e.name.name;
  const arity = INIT_ARITY.get(name);
  if (arity === undefined) {
    out.push(diag("CE213", e.name.span, name));
    return { kind: "zeros" };
  }
  if (e.args.length !== arity) {
    out.push(diag("CE208", e.span, name, arity === 0 ? "no arguments" : `${arity} argument${arity > 1 ? "s" : ""}`, e.args.length));
    return { kind: "zeros" };
  }
  const a = e.args.map((x) => x.value);
  switch (name) {
    case "const":
      return { kind: "const", value: a[0]! };
    case "normal":
      if (a[0]! < 0) out.push(diag("CE214", e.args[0]!.span, "the standard deviation of normal", "non-negative", a[0]!));
      return { kind: "normal", std: a[0]! };
    case "uniform":
      if (a[0]! > a[1]!) out.push(diag("CE214", e.span, "uniform(a, b)", "a ≤ b", `${a[0]} > ${a[1]}`));
      return { kind: "uniform", low: a[0]!, high: a[1]! };
    case "glorot":
    case "orthogonal":
      if (rank !== 2) out.push(diag("CE214", e.name.span, name, "used on a matrix", "a vector"));
      return { kind: name };
    default:
      return { kind: name as "zeros" | "ones" };
  }
}
