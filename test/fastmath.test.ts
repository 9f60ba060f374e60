// The fast-math approximations (compiler/primitives/fastmath.ts) printed twice — as f32x4
// WebAssembly functions and as the TypeScript functions a WebAssembly module's fallback runs —
// give the same float32 bits for every argument of a dense sweep, the extremes, NaN and the
// infinities (pow: for pairs of them); and a module's outputs, where each is one approximation, are the same bits from
// its WebAssembly kernel and from its TypeScript fallback.

import { describe, expect, it } from "vitest";
import { fastMathFunctions } from "../backends/ts/fastmath.ts";
import { assemble } from "../backends/wasm/module.ts";
import { mathFunctions } from "../backends/wasm/math.ts";
import { WA } from "../backends/wasm/support/heap.ts";
import { F32 } from "../backends/wasm/wat.ts";
import type { CellKernel } from "../abi/kernel.ts";
import { emitTsModule } from "../backends/ts/module.ts";
import { importModule, loadCell, planKernel } from "../driver/index.ts";

const NAMES = ["exp", "sigmoid", "tanh", "elu", "swish", "erf", "gelu", "sin", "cos"] as const;
const PAGE = 65536;

/** Arguments: a dense sweep over each function's interesting range, points where branches meet,
 *  every power of two, and the specials. All float32. */
function sweep(): Float32Array {
  const xs: number[] = [];
  for (let i = 0; i <= 200_000; i++) xs.push(-110 + (220 * i) / 200_000);
  for (let i = -2000; i <= 2000; i++) xs.push(i / 1000, 0.625 + i * 2 ** -20);
  for (let e = -149; e <= 127; e++) xs.push(2 ** e, -(2 ** e));
  xs.push(0, -0, NaN, Infinity, -Infinity, 88.72, 88.73, -87.33, -103.97, -150, 100, 1e30, -1e30);
  // erf's and gelu's branches meet at ±1 and -√2; sin and cos far out (past 2^16·π/2 too)
  for (let i = -500; i <= 500; i++) xs.push(1 + i * 2 ** -22, -1 + i * 2 ** -22, -Math.SQRT2 + i * 2 ** -22, 1e5 + i * 7.3, 3e9 + i * 1e5);
  const out = Float32Array.from(xs);
  return out.subarray(0, out.length - (out.length % 4));
}

/** Pairs (x, y) for pow: x over signs, magnitudes from subnormal to 1e38, near 1, and the specials;
 *  y over integers (odd and even), fractions, large and tiny values, and the specials. */
function powSweep(): [Float32Array, Float32Array] {
  const base: number[] = [0, -0, NaN, Infinity, -Infinity, 1, -1, 2 ** -149, 2 ** -126, 3.4e38];
  for (let i = 0; i < 250; i++) base.push(10 ** (-45 + (83 * i) / 249), -(10 ** (-6 + (12 * i) / 249)), 1 + (i - 125) * 2 ** -20);
  const exps: number[] = [0, -0, NaN, Infinity, -Infinity, 1, -1, 2, 3, -3, 0.5, -0.5, 1e-30, 2 ** 24 + 2, 2 ** 25, 1e10, -1e10, 3e38];
  for (let i = 0; i <= 140; i++) exps.push(-20 + (40 * i) / 140, Math.round((i - 70) * 3.3));
  const xs: number[] = [];
  const ys: number[] = [];
  for (const x of base) for (const y of exps) xs.push(x), ys.push(y);
  const n = xs.length - (xs.length % 4);
  return [Float32Array.from(xs.slice(0, n)), Float32Array.from(ys.slice(0, n))];
}

