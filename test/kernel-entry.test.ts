// The entry runtime (backends/ts/support/entry.ts) that every TypeScript and WebAssembly module
// runs around its stages: one rule for where a pack's gradient is computed (in place in its parts'
// gradients, or apart and added into them), the same results however the caller's arrays lie,
// and the same messages from both backends.

import { describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { gradCheck } from "./helpers/gradcheck.ts";
import { Rng } from "./helpers/rng.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

// W multiplies both x (stacked with V, side by side in the layout) and h (stacked with U, by
// copying): the second pack's gradient is computed apart and added into W's.
const SHARED = "test/specs/shared_pack.cell";
const T = 5;
const B = 3;

function fill(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * 0.5;
  return a;
}

/** forward then backward with `params` laid out as `own` says: the module's own createParams
 *  views (packs read and their gradients written in place) or separate arrays (packs copied). */
function gradients(k: CellKernel, own: boolean, seed: number): { outputs: Tensors; grads: ReturnType<CellKernel["backward"]> } {
  const rng = new Rng(seed);
  const params = own ? k.createParams() : ({} as Tensors);
  for (const p of k.meta.params) {
    const v = fill(rng, p.size);
    if (own) params[p.name]!.set(v);
    else params[p.name] = v;
  }
  const inputs: Tensors = {};
  for (const i of k.meta.inputs) inputs[i.name] = fill(rng, T * B * i.size);
  const dOutputs: Tensors = {};
  for (const o of k.meta.outputs) dOutputs[o.name] = fill(rng, T * B * o.size);
  const r = k.forward(params, inputs, { batchSize: B, lengths: [T, 2, 0] });
  // Gradients into separate arrays (not side by side) when the params are separate too.
  const into = own
    ? undefined
    : {
        params: Object.fromEntries(k.meta.params.map((p) => [p.name, new Float32Array(p.size).fill(7)])),
        inputs: Object.fromEntries(k.meta.inputs.map((i) => [i.name, new Float32Array(T * B * i.size)])),
        initialState: Object.fromEntries(k.meta.states.map((s) => [s.name, new Float32Array(B * s.size)])),
      };
  const outputs = Object.fromEntries(Object.entries(r.outputs).map(([n, a]) => [n, a.slice()]));
  const grads = k.backward(params, r.tape, dOutputs, into ? { into } : {});
  return { outputs, grads };
}

describe.each(TEST_BACKENDS)("%s backend: the entry runtime", (target) => {
  it("a param in two packs: backward matches central differences (float64 build)", async () => {
    const k = await loadCellFile(SHARED, { dims: { H: 4 }, dtype: "float64", target });
    const r = gradCheck({ kernel: k, T, B: 3, lengths: [T, 2, 0], withMasks: true, seed: 3, arrayType: Float64Array });
    expect(r.checked).toBeGreaterThan(k.meta.paramCount);
    for (const [name, err] of Object.entries(r.worst)) expect(err, name).toBeLessThan(1e-6);
  });

  it("params and gradients of the module's own layout (packs in place) and separate arrays (packs copied, added back) give the same bits", async () => {
    for (const spec of [SHARED, "examples/specs/lstm.cell"]) {
      const k = await loadCellFile(spec, { dims: { I: 3, H: 4 }, target });
      const a = gradients(k, true, 9);
      const b = gradients(k, false, 9);
      expect(b.outputs, spec).toEqual(a.outputs);
      for (const p of k.meta.params) expect(Array.from(b.grads.params[p.name]!), `${spec} d${p.name}`).toEqual(Array.from(a.grads.params[p.name]!));
      for (const i of k.meta.inputs) expect(Array.from(b.grads.inputs[i.name]!)).toEqual(Array.from(a.grads.inputs[i.name]!));
      for (const s of k.meta.states) expect(Array.from(b.grads.initialState[s.name]!)).toEqual(Array.from(a.grads.initialState[s.name]!));
    }
  });
});

describe("TypeScript and WebAssembly modules share one entry runtime", () => {
  it("agree on a param in two packs (float32) and say the same about a bad argument", async () => {
    const ts = await loadCellFile(SHARED, { dims: { H: 4 }, target: "ts" });
    const wasm = await loadCellFile(SHARED, { dims: { H: 4 }, target: "wasm" });
    const a = gradients(ts, false, 4);
    const b = gradients(wasm, false, 4);
    for (const p of ts.meta.params) {
      const x = a.grads.params[p.name]!;
      const y = b.grads.params[p.name]!;
      for (let j = 0; j < x.length; j++) expect(Math.abs(x[j]! - y[j]!), `d${p.name}[${j}]`).toBeLessThan(1e-5 * (1 + Math.abs(x[j]!)));
    }
    const params = ts.createParams({ seed: 1 });
    const x = new Float32Array(T * B * 4);
    const bad: [string, () => unknown][] = [
      ["lengths out of range", () => (k: CellKernel) => k.forward(params, { x }, { batchSize: B, lengths: [T + 1, 0, 0] })],
      ["unknown option", () => (k: CellKernel) => k.forward(params, { x }, { batchSize: B, lenghts: [1, 1, 1] } as never)],
      ["wrong input length", () => (k: CellKernel) => k.forward(params, { x: new Float32Array(7) }, { batchSize: B })],
      ["foreign tape", () => (k: CellKernel) => k.backward(params, { timeSteps: T, batchSize: B }, {})],
    ];
    for (const [what, make] of bad) {
      const call = make() as (k: CellKernel) => unknown;
      const message = (k: CellKernel) => {
        try {
          call(k);
        } catch (e) {
          return (e as Error).message;
        }
        return "no error";
      };
      const m = message(ts);
      expect(m, what).toMatch(/^shared_pack\.(forward|backward): /);
      expect(message(wasm), what).toBe(m);
    }
  });
});
