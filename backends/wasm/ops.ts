// One op of a stage over the current rows ($r0, $R, $b0), as WebAssembly: fused maps (columns in
// vectors, a last partial vector lane by lane); and the spec's lines as
// comments. The stages and their scheduling are ./body.ts's; products call ./gemm.ts's functions.

import { elementwise } from "../../compiler/primitives/elementwise.ts";
import type { Arg, PlanOp, View } from "../../compiler/plan/types.ts";
import type { ModuleParts } from "./parts.ts";
import type { MathFn } from "./math.ts";
import { get, i32, set, splatConst, type Fn, type Elem } from "./wat.ts";
import { watComment } from "./escape.ts";

export const comments = (f: Fn, lines: readonly string[], prefix: string, last: { text: string }) => {
  const text = lines.join("\n");
  if (!text || text === last.text) return;
  last.text = text;
  for (const l of lines) f.comment(watComment(`${prefix}${l}`));
};

/** Address of row 0 of a view in the current stage (r0 is its first row; b0 the first sample of
 *  this worker's share, the row of a per-sample buffer), as an i32 expression. */
export function viewBase(p: ModuleParts, v: View, withCol = true): string {
  const b = p.plan.buffers[v.buf]!;
  const E = p.e.bytes;
  const base = get(`$p_${b.name}`);
  const col = withCol && v.col ? v.col * E : 0;
  let row: string | null = null;
  if (b.rows === "seq") row = get("$r0");
  else if (b.rows === "carry") row = v.shift ? `(i32.add ${get("$r0")} ${get("$B")})` : get("$r0");
  else if (b.rows === "batch") row = get("$b0");
  const rowBytes = row ? `(i32.mul ${row} ${i32(b.width * E)})` : null;
  let expr = rowBytes ? `(i32.add ${base} ${rowBytes})` : base;
  if (col) expr = `(i32.add ${expr} ${i32(col)})`;
  return expr;
}

/** A fused map over R rows; `terms` are v128 locals named after the plan's registers. */
export function mapOp(f: Fn, p: ModuleParts, op: Extract<PlanOp, { op: "map" }>, fast: boolean): void {
  const { plan, e } = p;
  const E = e.bytes;
  const n = op.width;
  // One row pointer per distinct (buffer, shift) read or written with rows; weights have none.
  const ptrs = new Map<string, { local: string; view: View; step: number }>();
  const ptrOf = (v: View): string | null => {
    const b = plan.buffers[v.buf]!;
    if (b.rows === "none") return null;
    const key = `${v.buf}:${v.shift}`;
    let q = ptrs.get(key);
    if (!q) {
      q = { local: f.local(`m${ptrs.size}`, "i32"), view: v, step: b.width * E };
      ptrs.set(key, q);
    }
    return q.local;
  };
  const addr = (v: View, j: string | null): { a: string; off: number } => {
    const q = ptrOf(v);
    const base = q ? get(q) : get(`$p_${plan.buffers[v.buf]!.name}`);
    return { a: j ? `(i32.add ${base} ${get(j)})` : base, off: v.col * E };
  };
  for (const t of op.terms) if (t.kind === "load") ptrOf(t.view);
  for (const s of op.stores) ptrOf(s.view);
  const o = {
    v: e.v,
    k: (c: number) => splatConst(e, c),
    call: (fn: MathFn, ...x: string[]) => {
      p.math.add(fn);
      return `(call $${fn} ${x.join(" ")})`;
    },
  };
  void fast;
  const arg = (a: Arg) => ("c" in a ? splatConst(e, a.c) : get(f.local(op.terms[a.t]!.name, "v128")));
  const lanesLoad = (v: View, j: string | null, lanes: number): string => {
    const { a, off } = addr(v, j);
    if (lanes === e.lanes) return `(v128.load offset=${off} ${a})`;
    let x = `(v128.load${e.bits}_zero offset=${off} ${a})`;
    for (let l = 1; l < lanes; l++) x = `(v128.load${e.bits}_lane offset=${off + l * E} ${l} ${a} ${x})`;
    return x;
  };
  const store = (v: View, j: string | null, lanes: number, val: string): string[] => {
    const { a, off } = addr(v, j);
    if (lanes === e.lanes) return [`(v128.store offset=${off} ${a} ${val})`];
    return Array.from({ length: lanes }, (_, l) => `(v128.store${e.bits}_lane offset=${off + l * E} ${l} ${a} ${val})`);
  };
  const body = (j: string | null, lanes: number) => {
    op.terms.forEach((t, i) => {
      const x = f.local(t.name, "v128");
      if (t.kind === "load") {
        if (!t.broadcast) f.emit(set(x, lanesLoad(t.view, j, lanes)));
      } else {
        const prim = elementwise(t.fn);
        if (!prim) throw new Error(`wasm backend: no primitive ${t.fn}`);
        f.emit(set(x, prim.wasm(t.args.map(arg), t.attrs ?? {}, o)));
      }
      for (const s of op.stores) if (s.term === i) f.emit(...store(s.view, j, lanes, get(x)));
    });
  };
  const b = f.local("b", "i32");
  for (const q of ptrs.values()) f.emit(set(q.local, viewBase(p, q.view, false)));
  f.emit(set(b, i32(0)));
  f.nest("(loop $rows", () => {
    // Broadcast operands: one element per row.
    for (const t of op.terms) {
      if (t.kind !== "load" || !t.broadcast) continue;
      const { a, off } = addr(t.view, null);
      f.emit(set(f.local(t.name, "v128"), `(v128.load${e.bits}_splat offset=${off} ${a})`));
    }
    const full = Math.floor(n / e.lanes);
    const rest = n - full * e.lanes;
    if (full === 1) body(null, e.lanes);
    else if (full > 1) {
      const j = f.local("j", "i32");
      f.emit(set(j, i32(0)));
      f.nest("(loop $cols", () => {
        body(j, e.lanes);
        f.emit(set(j, `(i32.add ${get(j)} (i32.const 16))`), `(br_if $cols (i32.lt_u ${get(j)} ${i32(full * 16)}))`);
      });
    }
    if (rest > 0) {
      const j = f.local("j", "i32");
      if (full > 0) f.emit(set(j, i32(full * 16)));
      body(full > 0 ? j : null, rest);
    }
    for (const q of ptrs.values()) f.emit(set(q.local, `(i32.add ${get(q.local)} ${i32(q.step)})`));
    f.emit(set(b, `(i32.add ${get(b)} (i32.const 1))`), `(br_if $rows (i32.lt_u ${get(b)} ${get("$R")}))`);
  });
}
