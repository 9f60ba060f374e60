// Every registry primitive's WebAssembly lowering, run: its `wasm` formula (and the vector math
// functions it calls) assembled into a module that applies it to arrays, then compared with the
// primitive's float64 definition on the grid of test/primitives.test.ts (extremes, NaN and the
// infinities) — in float32 with fast math (the f32x4 approximations: within a few ulp), in
// float32 with exact math (the host's Math per lane: the definition rounded once) and in float64
// (the definition itself). A dense sweep measures the approximations' worst error in ulp.

import { describe, expect, it } from "vitest";
import { ELEMENTWISE, SOFTPLUS_LINEAR_FROM } from "../compiler/primitives/elementwise.ts";
import { TRIG_MAX } from "../compiler/primitives/fastmath-fits.ts";
import type { Attrs, Elementwise } from "../compiler/primitives/types.ts";
import { assemble } from "../backends/wasm/module.ts";
import { hostImport, mathFunctions, type MathFn } from "../backends/wasm/math.ts";
import { erf } from "../backends/ts/support/special.ts";
import { F32, F64, splatConst, type Elem } from "../backends/wasm/wat.ts";
import { WA } from "../backends/wasm/support/heap.ts";

const GRID = [-800, -40, -20.5, -3, -1, -0.5, -1e-30, 0, 1e-30, 0.5, 1, 3, SOFTPLUS_LINEAR_FROM, 20.5, 40, 800, NaN, Infinity, -Infinity];
const SMALL = [-800, -2, -0.5, 0, 0.75, 3, 800, NaN, Infinity, -Infinity];
const ATTRS: Record<string, Attrs> = { clip: { lo: -1, hi: 2 }, between: { lo: -1, hi: 2 } };
const PAGE = 65536;
/** Elements per operand array (each operand has 4 pages). */
const CAP = (4 * PAGE) / 8;

function points(p: Elementwise): number[][] {
  let out: number[][] = [[]];
  for (let k = 0; k < p.arity; k++) {
    const axis = p.op === "select" && k === 0 ? [0, 1] : p.arity === 1 ? GRID : SMALL;
    out = out.flatMap((t) => axis.map((x) => [...t, x]));
  }
  return out;
}

type Apply = (xs: number[][]) => number[];

/** A module applying `p` lane-wise: operand k at 4k pages, the result after the operands. */
async function build(p: Elementwise, e: Elem, fast: boolean): Promise<Apply> {
  const used = new Set<MathFn>();
  const o = { v: e.v, k: (c: number) => splatConst(e, c), call: (fn: MathFn, ...x: string[]) => (used.add(fn), `(call $${fn} ${x.join(" ")})`) };
  const args = Array.from({ length: p.arity }, (_, k) => `(v128.load offset=${k * 4 * PAGE} (local.get $i))`);
  const expr = p.wasm(args, ATTRS[p.op] ?? {}, o);
  const math = mathFunctions(e, fast, used);
  const wat = [
    "(module",
    '  (import "env" "memory" (memory 1 65536 shared))',
    ...math.imports.map(hostImport),
    math.text,
    '  (func (export "apply") (param $bytes i32) (local $i i32)',
    "    (loop $l",
    `      (v128.store offset=${p.arity * 4 * PAGE} (local.get $i) ${expr})`,
    "      (local.set $i (i32.add (local.get $i) (i32.const 16)))",
    "      (br_if $l (i32.lt_u (local.get $i) (local.get $bytes)))))",
    ")",
  ].join("\n");
  const bytes = await assemble(wat, `probe_${p.op}`);
  const memory = new WA.Memory({ initial: 4 * (p.arity + 1), maximum: 65536, shared: true });
  const inst = new WA.Instance(new WA.Module(bytes), { env: { memory }, m: { exp: Math.exp, tanh: Math.tanh, log: Math.log, log1p: Math.log1p, expm1: Math.expm1, sin: Math.sin, cos: Math.cos, pow: Math.pow, erf } });
  const apply = inst.exports.apply as (bytes: number) => void;
  const Arr = e.s === "f32" ? Float32Array : Float64Array;
  return (xs) => {
    const n = xs[0]!.length;
    const m = new Arr(memory.buffer as ArrayBuffer);
    const per = (4 * PAGE) / e.bytes;
    xs.forEach((col, k) => m.set(col, k * per));
    apply(Math.ceil(n / e.lanes) * 16);
    return Array.from(m.subarray(p.arity * per, p.arity * per + n));
  };
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || (a === 0 && b === 0);

/** |got - want| in float32 ulps of want (subnormal ulp below the normal range). */
function ulps(got: number, want: number): number {
  if (same(got, want)) return 0;
  if (!Number.isFinite(got) || !Number.isFinite(want)) return Infinity;
  const w = Math.abs(want);
  const ulp = w < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(w)) - 23);
  return Math.abs(got - want) / ulp;
}

