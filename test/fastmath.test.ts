// The fast-math approximations (compiler/primitives/fastmath.ts) printed twice — as f32x4
// WebAssembly functions and as the TypeScript functions a module's fallback runs — give the same
// float32 bits for every argument of a dense sweep, the extremes, NaN and the infinities: a wasm
// module and its TypeScript fallback agree. And the float32 kernels of a spec using them agree
// between the two backends where the approximation is the whole computation.

import { describe, expect, it } from "vitest";
import { fastMathFunctions } from "../backends/ts/fastmath.ts";
import { assemble } from "../backends/wasm/module.ts";
import { mathFunctions } from "../backends/wasm/math.ts";
import { WA } from "../backends/wasm/support/heap.ts";
import { F32 } from "../backends/wasm/wat.ts";
import { loadCell } from "../compiler/index.ts";

const NAMES = ["exp", "sigmoid", "tanh"] as const;
const PAGE = 65536;

/** Arguments: a dense sweep over each function's interesting range, points where branches meet,
 *  every power of two, and the specials. All float32. */
function sweep(): Float32Array {
  const xs: number[] = [];
  for (let i = 0; i <= 200_000; i++) xs.push(-110 + (220 * i) / 200_000);
  for (let i = -2000; i <= 2000; i++) xs.push(i / 1000, 0.625 + i * 2 ** -20);
  for (let e = -149; e <= 127; e++) xs.push(2 ** e, -(2 ** e));
  xs.push(0, -0, NaN, Infinity, -Infinity, 88.72, 88.73, -87.33, -103.97, -150, 100, 1e30, -1e30);
  const out = Float32Array.from(xs);
  return out.subarray(0, out.length - (out.length % 4));
}

async function wasmApply(name: (typeof NAMES)[number], xs: Float32Array): Promise<Float32Array> {
  const math = mathFunctions(F32, true, new Set([name]));
  const wat = [
    "(module",
    '  (import "env" "memory" (memory 1 65536 shared))',
    math.text,
    `  (func (export "apply") (param $bytes i32) (local $i i32)`,
    "    (loop $l",
    `      (v128.store offset=${16 * PAGE} (local.get $i) (call $${name} (v128.load (local.get $i))))`,
    "      (local.set $i (i32.add (local.get $i) (i32.const 16)))",
    "      (br_if $l (i32.lt_u (local.get $i) (local.get $bytes)))))",
    ")",
  ].join("\n");
  const memory = new WA.Memory({ initial: 32, maximum: 65536, shared: true });
  const inst = new WA.Instance(new WA.Module(await assemble(wat, `fast_${name}`)), { env: { memory } });
  new Float32Array(memory.buffer as ArrayBuffer).set(xs);
  (inst.exports.apply as (b: number) => void)(xs.length * 4);
  return new Float32Array(memory.buffer as ArrayBuffer, 16 * PAGE * 1, xs.length).slice();
}

describe("fast math: WebAssembly and TypeScript agree bit for bit", () => {
  const ts = fastMathFunctions();
  const xs = sweep();
  it.each(NAMES)("%s", async (name) => {
    expect(xs.length).toBeLessThan((16 * PAGE) / 4);
    const got = await wasmApply(name, xs);
    const f = ts[`f${name}`];
    let differ = 0;
    let first = "";
    xs.forEach((x, i) => {
      const t = Math.fround(f(x));
      const w = got[i]!;
      if (!(Object.is(t, w) || (Number.isNaN(t) && Number.isNaN(w)))) {
        if (differ++ === 0) first = `${name}(${x}): TypeScript ${t}, WebAssembly ${w}`;
      }
    });
    expect(differ, first).toBe(0);
  });
});

describe("an optimised float32 kernel, as TypeScript and as WebAssembly", () => {
  it("gives the same outputs where each output is one approximation of a float32 input", async () => {
    const spec = `cell fm(N) {\n  input x: [N]\n  output exp(x), sigmoid(x), tanh(x)\n}\n`;
    const N = 16;
    const T = 3;
    const B = 5;
    const xs = Float32Array.from({ length: T * B * N }, (_, i) => Math.fround(Math.sin(i * 12.9898) * 40));
    xs[7] = NaN;
    xs[8] = -0;
    // One after the other: two compiles at once of one file name can interleave in the TypeScript
    // printer's ts-morph project (seen here as "Identifier 'meta' has already been declared").
    const kt = await loadCell(spec, { dims: { N } });
    const kw = await loadCell(spec, { dims: { N }, target: "wasm" });
    const rt = kt.forward({}, { x: xs }, { batchSize: B }).outputs;
    const rw = kw.forward({}, { x: xs }, { batchSize: B }).outputs;
    for (const o of kt.meta.outputs) {
      const a = rt[o.name]!;
      const b = rw[o.name]!;
      a.forEach((v, i) => expect(Object.is(v, b[i]!) || (Number.isNaN(v) && Number.isNaN(b[i]!)), `${o.name}[${i}] of x = ${xs[i]}: TypeScript ${v}, WebAssembly ${b[i]}`).toBe(true));
    }
  });
});
