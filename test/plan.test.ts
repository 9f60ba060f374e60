// The kernel plan: every spec's plan (optimised and not) passes verifyPlan, and verifyPlan is a
// real check — a plan broken in each way it guards against (a read before a write, a value
// overwritten while still needed, columns outside a buffer, per-step scratch read for all rows,
// a state not written for the next step, a GEMM of the wrong shape) is rejected with a message
// naming the buffer.

import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planKernel } from "../driver/index.ts";
import { dumpPlan } from "../compiler/plan/dump.ts";
import type { Plan, PlanOp } from "../compiler/plan/types.ts";
import { verifyPlan } from "../compiler/plan/verify.ts";

const specs = ["examples/specs", "test/specs"].flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => `${d}/${f}`));
const dims = { I: 3, H: 4, P: 2, J: 2 };

function planOf(file: string, optimize = true): Plan {
  const r = planKernel(readFileSync(file, "utf8"), { file, dims, optimize });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.plan!;
}

describe("every spec's plan verifies", () => {
  for (const spec of specs) {
    for (const optimize of [true, false]) {
      it(`${spec} (${optimize ? "optimised" : "plain"})`, () => {
        const plan = planOf(spec, optimize);
        expect(() => verifyPlan(plan)).not.toThrow();
        expect(plan.forward.stages.some((s) => s.kind === "loop")).toBe(true);
        expect(plan.backward.stages.some((s) => s.kind === "loop" && s.reverse)).toBe(true);
        // Names are given once: no two buffers share one.
        expect(new Set(plan.buffers.map((b) => b.name)).size).toBe(plan.buffers.length);
      });
    }
  }
});

describe("the optimised LSTM plan", () => {
  const plan = planOf("examples/specs/lstm.cell");
  const text = dumpPlan(plan);

  it("hoists the input projection of every step into one GEMM over all rows, before the loop", () => {
    const first = plan.forward.stages[0]!;
    expect(first.kind).toBe("all");
    expect(first.ops.map((o) => o.op)).toEqual(["gemm"]);
    const g = first.ops[0] as Extract<PlanOp, { op: "gemm" }>;
    expect([g.form, g.n, g.k]).toEqual(["xwT", 16, 3]);
    expect(g.lines).toHaveLength(4); // the fused product lists every gate's spec line
  });

  it("keeps only the recurrence in the backward loop; weight gradients are GEMMs over all rows", () => {
    const loop = plan.backward.stages.find((s) => s.kind === "loop")!;
    expect(loop.ops.filter((o) => o.op === "gemm").map((o) => (o as { form: string }).form)).toEqual(["xw"]);
    const deferred = plan.backward.stages.find((s) => s.kind === "all" && !s.when)!;
    expect(deferred.ops.filter((o) => o.op === "gemm").every((o) => (o as { form: string }).form === "dw")).toBe(true);
  });

  it("lays each pack's parts side by side in the module's weight memory", () => {
    for (const p of plan.weights.packs) {
      expect(p.offset).not.toBeNull();
      let at = p.offset!;
      for (const part of p.parts) {
        expect(plan.weights.params.find((q) => q.buf === part.param)!.offset).toBe(at);
        at += plan.buffers[part.param]!.size!;
      }
    }
    expect(plan.weights.size).toBe(plan.meta.paramCount);
  });

  it("dumps readably", () => {
    expect(text).toMatch(/gemm xwT n=16 k=3 proj_x = x · pack_x/);
    expect(text).toMatch(/carry: copy d_h_next = d_h/);
  });
});

describe("verifyPlan rejects a broken plan", () => {
  const fresh = () => structuredClone(planOf("examples/specs/lstm.cell"));
  const loopOf = (p: Plan) => p.forward.stages.find((s) => s.kind === "loop")!;

  it("a read before the write", () => {
    const p = fresh();
    const loop = loopOf(p);
    loop.ops.splice(0, 1); // drop the map that writes the masked states
    expect(() => verifyPlan(p)).toThrow(/reads h_read\[0\] before it is written/);
  });

  it("a value overwritten while still needed", () => {
    const p = fresh();
    const loop = loopOf(p);
    const gemm = loop.ops.find((o) => o.op === "gemm")!;
    const out = (gemm as Extract<PlanOp, { op: "gemm" }>).c as { buf: number; value: number };
    // Something else written over the recurrent product before the gates read it.
    loop.ops.splice(loop.ops.indexOf(gemm) + 1, 0, { op: "fill", dst: { buf: out.buf, col: 0, width: 4, shift: 0, value: 9999 }, value: 0, lines: [] });
    expect(() => verifyPlan(p)).toThrow(/reads proj_h\[0\] expecting value \d+, but it holds 9999/);
  });

  it("columns outside a buffer", () => {
    const p = fresh();
    const gemm = p.forward.stages[0]!.ops[0] as Extract<PlanOp, { op: "gemm" }>;
    (gemm.c as { col: number }).col = 8;
    expect(() => verifyPlan(p)).toThrow(/columns \[8, 24\) outside proj_x of width 16/);
  });

  it("per-step scratch addressed for all rows at once", () => {
    const p = fresh();
    const loop = loopOf(p);
    const gemm = loop.ops.find((o) => o.op === "gemm")!;
    p.forward.stages[0]!.ops.push(gemm);
    expect(() => verifyPlan(p)).toThrow(/per-step buffer proj_h read or written for all rows at once|reads h_read/);
  });

  it("a state not written for the next step", () => {
    const p = fresh();
    const loop = loopOf(p);
    const map = loop.ops[loop.ops.length - 1] as Extract<PlanOp, { op: "map" }>;
    map.stores = map.stores.filter((s) => p.buffers[s.view.buf]!.name !== "c" || s.view.shift !== 1);
    expect(() => verifyPlan(p)).toThrow(/c\[0\] is not written for the next step/);
  });

  it("a GEMM whose shape disagrees with its views", () => {
    const p = fresh();
    (p.forward.stages[0]!.ops[0] as { k: number }).k = 4;
    expect(() => verifyPlan(p)).toThrow(/gemm/);
  });
});