describe.each([...ELEMENTWISE.values()].map((p) => [p.op, p] as const))("%s", (_name, p) => {
  const attrs = ATTRS[p.op] ?? {};
  const pts = points(p);
  const cols = (round: (x: number) => number) => Array.from({ length: p.arity }, (_, k) => pts.map((x) => round(x[k]!)));

  it("float64: the wasm lowering computes the definition at every grid point", async () => {
    const got = (await build(p, F64, false))(cols((x) => x));
    pts.forEach((x, i) => expect(same(got[i]!, p.eval(x, attrs)), `${p.op}(${x.join(", ")}) = ${got[i]}, defined as ${p.eval(x, attrs)}`).toBe(true));
  });

  it("float32, exact math: the definition rounded to float32", async () => {
    const got = (await build(p, F32, false))(cols(Math.fround));
    pts.forEach((x, i) => {
      const want = Math.fround(p.eval(x.map(Math.fround), attrs));
      expect(same(got[i]!, want), `${p.op}(${x.join(", ")}) = ${got[i]}, want ${want}`).toBe(true);
    });
  });

  it("float32, fast math: within 4 ulp of the definition (specials exact)", async () => {
    const got = (await build(p, F32, true))(cols(Math.fround));
    pts.forEach((x, i) => {
      const want = Math.fround(p.eval(x.map(Math.fround), attrs));
      expect(ulps(got[i]!, want), `${p.op}(${x.join(", ")}) = ${got[i]}, want ${want}`).toBeLessThanOrEqual(4);
    });
  });
});

/** erfc(a) for a ≥ 1 in float64 by its continued fraction (Laplace), evaluated from the 400th term
 *  back: the reference for gelu's tail, where the definition's 1 + erf(x/√2) cancels in float64. */
function erfcTail(a: number, expMinusA2: number): number {
  let f = a;
  for (let k = 400; k >= 1; k--) f = a + k / 2 / f;
  return expMinusA2 / Math.sqrt(Math.PI) / f;
}
/** A float64 value of each swept function (the definition, except gelu below -√2: x/2 · erfc(|x|/√2)). */
const reference = (op: string, x: number): number =>
  op === "gelu" && x < -Math.SQRT2 ? 0.5 * x * erfcTail(-x * Math.SQRT1_2, Math.exp(-0.5 * x * x)) : ELEMENTWISE.get(op)!.eval([x], {});

/** Worst errors allowed, in ulp (3 where not listed). gelu's tail is a product of five rounded
 *  factors (two exps, 1/x, a polynomial, x/2): measured 4 at x = -12.5. Its sweep stops at -13,
 *  where results are still normal floats; below, they are subnormal and lose bits. */
const BOUND: Record<string, number> = { gelu: 4 };

describe("the f32x4 approximations over dense sweeps", () => {
  const sweeps: Record<string, [number, number]> = { exp: [-104, 89], sigmoid: [-90, 90], tanh: [-10, 10], log: [1e-38, 1e6], softplus: [-100, 30], elu: [-20, 10], swish: [-100, 30], erf: [-6, 6], gelu: [-13, 10], sin: [-100, 100], cos: [-100, 100] };
  for (const [op, [lo, hi]] of Object.entries(sweeps)) {
    it(`${op} stays within ${BOUND[op] ?? 3} ulp on [${lo}, ${hi}] (and near zero)`, async () => {
      const p = ELEMENTWISE.get(op)!;
      const n = Math.min(CAP / 2, 60000);
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const u = i / (n - 1);
        // log: geometric spacing; the others: uniform, plus points near 0 where tanh's branches meet.
        xs.push(Math.fround(op === "log" ? lo * (hi / lo) ** u : lo + (hi - lo) * u));
      }
      for (let i = 0; i < 2000; i++) xs.push(Math.fround((i - 1000) / 1000));
      const got = (await build(p, F32, true))([xs]);
      let worst = 0;
      let at = 0;
      xs.forEach((x, i) => {
        const e = ulps(got[i]!, Math.fround(reference(op, x)));
        if (e > worst) [worst, at] = [e, x];
      });
      expect(worst, `worst at ${at}`).toBeLessThanOrEqual(BOUND[op] ?? 3);
    });
  }
});

describe("sin and cos far from 0", () => {
  it(`stay within 1e-7 of Math up to 2^16·π/2 (${Math.round(TRIG_MAX)}: the reduction's range), and in [-1, 1] beyond`, async () => {
    for (const op of ["sin", "cos"]) {
      const p = ELEMENTWISE.get(op)!;
      const xs: number[] = [];
      for (let i = 0; i < 40000; i++) xs.push(Math.fround(-TRIG_MAX + (2 * TRIG_MAX * i) / 39999));
      // float32 numbers nearest the multiples of π/2, where the results are smallest
      for (let k = 1; (k * Math.PI) / 2 < TRIG_MAX && xs.length < CAP / 2; k += 7) xs.push(Math.fround((k * Math.PI) / 2));
      const beyond = Array.from({ length: 4000 }, (_, i) => Math.fround(TRIG_MAX * (1.01 + i * 37.3)));
      const got = (await build(p, F32, true))([[...xs, ...beyond]]);
      let worst = 0;
      xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i]! - p.eval([x], {})))));
      expect(worst, op).toBeLessThan(1e-7);
      expect(got.slice(xs.length).every((v) => v >= -1 && v <= 1), op).toBe(true);
    }
  });
});

