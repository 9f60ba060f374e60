// The schedule of an entry when every active flag and every state mask is 1 (no sequence lengths
// and no masks given): a product with a mask is its other factor, select(active, a, b) is a, and
// what that leaves as a sum with zero is the other term. Equations are rewritten one at a time in
// order; a value that becomes another value or a number is recorded and read through it. With
// `keepActive`, only the masks are ones: the selects on the active flags stay (sequence lengths
// are still honoured, as an inference model with lengths needs).

import { isValue, type Eqn, type Graph, type Operand, type ValueId } from "../ir.ts";
import { elementwise } from "../primitives/elementwise.ts";

export interface Unmasking {
  /** Rewrites an equation: null when it is dropped (its value is then an alias or a constant). */
  rewrite: (e: Eqn) => Eqn | null;
  alias: Map<ValueId, ValueId>;
  constants: Map<ValueId, number>;
  /** False when a constant reached an operand only elementwise equations can take: use the masked entry. */
  usable: () => boolean;
}

export function unmasking(g: Graph, keepActive = false): Unmasking {
  const alias = new Map<ValueId, ValueId>();
  const constants = new Map<ValueId, number>();
  const masks = new Set(g.states.map((s) => s.mask));
  let usable = true;
  const sub = (a: Operand): Operand => {
    if (!isValue(a)) return a;
    const c = constants.get(a.v);
    if (c !== undefined) return { c };
    return { v: alias.get(a.v) ?? a.v };
  };
  const becomes = (out: ValueId, o: Operand): null => {
    if (isValue(o)) alias.set(out, o.v);
    else constants.set(out, o.c);
    return null;
  };
  const rewrite = (e: Eqn): Eqn | null => {
    const args = (e.args as Operand[]).map(sub);
    const r = { ...e, args } as Eqn;
    if (r.op !== "ew") {
      if (args.some((a, k) => !isValue(a) && isValue((e.args as Operand[])[k]!))) usable = false;
      return r;
    }
    const [a, b] = args as [Operand, Operand];
    const v = (o: Operand | undefined) => (o && isValue(o) ? o.v : undefined);
    if (r.fn === "mul" && args.length === 2 && masks.has(v(b)!)) return becomes(r.out, a);
    if (r.fn === "mul" && args.length === 2 && masks.has(v(a)!)) return becomes(r.out, b);
    if (r.fn === "select" && v(a) === g.active && !keepActive) return becomes(r.out, args[1]!);
    if (args.every((x) => !isValue(x))) return becomes(r.out, { c: elementwise(r.fn)!.eval(args.map((x) => (x as { c: number }).c), r.attrs ?? {}) });
    if (r.fn === "add" && !isValue(a) && a.c === 0) return becomes(r.out, b);
    if ((r.fn === "add" || r.fn === "sub") && !isValue(b) && b.c === 0) return becomes(r.out, a);
    return r;
  };
  return { rewrite, alias, constants, usable: () => usable };
}
