// The derivative rules of the new structural ops, one op at a time, through autodiff and a plain
// IR interpreter against central finite differences: a per-sample product with every
// transposition (matrix and vector operands), transpose, max (and a stopped max, which passes no
// gradient), and cumsum in both directions.

import { describe, expect, it } from "vitest";
import { differentiate } from "../compiler/autodiff.ts";
import { emptyGraph, GraphBuilder, verify, type Eqn, type Graph, type ValueId } from "../compiler/ir.ts";
import { evalGraph } from "./helpers/ir-eval.ts";
import { ROW_PRIMITIVES, type RowOpName } from "../compiler/primitives/rows.ts";
import { Rng } from "./helpers/rng.ts";

interface Case {
  name: string;
  inputs: number[][];
  /** Adds the op to the graph; returns its result. */
  op: (b: GraphBuilder, xs: ValueId[]) => ValueId;
}

/** d(Σ w · op(x))/dx by the backward graph and by central differences. */
function check(c: Case) {
  const g: Graph = emptyGraph("op", "cell", {});
  const b = new GraphBuilder(g);
  g.active = b.value("active", [1], "seq");
  const xs = c.inputs.map((shape, k) => {
    const v = b.value(`x${k}`, shape, "input");
    g.inputs.push({ name: `x${k}`, value: v });
    return v;
  });
  const y = c.op(b, xs);
  g.outputs.push({ name: "y", value: y });
  verify(g);
  const bw = differentiate(g);
  verify(bw);
  const rng = new Rng(7);
  const size = (s: number[]) => s.reduce((a, n) => a * n, 1);
  const vals = c.inputs.map((s) => Float64Array.from({ length: size(s) }, () => rng.normal()));
  const w = Float64Array.from({ length: size(g.values[y]!.shape) }, () => rng.normal());
  const loss = () => {
    const given = new Map(xs.map((v, k) => [v, vals[k]!]));
    given.set(g.active, new Float64Array([1]));
    const out = evalGraph(g, given).get(y)!;
    return out.reduce((s, v, i) => s + v * w[i]!, 0);
  };
  const given = new Map(xs.map((v, k) => [v, vals[k]!]));
  given.set(g.active, new Float64Array([1]));
  const fwd = evalGraph(g, given);
  const bgiven = new Map(fwd);
  bgiven.set(bw.seedOutputs[0]!.value, w);
  const got = evalGraph(bw, bgiven);
  let worst = 0;
  xs.forEach((_, k) => {
    const d = got.get(bw.dInputs[k]!.value)!;
    for (let i = 0; i < vals[k]!.length; i++) {
      const keep = vals[k]![i]!;
      vals[k]![i] = keep + 1e-6;
      const up = loss();
      vals[k]![i] = keep - 1e-6;
      const down = loss();
      vals[k]![i] = keep;
      worst = Math.max(worst, Math.abs(d[i]! - (up - down) / 2e-6));
    }
  });
  return { worst, bw, dx: xs.map((_, k) => got.get(bw.dInputs[k]!.value)!), w };
}

const bmm = (ta: boolean, tb: boolean, m: number, k: number, n: number, vecB = false): Case => ({
  name: `bmm ${m}×${k}·${k}×${n} ta=${ta} tb=${tb}${vecB ? " (vector B)" : ""}`,
  inputs: [ta ? [k, m] : [m, k], vecB ? [k * n] : tb ? [n, k] : [k, n]],
  op: (b, [A, B]) => {
    const e = (out: ValueId): Eqn => ({ op: "bmm", out, args: [{ v: A! }, { v: B! }], m, k, n, ta, tb });
    return b.emit(e, vecB ? [m] : [m, n]).v;
  },
});

const cases: Case[] = [
  ...[false, true].flatMap((ta) => [false, true].map((tb) => bmm(ta, tb, 3, 4, 2))),
  bmm(false, false, 3, 4, 1, true),
  bmm(true, false, 3, 4, 1, true),
  {
    name: "outer (k = 1)",
    inputs: [[3], [4]],
    op: (b, [a, c]) => b.emit((out) => ({ op: "bmm", out, args: [{ v: a! }, { v: c! }], m: 3, k: 1, n: 4, ta: false, tb: false }), [3, 4]).v,
  },
  { name: "transpose", inputs: [[2, 3]], op: (b, [a]) => b.emit((out) => ({ op: "transpose", out, args: [{ v: a! }] }), [3, 2]).v },
  // Every row primitive of the registry (compiler/primitives/rows.ts), scans both ways.
  ...[...ROW_PRIMITIVES.values()].flatMap((p) =>
    (p.kind === "scan" ? [false, true] : [false]).map((reverse) => ({
      name: `${p.op}${reverse ? " reverse" : ""}`,
      inputs: [[6]],
      op: (b: GraphBuilder, [a]: number[]) => b.emit((out) => ({ op: "row", fn: p.op as RowOpName, out, args: [{ v: a! }], reverse }), p.kind === "reduce" ? [1] : [6]).v,
    })),
  ),
];

describe("derivatives of the new structural ops against central differences", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(check(c).worst).toBeLessThan(1e-8);
  });

  it("a stopped max passes no gradient (softmax's shift)", () => {
    const { bw, dx, w } = check({
      name: "stopped max",
      inputs: [[4]],
      op: (b, [a]) => {
        const m = b.emit((out) => ({ op: "row", fn: "rowmax", out, args: [{ v: a! }], stop: true }), [1]).v;
        return b.ew("sub", [{ v: a! }, { v: m }]).v;
      },
    });
    // The adjoint of the input is the output's adjoint passed straight through: no max rule ran.
    expect(Array.from(dx[0]!)).toEqual(Array.from(w));
    expect(bw.eqns.some((e) => e.op === "row" && e.fn === "rowscan")).toBe(false);
  });
});
