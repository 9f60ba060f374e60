// The gradient sweep: every example spec, optimised and not, against central finite differences
// in float64 — for every parameter, input and initial state; then with per-sample lengths and
// recurrent-dropout masks; and the float32 kernels agree with the float64 ones.

import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { gradCheck } from "./helpers/gradcheck.ts";
import { Rng } from "./helpers/rng.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

// Every example spec (and Greff et al.'s LSTM variants in examples/specs/greff), and test/specs:
// cells that call every function, have several inputs and outputs, or none.
const specDirs = ["examples/specs", "examples/specs/greff", "test/specs"];
const specs = specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => `${d}/${f}`));
const dims = { I: 3, H: 4, P: 2, J: 2 };
const T = 6;
const B = 2;
const TOL = 1e-6;

describe.each(TEST_BACKENDS)("%s backend", (target) => {
  const load = (
    spec: string,
    dtype: "float32" | "float64",
    optimize: boolean,
  ) => loadCellFile(spec, { dims, dtype, optimize, target });

  describe.each(specs)("%s", (spec) => {
    for (const optimize of [true, false]) {
      const mode = optimize ? "optimised" : "unoptimised";
      it(`${mode}: backward matches central differences for every parameter, input and initial state`, async () => {
        const k = await load(spec, "float64", optimize);
        const r = gradCheck({
          kernel: k,
          T,
          B,
          seed: 11,
          arrayType: Float64Array,
        });
        expect(r.checked).toBeGreaterThan(k.meta.paramCount);
        for (const [name, err] of Object.entries(r.worst))
          expect(err, name).toBeLessThan(TOL);
      });
      it(`${mode}: also with per-sample lengths and state masks`, async () => {
        const k = await load(spec, "float64", optimize);
        const r = gradCheck({
          kernel: k,
          T,
          B: 3,
          lengths: [T, 2, 0],
          withMasks: true,
          seed: 5,
          arrayType: Float64Array,
        });
        for (const [name, err] of Object.entries(r.worst))
          expect(err, name).toBeLessThan(TOL);
      });
    }

    it("inputGradients: false leaves parameter gradients unchanged and input gradients zero", async () => {
      const k = await load(spec, "float32", true);
      const rng = new Rng(8);
      const params = k.createParams();
      for (const p of k.meta.params)
        for (let i = 0; i < p.size; i++)
          params[p.name]![i] = rng.normal() * 0.4;
      const inputs: Tensors = {};
      for (const i of k.meta.inputs)
        inputs[i.name] = new Float32Array(T * B * i.size).map(() =>
          rng.normal(),
        );
      const dOut: Tensors = {};
      for (const o of k.meta.outputs)
        dOut[o.name] = new Float32Array(T * B * o.size).map(() => rng.normal());
      const f = k.forward(params, inputs, { batchSize: B, timeSteps: T });
      const all = k.backward(params, f.tape, dOut);
      const some = k.backward(params, f.tape, dOut, { inputGradients: false });
      for (const p of k.meta.params)
        expect(Array.from(some.params[p.name]!), p.name).toEqual(
          Array.from(all.params[p.name]!),
        );
      for (const i of k.meta.inputs) {
        expect(all.inputs[i.name]!.some((v) => v !== 0)).toBe(true);
        expect(some.inputs[i.name]!.every((v) => v === 0)).toBe(true);
      }
    });

    it("float32 kernel agrees with the float64 one (outputs 1e-5, gradients 1e-4 relative)", async () => {
      const k32 = await load(spec, "float32", true);
      const k64 = await load(spec, "float64", true);
      const rng = new Rng(3);
      const mk = (k: CellKernel, seedVals: Map<string, number[]>) => {
        const t: Tensors = {};
        const params = k.createParams();
        for (const p of k.meta.params)
          params[p.name]!.set(seedVals.get(p.name)!);
        return { params, t };
      };
      const vals = new Map<string, number[]>();
      for (const p of k32.meta.params)
        vals.set(
          p.name,
          Array.from({ length: p.size }, () => rng.normal() * 0.4),
        );
      const xs = new Map<string, number[]>();
      for (const i of k32.meta.inputs)
        xs.set(
          i.name,
          Array.from({ length: T * B * i.size }, () => rng.normal()),
        );
      const run = (k: CellKernel) => {
        const { params } = mk(k, vals);
        const sample =
          Object.values(params)[0] ?? Object.values(k.createState(1))[0]!;
        const Ctor = sample.constructor as new (a: number[]) => Float32Array;
        const inputs: Tensors = {};
        for (const [n, v] of xs) inputs[n] = new Ctor(v);
        const f = k.forward(params, inputs, { batchSize: B, timeSteps: T });
        const dOut: Tensors = {};
        for (const o of k.meta.outputs)
          dOut[o.name] = new Ctor(
            Array.from({ length: T * B * o.size }, (_, i) => Math.sin(i)),
          );
        const g = k.backward(params, f.tape, dOut);
        return { out: f.outputs, g: g.params };
      };
      const a = run(k32);
      const b = run(k64);
      for (const o of k32.meta.outputs)
        expect(maxDiff(a.out[o.name]!, b.out[o.name]!), o.name).toBeLessThan(
          1e-5,
        );
      for (const p of k32.meta.params) {
        const scale = Math.max(1, maxAbs(b.g[p.name]!));
        expect(
          maxDiff(a.g[p.name]!, b.g[p.name]!) / scale,
          p.name,
        ).toBeLessThan(1e-4);
      }
    });
  });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
