// The fast-math approximations of compiler/primitives/fastmath.ts as f32x4 functions: each step a
// v128 local, each operation one instruction (the TypeScript printer rounds the same steps to
// float32 one by one, so both give the same bits).

import { fastFunction, type FastName, type FExpr } from "../../compiler/primitives/fastmath.ts";
import { F32, splatConst } from "./wat.ts";

const SIGN = "(v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)";
const BIAS = "(v128.const i32x4 127 127 127 127)";
const I32 = (c: number) => `(v128.const i32x4 ${c} ${c} ${c} ${c})`;

/** The function `$name (param $x v128) (result v128)` (pow: `(param $x v128) (param $y v128)`). */
export function fastWasm(name: FastName): string {
  const f = fastFunction(name);
  const locals: string[] = f.steps.map(([s]) => s);
  const lines: string[] = [];
  let scaled = 0;
  const print = (e: FExpr): string => {
    if (typeof e === "number") return splatConst(F32, e);
    if (typeof e === "string") return `(local.get $${e})`;
    switch (e.op) {
      case "add":
      case "sub":
      case "mul":
      case "div":
      case "pmin":
      case "pmax":
        return `(f32x4.${e.op} ${print(e.a)} ${print(e.b)})`;
      case "neg":
      case "abs":
      case "nearest":
        return `(f32x4.${e.op} ${print(e.a)})`;
      case "exponent":
        return `(f32x4.convert_i32x4_s (i32x4.sub (v128.and (i32x4.shr_u ${print(e.a)} (i32.const 23)) ${I32(255)}) ${BIAS}))`;
      case "mantissa":
        return `(v128.or (v128.and ${print(e.a)} ${I32(0x007fffff)}) ${I32(0x3f800000)})`;
      case "select":
        return `(v128.bitselect ${print(e.then)} ${print(e.otherwise)} (f32x4.${e.cmp} ${print(e.l)} ${print(e.r)}))`;
      case "scale2": {
        // 2^k as a float from its exponent bits, k = n>>1 and n - (n>>1), each a normal float.
        const i = `i${scaled++}`;
        locals.push(i);
        lines.push(`(local.set $${i} (i32x4.trunc_sat_f32x4_s ${print(e.n)}))`);
        const half = `(i32x4.shr_s (local.get $${i}) (i32.const 1))`;
        return `(f32x4.mul (f32x4.mul ${print(e.a)}\n  (i32x4.shl (i32x4.add ${half} ${BIAS}) (i32.const 23)))\n  (i32x4.shl (i32x4.add (i32x4.sub (local.get $${i}) ${half}) ${BIAS}) (i32.const 23)))`;
      }
      case "poly": {
        let q = print(e.c[e.c.length - 1]!);
        for (let i = e.c.length - 2; i >= 0; i--) q = `(f32x4.add (f32x4.mul ${q} ${print(e.z)}) ${print(e.c[i]!)})`;
        return q;
      }
      case "copysign":
        return `(v128.or ${print(e.a)} (v128.and ${print(e.s)} ${SIGN}))`;
      case "call":
        return `(call $${e.fn} ${print(e.a)})`;
    }
  };
  for (const [s, e] of f.steps) {
    const v = print(e);
    lines.push(`(local.set $${s} ${v})`);
  }
  const result = print(f.result);
  lines.push(result);
  const body = lines.flatMap((l) => l.split("\n"));
  const params = (f.params ?? ["x"]).map((p) => `(param $${p} v128)`).join(" ");
  return [`  (func $${name} ${params} (result v128)`, ...locals.map((l) => `    (local $${l} v128)`), ...body.map((l) => `    ${l}`), "  )"].join("\n");
}
