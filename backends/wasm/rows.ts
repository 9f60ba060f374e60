// The plan's row operations as WebAssembly: loops over R rows, each row at its view's base plus r
// times its row stride (0 for a weight: the same numbers for every row). The row primitives
// (sums, maxima, scans, ...) and the structural ones (per-row products, transposes, gradient sums)
// print each row as their registry entry says (compiler/primitives/rows.ts, structural.ts).

import { structDst, type RowPlanOp, type StructPlanOp, type View } from "../../compiler/plan/types.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import type { WasmRowContext } from "../../compiler/primitives/row-types.ts";
import { structuralPrimitive } from "../../compiler/primitives/structural.ts";
import type { WasmStructContext } from "../../compiler/primitives/structural-types.ts";
import type { ModuleParts } from "./parts.ts";
import { Fn, get, i32, set } from "./wat.ts";

/** Address of a view's row 0 in the current stage (defined in body.ts). */
export type ViewBase = (p: ModuleParts, v: View) => string;

/** What a registry entry's WebAssembly lowering is given of the function it prints into, for
 *  row and structural primitives alike: the element types, locals, lines, counted loops,
 *  addressing and the float64 round trip of a float32 kernel. */
function rowLoopContext(f: Fn, p: ModuleParts): Omit<WasmStructContext, "src" | "dst"> {
  const { e } = p;
  const E = e.bytes;
  return {
    s: e.s,
    v: e.v,
    lanes: e.lanes,
    bytes: E,
    local: (name, type) => f.local(name, type),
    emit: (...lines) => f.emit(...lines),
    count: (name, n, body) => {
      const x = f.local(name, "i32");
      f.emit(set(x, i32(0)));
      f.nest(`(loop $${name}_loop`, () => {
        body(x);
        f.emit(set(x, `(i32.add ${get(x)} (i32.const 1))`), `(br_if $${name}_loop (i32.lt_u ${get(x)} ${i32(n)}))`);
      });
    },
    at: (base, index) => `(i32.add ${get(base)} (i32.mul ${index} ${i32(E)}))`,
    wide: (x) => (e.s === "f32" ? `(f64.promote_f32 ${x})` : x),
    narrow: (x) => (e.s === "f32" ? `(f32.demote_f64 ${x})` : x),
  };
}

/** A structural primitive over R rows: the loop here, each row's body from its registry entry
 *  (a gradient result is the same address every row). */
export function structuralCode(f: Fn, p: ModuleParts, op: StructPlanOp, viewBase: ViewBase): void {
  const { plan, e } = p;
  const E = e.bytes;
  const stride = (v: View) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width * E);
  const dstView = structDst(op);
  const views = [...op.src, ...(dstView ? [dstView] : [])];
  const ptr = views.map((v, i) => {
    const q = f.local(`m${i}`, "i32");
    f.emit(set(q, viewBase(p, v)));
    return q;
  });
  const dst = dstView ? ptr[ptr.length - 1]! : f.local(`m${ptr.length}`, "i32");
  if (!dstView) f.emit(set(dst, get(`$p_${plan.buffers[op.dst.buf]!.name}`)));
  const b = f.local("b", "i32");
  const c: WasmStructContext = {
    ...rowLoopContext(f, p),
    src: ptr.slice(0, op.src.length),
    dst,
  };
  f.emit(set(b, i32(0)));
  f.nest("(loop $rows", () => {
    structuralPrimitive(op.op)!.wasm(c, op.attrs);
    views.forEach((v, i) => stride(v) && f.emit(set(ptr[i]!, `(i32.add ${get(ptr[i]!)} ${i32(stride(v))})`)));
    f.emit(set(b, `(i32.add ${get(b)} (i32.const 1))`), `(br_if $rows (i32.lt_u ${get(b)} ${get("$R")}))`);
  });
}

/** A row primitive over R rows: the loop here, each row's body from its registry entry. */
export function rowPrimitiveCode(f: Fn, p: ModuleParts, op: RowPlanOp, viewBase: ViewBase): void {
  const { plan, e } = p;
  const E = e.bytes;
  const stride = (v: View) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width * E);
  const [src, dst] = [f.local("m0", "i32"), f.local("m1", "i32")];
  const b = f.local("b", "i32");
  const c: WasmRowContext = {
    ...rowLoopContext(f, p),
    n: op.src.width,
    reverse: op.reverse,
    nest: (head, body) => f.nest(head, body),
    src,
    dst,
    host: (fn, x) => {
      p.hosts.add(fn);
      return `(call $host_${fn} ${x})`;
    },
  };
  f.emit(set(src, viewBase(p, op.src)), set(dst, viewBase(p, op.dst)), set(b, i32(0)));
  f.nest("(loop $rows", () => {
    rowPrimitive(op.op)!.wasm(c);
    f.emit(set(src, `(i32.add ${get(src)} ${i32(stride(op.src))})`), set(dst, `(i32.add ${get(dst)} ${i32(stride(op.dst))})`));
    f.emit(set(b, `(i32.add ${get(b)} (i32.const 1))`), `(br_if $rows (i32.lt_u ${get(b)} ${get("$R")}))`);
  });
}
