// A readable dump of a plan (CELLC_DUMP_PLAN=1): buffers, the weight layout, and each entry
// point's stages and ops, one line each.

import { num } from "../primitives/elementwise.ts";
import { structuralPrimitive } from "../primitives/structural.ts";
import { isRowOp, isStructOp, structDst, type Arg, type Plan, type PlanOp, type Stage, type Term, type View } from "./types.ts";

export function dumpPlan(plan: Plan): string {
  const name = (id: number) => plan.buffers[id]!.name;
  const view = (v: View) => {
    const b = plan.buffers[v.buf]!;
    const cols = v.col === 0 && v.width === b.width ? "" : `[${v.col}:${v.col + v.width}]`;
    return `${b.name}${v.shift ? "'" : ""}${cols}`;
  };
  const arg = (terms: Term[], a: Arg) => ("c" in a ? num(a.c) : terms[a.t]!.name);
  const op = (o: PlanOp): string => {
    if (isRowOp(o)) return `${o.op}${o.reverse ? " reverse" : ""} ${view(o.dst)} = ${o.op}(${view(o.src)})`;
    if (isStructOp(o)) {
      const dst = structDst(o);
      const show = structuralPrimitive(o.op)!.show(o.attrs);
      return `${o.op} ${show} ${dst ? `${view(dst)} =` : `${name(o.dst.buf)} +=`} ${o.op}(${o.src.map(view).join(", ")})`;
    }
    switch (o.op) {
      case "gemm": {
        const w = "col" in o.w ? view(o.w) : name(o.w.buf);
        const c = "col" in o.c ? view(o.c) : name(o.c.buf);
        const slot = o.slot === null ? "" : ` slot ${o.slot}`;
        return `gemm ${o.form} n=${o.n} k=${o.k} ${c} ${o.accumulate ? "+=" : "="} ${view(o.a)} · ${w}${slot}`;
      }
      case "map": {
        const body = o.terms.map((t) => (t.kind === "load" ? `${t.name}=${view(t.view)}${t.broadcast ? "*" : ""}` : `${t.name}=${t.fn}(${t.args.map((a) => arg(o.terms, a)).join(",")})`));
        return `map[${o.width}] ${body.join("; ")} -> ${o.stores.map((s) => `${view(s.view)}=${o.terms[s.term]!.name}`).join(", ")}`;
      }
      case "copy":
        return `copy ${view(o.dst)} = ${view(o.src)}`;
      case "fill":
        return `fill ${view(o.dst)} = ${num(o.value)}`;
    }
  };
  const stage = (s: Stage) => {
    const head = s.kind === "all" ? "all rows" : `loop ${s.reverse ? "t = T-1..0" : "t = 0..T-1"}`;
    const lines = [`  ${head}${s.when ? ` when ${s.when}` : ""}: ${s.title}`, ...s.ops.map((o) => `    ${op(o)}`)];
    for (const o of s.carry ?? []) lines.push(`    carry: ${op(o)}`);
    return lines.join("\n");
  };
  const out = [`plan ${plan.meta.name} ${JSON.stringify(plan.meta.dims)} optimize=${plan.optimize} fastMath=${plan.fastMath} slots=${plan.slots}`];
  out.push("buffers:");
  for (const b of plan.buffers) out.push(`  ${b.name}: ${b.kind} ${b.rows} × ${b.width} (${b.entry})`);
  out.push(`weights (${plan.weights.size}): ${plan.weights.params.map((p) => `${p.name}@${p.offset}`).join(" ")}`);
  for (const p of plan.weights.packs) out.push(`  ${name(p.buf)} = [${p.parts.map((q) => name(q.param)).join("; ")}]${p.offset === null ? " (copied)" : ` @${p.offset}`}`);
  out.push("forward:", ...plan.forward.stages.map(stage), "backward:", ...plan.backward.stages.map(stage));
  return out.join("\n");
}
