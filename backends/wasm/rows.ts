// The plan's row operations as WebAssembly: loops over R rows, each row at its view's base plus r
// times its row stride (0 for a weight: the same numbers for every row). The row primitives
// (sums, maxima, scans, ...) print each row as their registry entry says (compiler/primitives/
// rows.ts); per-row products and transposes are scalar loops here whose sums accumulate in f64
// and are rounded once when stored, as the TypeScript backend's support/rows.ts computes them in
// JavaScript numbers, in the same order.

import type { PlanOp, RowPlanOp, View } from "../../compiler/plan/types.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import type { WasmRowContext } from "../../compiler/primitives/row-types.ts";
import type { ModuleParts } from "./parts.ts";
import { Fn, get, i32, set } from "./wat.ts";

type RowOp = Extract<PlanOp, { op: "bmm" | "transpose" }>;

/** Address of a view's row 0 in the current stage (defined in body.ts). */
export type ViewBase = (p: ModuleParts, v: View) => string;

export function rowOpCode(f: Fn, p: ModuleParts, op: RowOp, viewBase: ViewBase): void {
  const { plan, e } = p;
  const E = e.bytes;
  const stride = (v: View) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width * E);
  const wide = (x: string) => (e.s === "f32" ? `(f64.promote_f32 ${x})` : x);
  const narrow = (x: string) => (e.s === "f32" ? `(f32.demote_f64 ${x})` : x);
  const load = (a: string) => `(${e.s}.load ${a})`;
  const add = (a: string, n: number | string) => (n === 0 ? a : `(i32.add ${a} ${typeof n === "number" ? i32(n) : n})`);
  const b = f.local("b", "i32");
  /** The loop over rows: `body` uses the row pointers of the views, which then step to the next row. */
  const rows = (views: View[], body: (ptr: string[]) => void) => {
    const ptr = views.map((v, i) => {
      const q = f.local(`m${i}`, "i32");
      f.emit(set(q, viewBase(p, v)));
      return q;
    });
    f.emit(set(b, i32(0)));
    f.nest("(loop $rows", () => {
      body(ptr);
      views.forEach((v, i) => f.emit(set(ptr[i]!, add(get(ptr[i]!), stride(v)))));
      f.emit(set(b, `(i32.add ${get(b)} (i32.const 1))`), `(br_if $rows (i32.lt_u ${get(b)} ${get("$R")}))`);
    });
  };
  /** for (x = 0; x < n; x++) body — n ≥ 1 is known here. */
  const count = (name: string, n: number, body: (x: string) => void) => {
    const x = f.local(name, "i32");
    f.emit(set(x, i32(0)));
    f.nest(`(loop $${name}_loop`, () => {
      body(x);
      f.emit(set(x, `(i32.add ${get(x)} (i32.const 1))`), `(br_if $${name}_loop (i32.lt_u ${get(x)} ${i32(n)}))`);
    });
  };
  const at = (base: string, index: string) => `(i32.add ${get(base)} (i32.mul ${index} ${i32(E)}))`;
  const acc = f.local("racc64", "f64");

  switch (op.op) {
    case "transpose": {
      // dst[j·m + i] = src[i·n + j]
      rows([op.src, op.dst], ([s, d]) => {
        count("ti", op.m, (ii) =>
          count("tj", op.n, (jj) => {
            f.emit(`(${e.s}.store ${at(d!, `(i32.add (i32.mul ${get(jj)} ${i32(op.m)}) ${get(ii)})`)} ${load(at(s!, `(i32.add (i32.mul ${get(ii)} ${i32(op.n)}) ${get(jj)})`))})`);
          }),
        );
      });
      return;
    }
    case "bmm": {
      // A(i, q) = A[i·ai + q·aq], B(q, j) = B[q·bq + j·bj], summed over q in order.
      const [ai, aq] = op.ta ? [1, op.m] : [op.k, 1];
      const [bq, bj] = op.tb ? [1, op.k] : [op.n, 1];
      const pa = f.local("bm_a", "i32");
      const pb = f.local("bm_b", "i32");
      rows([op.a, op.b, op.c], ([A, B, C]) => {
        count("bi", op.m, (ii) =>
          count("bj", op.n, (jj) => {
            f.emit(set(acc, "(f64.const 0)"));
            f.emit(set(pa, at(A!, `(i32.mul ${get(ii)} ${i32(ai)})`)), set(pb, at(B!, `(i32.mul ${get(jj)} ${i32(bj)})`)));
            count("bq", op.k, () => {
              f.emit(set(acc, `(f64.add ${get(acc)} (f64.mul ${wide(load(get(pa)))} ${wide(load(get(pb)))}))`));
              f.emit(set(pa, `(i32.add ${get(pa)} ${i32(aq * E)})`), set(pb, `(i32.add ${get(pb)} ${i32(bq * E)})`));
            });
            f.emit(`(${e.s}.store ${at(C!, `(i32.add (i32.mul ${get(ii)} ${i32(op.n)}) ${get(jj)})`)} ${narrow(get(acc))})`);
          }),
        );
      });
      return;
    }
  }
}

/** A row primitive over R rows: the loop here, each row's body from its registry entry. */
export function rowPrimitiveCode(f: Fn, p: ModuleParts, op: RowPlanOp, viewBase: ViewBase): void {
  const { plan, e } = p;
  const E = e.bytes;
  const stride = (v: View) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width * E);
  const [src, dst] = [f.local("m0", "i32"), f.local("m1", "i32")];
  const b = f.local("b", "i32");
  const c: WasmRowContext = {
    s: e.s,
    v: e.v,
    lanes: e.lanes,
    bytes: E,
    n: op.src.width,
    reverse: op.reverse,
    local: (name, type) => f.local(name, type),
    emit: (...lines) => f.emit(...lines),
    nest: (head, body) => f.nest(head, body),
    count: (name, n, body) => {
      const x = f.local(name, "i32");
      f.emit(set(x, i32(0)));
      f.nest(`(loop $${name}_loop`, () => {
        body(x);
        f.emit(set(x, `(i32.add ${get(x)} (i32.const 1))`), `(br_if $${name}_loop (i32.lt_u ${get(x)} ${i32(n)}))`);
      });
    },
    at: (base, index) => `(i32.add ${get(base)} (i32.mul ${index} ${i32(E)}))`,
    src,
    dst,
    wide: (x) => (e.s === "f32" ? `(f64.promote_f32 ${x})` : x),
    narrow: (x) => (e.s === "f32" ? `(f32.demote_f64 ${x})` : x),
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