/** The approximation `name` applied in WebAssembly to xs (and ys, pow's second argument). */
async function wasmApply(name: (typeof NAMES)[number] | "pow", xs: Float32Array, ys?: Float32Array): Promise<Float32Array> {
  const math = mathFunctions(F32, true, new Set([name]));
  const second = ys ? ` (v128.load offset=${32 * PAGE} (local.get $i))` : "";
  const wat = [
    "(module",
    '  (import "env" "memory" (memory 1 65536 shared))',
    math.text,
    `  (func (export "apply") (param $bytes i32) (local $i i32)`,
    "    (loop $l",
    `      (v128.store offset=${16 * PAGE} (local.get $i) (call $${name} (v128.load (local.get $i))${second}))`,
    "      (local.set $i (i32.add (local.get $i) (i32.const 16)))",
    "      (br_if $l (i32.lt_u (local.get $i) (local.get $bytes)))))",
    ")",
  ].join("\n");
  const memory = new WA.Memory({ initial: 48, maximum: 65536, shared: true });
  const inst = new WA.Instance(new WA.Module(await assemble(wat, `fast_${name}`)), { env: { memory } });
  new Float32Array(memory.buffer as ArrayBuffer).set(xs);
  if (ys) new Float32Array(memory.buffer as ArrayBuffer, 32 * PAGE, ys.length).set(ys);
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

  it("pow", async () => {
    const [xs, ys] = powSweep();
    expect(xs.length).toBeLessThan((16 * PAGE) / 4);
    const got = await wasmApply("pow", xs, ys);
    let differ = 0;
    let first = "";
    xs.forEach((x, i) => {
      const t = Math.fround(ts.fpow(x, ys[i]!));
      const w = got[i]!;
      if (!(Object.is(t, w) || (Number.isNaN(t) && Number.isNaN(w)))) {
        if (differ++ === 0) first = `pow(${x}, ${ys[i]}): TypeScript ${t}, WebAssembly ${w}`;
      }
    });
    expect(differ, first).toBe(0);
  });
});

describe("an optimised float32 WebAssembly module and its TypeScript fallback", () => {
  it("give the same outputs where each output is one approximation of a float32 input", async () => {
    const spec = `cell fm(N) {\n  input x: [N]\n  input y: [N]\n  output exp(x), sigmoid(x), tanh(x), elu(x), swish(x), erf(x), gelu(x), sin(x), cos(x), pow(x, y)\n}\n`;
    const N = 16;
    const T = 3;
    const B = 5;
    const xs = Float32Array.from({ length: T * B * N }, (_, i) => Math.fround(Math.sin(i * 12.9898) * 40));
    xs[7] = NaN;
    xs[8] = -0;
    // pow(x, y): fractional, integral (odd and even) and zero exponents
    const ys = Float32Array.from(xs, (_, i) => (i % 3 === 0 ? Math.round(Math.cos(i) * 9) : Math.fround(Math.cos(i * 3.7) * 6)));
    // The fallback as the WebAssembly printer embeds it (this process has SIMD, so the module itself
    // would not run it): the TypeScript module of the same plan, printed as a fallback.
    const { plan } = planKernel(spec, { dims: { N }, target: "wasm" });
    const fallback = (await importModule(await emitTsModule(plan!, { fileName: "fm.ts", origin: "fm.cell", format: false, wasmFallback: true }))) as CellKernel;
    const wasm = await loadCell(spec, { dims: { N }, target: "wasm" });
    expect(wasm.meta.backend).toBe("wasm");
    const rt = fallback.forward({}, { x: xs, y: ys }, { batchSize: B }).outputs;
    const rw = wasm.forward({}, { x: xs, y: ys }, { batchSize: B }).outputs;
    for (const o of wasm.meta.outputs) {
      const a = rt[o.name]!;
      const b = rw[o.name]!;
      a.forEach((v, i) => expect(Object.is(v, b[i]!) || (Number.isNaN(v) && Number.isNaN(b[i]!)), `${o.name}[${i}] of x = ${xs[i]}, y = ${ys[i]}: TypeScript ${v}, WebAssembly ${b[i]}`).toBe(true));
    }
  });
});
