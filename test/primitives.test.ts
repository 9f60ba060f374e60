// The primitive registry, entry by entry: each primitive's TypeScript formula (exact and fast)
// computes its float64 definition on a grid that includes extremes, NaN and the infinities, and
// its derivative rule — differentiated by the autodiff engine and run by a plain IR interpreter —
// equals central finite differences of the definition wherever the function is smooth.

import { describe, expect, it } from "vitest";
import { differentiate } from "../compiler/autodiff.ts";
import { emptyGraph, GraphBuilder } from "../compiler/ir.ts";
import { ELEMENTWISE, SOFTPLUS_LINEAR_FROM } from "../compiler/primitives/elementwise.ts";
import type { Attrs, Elementwise } from "../compiler/primitives/types.ts";
import { WGSL_OPS } from "../compiler/primitives/wgsl.ts";
import { fexp, fsigmoid, ftanh } from "../backends/ts/support/fastmath.ts";
import { erf } from "../backends/ts/support/special.ts";
import { evalGraph } from "./helpers/ir-eval.ts";
import { Rng } from "./helpers/rng.ts";

const GRID = [-800, -40, -20.5, -3, -1, -0.5, -1e-30, 0, 1e-30, 0.5, 1, 3, SOFTPLUS_LINEAR_FROM, 20.5, 40, 800, NaN, Infinity, -Infinity];
const SMALL = [-800, -2, -0.5, 0, 0.75, 3, 800, NaN, Infinity, -Infinity];
const ATTRS: Record<string, Attrs> = { clip: { lo: -1, hi: 2 }, between: { lo: -1, hi: 2 } };

/** Every operand tuple on the grid (a smaller grid past one operand; select's flag is 0 or 1). */
function points(p: Elementwise): number[][] {
  let out: number[][] = [[]];
  for (let k = 0; k < p.arity; k++) {
    const axis = p.op === "select" && k === 0 ? [0, 1] : p.arity === 1 ? GRID : SMALL;
    out = out.flatMap((t) => axis.map((x) => [...t, x]));
  }
  return out;
}

function formula(p: Elementwise, fast: boolean): (...x: number[]) => number {
  const names = Array.from({ length: p.arity }, (_, k) => `x${k}`);
  const body = `return ${p.ts(names, ATTRS[p.op] ?? {}, { fast })};`;
  const f = new Function("fexp", "fsigmoid", "ftanh", "erf", ...names, body) as (...a: unknown[]) => number;
  return (...x) => f(fexp, fsigmoid, ftanh, erf, ...x);
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || (a === 0 && b === 0);

describe.each([...ELEMENTWISE.values()].map((p) => [p.op, p] as const))("%s", (_name, p) => {
  const attrs = ATTRS[p.op] ?? {};

  it("its exact TypeScript formula computes its definition at every grid point", () => {
    const f = formula(p, false);
    for (const x of points(p)) {
      const want = p.eval(x, attrs);
      expect(same(f(...x), want), `${p.op}(${x.join(", ")}) = ${f(...x)}, defined as ${want}`).toBe(true);
    }
  });

  it("its fast TypeScript formula is within a float32 rounding of its definition", () => {
    const f = formula(p, true);
    for (const x of points(p)) {
      const want = p.eval(x, attrs);
      const got = f(...x);
      if (!Number.isFinite(want) || !Number.isFinite(got)) {
        expect(same(got, want), `${p.op}(${x.join(", ")}) = ${got}, defined as ${want}`).toBe(true);
        continue;
      }
      const err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
      expect(err, `${p.op}(${x.join(", ")}) = ${got}, defined as ${want}`).toBeLessThan(2 ** -22);
    }
  });

  it.skipIf(!p.grad)("its derivative rule equals central differences of its definition where it is smooth", () => {
    // y = p(x0, x1, ...) as a graph; backward with dy = 1 gives dy/dx_k for every operand.
    const g = emptyGraph("prim", "cell", {});
    const b = new GraphBuilder(g);
    g.active = b.value("active", [1], "seq");
    const xs = Array.from({ length: p.arity }, (_, k) => b.value(`x${k}`, [1], "input"));
    for (const [k, v] of xs.entries()) g.inputs.push({ name: `x${k}`, value: v });
    const y = b.ew(p.op, xs.map((v) => ({ v })), p.attrs ? attrs : undefined);
    g.outputs.push({ name: "y", value: y.v });
    const bw = differentiate(g);
    const rng = new Rng(3);
    let checked = 0;
    for (let trial = 0; trial < 400 && checked < 60; trial++) {
      const x = xs.map((_, k) => (p.op === "select" && k === 0 ? (trial % 2) : rng.normal() * 2.5));
      const h = 1e-6;
      // Smooth, in the domain, and no kink within the step.
      const near = (d: number) => x.map((v, k) => (p.op === "select" && k === 0 ? v : v + d));
      if (p.domain && !(p.domain(x) && p.domain(near(-1e-3)) && p.domain(near(1e-3)))) continue;
      if (p.smoothAt && !(p.smoothAt(near(-1e-3), attrs) && p.smoothAt(near(1e-3), attrs) && p.smoothAt(x, attrs))) continue;
      const given = new Map(xs.map((v, k) => [v, new Float64Array([x[k]!])]));
      given.set(g.active, new Float64Array([1]));
      const fwd = evalGraph(g, given);
      const bgiven = new Map(fwd);
      bgiven.set(bw.seedOutputs[0]!.value, new Float64Array([1]));
      const vals = evalGraph(bw, bgiven);
      xs.forEach((_, k) => {
        if (p.op === "select" && k === 0) return;
        const up = [...x];
        const down = [...x];
        up[k]! += h;
        down[k]! -= h;
        const numeric = (p.eval(up, attrs) - p.eval(down, attrs)) / (2 * h);
        const analytic = vals.get(bw.dInputs[k]!.value)![0]!;
        const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric));
        expect(err, `d${p.op}/dx${k} at (${x.join(", ")}): ${analytic} vs ${numeric}`).toBeLessThan(1e-5);
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe("the registry's WGSL column (compiler/primitives/wgsl.ts)", () => {
  it("lowers every elementwise primitive, and nothing that is not one", () => {
    expect([...ELEMENTWISE.keys()].filter((op) => WGSL_OPS[op] === undefined)).toEqual([]);
    expect(Object.keys(WGSL_OPS).filter((op) => !ELEMENTWISE.has(op))).toEqual([]);
  });
});