describe("pow's f32x4 approximation over dense 2-D sweeps", () => {
  /** The worst ulp of fast pow against Math.pow (float64, rounded once) over pairs whose result is a
   *  normal float32 (the others are checked bit for bit in the grid above and in test/fastmath.test.ts). */
  async function worstUlp(pairs: [number, number][]): Promise<{ worst: number; at: string; n: number }> {
    const apply = await build(ELEMENTWISE.get("pow")!, F32, true);
    const kept = pairs.map(([x, y]) => [Math.fround(x), Math.fround(y)] as const).filter(([x, y]) => {
      const w = Math.abs(Math.fround(Math.pow(x, y)));
      return w >= 2 ** -126 && w < Infinity;
    });
    let worst = 0;
    let at = "";
    for (let k = 0; k < kept.length; k += CAP) {
      const chunk = kept.slice(k, k + CAP);
      const got = apply([chunk.map(([x]) => x), chunk.map(([, y]) => y)]);
      chunk.forEach(([x, y], i) => {
        const e = ulps(got[i]!, Math.fround(Math.pow(x, y)));
        if (e > worst) [worst, at] = [e, `pow(${x}, ${y}) = ${got[i]}, want ${Math.fround(Math.pow(x, y))}`];
      });
    }
    return { worst, at, n: kept.length };
  }

  it("gives Math.pow's special values: signed zeros, infinities, NaN, odd and even powers of negative x", async () => {
    const xs = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, Infinity, -Infinity, NaN, 2 ** -149, -(2 ** -149), 3.4e38, -3.4e38];
    const ys = [0, -0, 1, -1, 2, -2, 3, -3, 0.5, -0.5, Infinity, -Infinity, NaN, 2 ** 24 + 2, -(2 ** 25), 2 ** 23 + 1, 1e10, -1e10, 2 ** -149, 1e-30];
    const pairs = xs.flatMap((x) => ys.map((y) => [Math.fround(x), Math.fround(y)] as const));
    const got = (await build(ELEMENTWISE.get("pow")!, F32, true))([pairs.map(([x]) => x), pairs.map(([, y]) => y)]);
    pairs.forEach(([x, y], i) => {
      const want = Math.fround(Math.pow(x, y));
      const msg = `pow(${x}, ${y}) = ${got[i]}, want ${want}`;
      // 0, ±∞ and NaN exactly (the sign of a zero too); other values within 1 ulp
      if (want === 0 || !Number.isFinite(want)) expect(Object.is(got[i], want) || (Number.isNaN(want) && Number.isNaN(got[i]!)), msg).toBe(true);
      else expect(ulps(got[i]!, want), msg).toBeLessThanOrEqual(1);
    });
  });

  it("is within 1 ulp for x in (0, 1e6] and y in [-20, 20] (and for negative x and integral y)", async () => {
    const pairs: [number, number][] = [];
    const xs: number[] = [];
    for (let i = 0; i < 400; i++) xs.push(2 ** -126 * (1e6 / 2 ** -126) ** (i / 399), 1e-6 * 1e12 ** (i / 399), (1e6 * (i + 1)) / 400);
    for (const x of xs) for (let j = 0; j < 250; j++) pairs.push([x, -20 + (40 * j) / 249]);
    // a negative base to a whole power: sign by the power's parity
    for (let i = 0; i < 200; i++) for (let j = -20; j <= 20; j++) pairs.push([-(1e-3 * 1e6 ** (i / 199)), j]);
    const { worst, at, n } = await worstUlp(pairs);
    expect(n).toBeGreaterThan(100_000);
    expect(worst, at).toBeLessThanOrEqual(1);
  });

  it("is within 2 ulp wherever the result is a normal float32 (|y·log2 x| up to 127, x near 1)", async () => {
    const pairs: [number, number][] = [];
    for (let i = 0; i < 400; i++) {
      // x from 2^-149 (subnormal) to 2^127; in [0.5, 2], where |y| reaches 126 and beyond; and
      // 1 ± small steps, where log2 x is small and y large
      const far = 2 ** (-149 + (276 * i) / 399);
      const mid = 0.5 + (1.5 * i) / 399;
      const near = 1 + (i - 200 + 0.5) * 2 ** -17;
      for (const x of [far, mid, near]) {
        const l = Math.log2(Math.fround(x));
        for (let j = 0; j < 250; j++) pairs.push([x, (-125 + (252 * j) / 249) / l]);
      }
    }
    const { worst, at, n } = await worstUlp(pairs);
    expect(n).toBeGreaterThan(100_000);
    expect(worst, at).toBeLessThanOrEqual(2);
  });
});
