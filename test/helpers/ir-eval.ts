// A plain float64 interpreter of IR step graphs, for tests: evaluates every equation of a graph for
// one sample with the registry's eval (the reference definition), independent of any plan or
// printer. A backward graph's sinks accumulate into `grads`.

import { isConst, type Graph, type Operand, type ValueId } from "../../compiler/ir.ts";
import { elementwise } from "../../compiler/primitives/elementwise.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { structuralOfIr } from "../../compiler/primitives/structural.ts";

export type Values = Map<ValueId, Float64Array>;

export function evalGraph(g: Graph, given: Values, grads: Values = new Map()): Values {
  const vals: Values = new Map(given);
  const get = (o: Operand, n: number): Float64Array => {
    if (isConst(o)) return new Float64Array(n).fill(o.c);
    const v = vals.get(o.v);
    if (!v) throw new Error(`ir-eval: ${g.values[o.v]!.name} has no value`);
    if (v.length === 1 && n > 1) return new Float64Array(n).fill(v[0]!);
    return v;
  };
  const size = (v: ValueId) => g.values[v]!.shape.reduce((a, b) => a * b, 1);
  for (const e of g.eqns) {
    switch (e.op) {
      case "ew": {
        const n = size(e.out);
        const args = e.args.map((a) => get(a, n));
        const prim = elementwise(e.fn)!;
        const out = new Float64Array(n);
        for (let j = 0; j < n; j++) out[j] = prim.eval(args.map((a) => a[j]!), e.attrs ?? {});
        vals.set(e.out, out);
        break;
      }
      case "matvec":
      case "matvecT": {
        const [A, x] = e.args as [{ v: ValueId }, Operand];
        const [m, n] = g.values[A.v]!.shape as [number, number];
        const W = get(A, m * n);
        const out = new Float64Array(e.op === "matvec" ? m : n);
        const xv = get(x, e.op === "matvec" ? n : m);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          if (e.op === "matvec") out[i] += W[i * n + j]! * xv[j]!;
          else out[j] += W[i * n + j]! * xv[i]!;
        }
        vals.set(e.out, out);
        break;
      }
      case "bmm":
      case "transpose": {
        // The registry's float64 definition of the structural primitive.
        const prim = structuralOfIr(e.op)!;
        const shapes = e.args.map((a) => g.values[(a as { v: ValueId }).v]!.shape);
        const attrs = prim.attrs(e as unknown as Record<string, unknown>, shapes);
        const src = e.args.map((a, k) => Array.from(get(a, prim.widths(attrs).src[k]!)));
        vals.set(e.out, Float64Array.from(prim.eval(src, attrs)));
        break;
      }
      case "row": {
        // The registry's float64 definition of the row primitive.
        const x = get(e.args[0], 0);
        vals.set(e.out, Float64Array.from(rowPrimitive(e.fn)!.eval(Array.from(x), e.reverse ?? false)));
        break;
      }
      case "concat": {
        const parts = e.args.map((a) => (isConst(a) ? new Float64Array([a.c]) : get(a, size(a.v))));
        const out = new Float64Array(size(e.out));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        vals.set(e.out, out);
        break;
      }
      case "slice": {
        const x = get(e.args[0], 0);
        vals.set(e.out, x.slice(e.lo, e.lo + size(e.out)));
        break;
      }
      case "pad": {
        const x = get(e.args[0], 0);
        const out = new Float64Array(size(e.out));
        out.set(x, e.lo);
        vals.set(e.out, out);
        break;
      }
      case "bcast":
        vals.set(e.out, new Float64Array(size(e.out)).fill(get(e.args[0], 1)[0]!));
        break;
      case "zeros":
        vals.set(e.out, new Float64Array(size(e.out)));
        break;
      case "acc_outer": {
        const [m, n] = g.values[e.param]!.shape as [number, number];
        const u = get(e.args[0], m);
        const x = get(e.args[1], n);
        const acc = grads.get(e.param) ?? new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) acc[i * n + j] += u[i]! * x[j]!;
        grads.set(e.param, acc);
        break;
      }
      case "acc": {
        const u = get(e.args[0], size(e.param));
        const acc = grads.get(e.param) ?? new Float64Array(size(e.param));
        for (let i = 0; i < acc.length; i++) acc[i] += u[i]!;
        grads.set(e.param, acc);
        break;
      }
    }
  }
  return vals;
}
