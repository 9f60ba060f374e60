// Kernels own their memory: createParams returns views of one buffer in which each stacked
// matrix's parts lie side by side, so forward, step and backward read them in place. Separate
// arrays (params made by hand, or loaded) give the same numbers through the copying path; a
// param changed in place between calls is seen; gradients land in createParams-shaped arrays in
// place and in separate arrays by accumulation, equally.

import { describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { Rng } from "./helpers/rng.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const T = 4;
const B = 3;

function fill(
  k: CellKernel,
  seed: number,
): { own: Tensors; copies: Tensors; x: Tensors } {
  const rng = new Rng(seed);
  const own = k.createParams();
  for (const p of k.meta.params)
    for (let i = 0; i < p.size; i++) own[p.name]![i] = rng.normal() * 0.3;
  const copies = Object.fromEntries(
    Object.entries(own).map(([n, a]) => [n, Float32Array.from(a)]),
  );
  const x: Tensors = {};
  for (const i of k.meta.inputs)
    x[i.name] = new Float32Array(T * B * i.size).map(() => rng.normal());
  return { own, copies, x };
}

describe.each(
  TEST_BACKENDS.flatMap((target) =>
    ["lstm", "gru", "lstmp", "deep_lstm"].map(
      (spec) => [spec, target] as const,
    ),
  ),
)("%s (%s backend)", (spec, target) => {
  const load = () =>
    loadCellFile(`examples/specs/${spec}.cell`, {
      dims: { I: 3, H: 4, P: 2 },
      target,
    });

  it("createParams are views of one buffer; each pack's parts follow one another", async () => {
    const k = await load();
    const p = k.createParams();
    const buffers = new Set(Object.values(p).map((a) => a.buffer));
    expect(buffers.size).toBe(1);
    const total = Object.values(p).reduce((n, a) => n + a.length, 0);
    expect(total).toBe(k.meta.paramCount);
  });

  it("own params and separate copies give identical outputs, states and gradients", async () => {
    const k = await load();
    const { own, copies, x } = fill(k, 5);
    const a = k.forward(own, x, { batchSize: B });
    const outA = Object.fromEntries(
      Object.entries(a.outputs).map(([n, v]) => [n, Array.from(v)]),
    );
    const ga = k.backward(
      own,
      a.tape,
      Object.fromEntries(
        k.meta.outputs.map((o) => [o.name, a.outputs[o.name]!]),
      ),
    );
    const gradA = Object.fromEntries(
      Object.entries(ga.params).map(([n, v]) => [n, Array.from(v)]),
    );
    const b = k.forward(copies, x, { batchSize: B });
    expect(
      Object.fromEntries(
        Object.entries(b.outputs).map(([n, v]) => [n, Array.from(v)]),
      ),
    ).toEqual(outA);
    // Gradients into separate arrays (not side by side) take the scatter path.
    const into = {
      params: Object.fromEntries(
        k.meta.params.map((p) => [p.name, new Float32Array(p.size)]),
      ),
      inputs: Object.fromEntries(
        k.meta.inputs.map((i) => [i.name, new Float32Array(T * B * i.size)]),
      ),
      initialState: Object.fromEntries(
        k.meta.states.map((s) => [s.name, new Float32Array(B * s.size)]),
      ),
    };
    const gb = k.backward(
      copies,
      b.tape,
      Object.fromEntries(
        k.meta.outputs.map((o) => [o.name, b.outputs[o.name]!]),
      ),
      { into },
    );
    expect(
      Object.fromEntries(
        Object.entries(gb.params).map(([n, v]) => [n, Array.from(v)]),
      ),
    ).toEqual(gradA);
  });

  it("a param changed in place between calls is seen by forward and step", async () => {
    const k = await load();
    const { own, x } = fill(k, 6);
    const first = Array.from(
      Object.values(k.forward(own, x, { batchSize: B }).outputs)[0]!,
    );
    const p0 = k.meta.params[0]!.name;
    own[p0]!.fill(0.7);
    const second = Array.from(
      Object.values(k.forward(own, x, { batchSize: B }).outputs)[0]!,
    );
    expect(second).not.toEqual(first);
    // step on the same params equals the first step of forward
    const stepInputs = Object.fromEntries(
      Object.entries(x).map(([n, v]) => [
        n,
        v.subarray(0, B * (v.length / (T * B))),
      ]),
    );
    const y = Object.values(k.step(own, stepInputs, k.createState(B), B))[0]!;
    expect(Array.from(y)).toEqual(second.slice(0, y.length));
  });
});
