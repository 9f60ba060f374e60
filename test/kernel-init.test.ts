// Initialized parameters: createParams({ seed }) applies each parameter's rule (the spec's `= ones`,
// `= glorot`, ...) on every backend, with the same numbers for a seed on the TypeScript and the
// WebAssembly kernel and in a runtime recurrent layer built with that seed; the numbers follow the
// rule (checked here against the rule's own definition, not the initializer's code); forward then
// gives non-zero outputs; a bad seed is a named error.

import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CellKernel, ParamMeta, Tensors } from "../abi/kernel.ts";
import { loadCell, loadCellFile } from "../driver/index.ts";
import { recurrent, Rng } from "../runtime/api.ts";
import { TEST_BACKENDS } from "./helpers/backends.ts";

const specDirs = ["examples/specs", "examples/specs/greff", "test/specs"];
const specs = specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => `${d}/${f}`));
// Sizes large enough for the statistics to mean something.
const dims = { I: 24, H: 32, P: 8, J: 4 };

/** Checks that `v` (a parameter of `m.shape`) follows its rule `m.init`; returns what failed. */
function followsRule(m: ParamMeta, v: Float32Array): void {
  const what = `${m.name} (${JSON.stringify(m.init)})`;
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  const init = m.init;
  switch (init.kind) {
    case "zeros":
    case "ones":
    case "const": {
      const c = init.kind === "zeros" ? 0 : init.kind === "ones" ? 1 : init.value;
      expect(v.every((x) => x === Math.fround(c)), what).toBe(true);
      return;
    }
    case "glorot":
    case "uniform": {
      // Glorot-uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), [out, in] for a matrix.
      const [rows, cols] = m.shape.length === 2 ? [m.shape[0]!, m.shape[1]!] : [m.shape[0]!, m.shape[0]!];
      const lo = init.kind === "uniform" ? init.low : -Math.sqrt(6 / (rows + cols));
      const hi = init.kind === "uniform" ? init.high : Math.sqrt(6 / (rows + cols));
      expect(Math.min(...v), what).toBeGreaterThanOrEqual(Math.fround(lo));
      expect(Math.max(...v), what).toBeLessThanOrEqual(Math.fround(hi));
      // A uniform on [lo, hi) has mean (lo + hi) / 2 and variance (hi - lo)² / 12.
      const sd = (hi - lo) / Math.sqrt(12);
      expect(Math.abs(mean - (lo + hi) / 2), what).toBeLessThan((5 * sd) / Math.sqrt(n));
      expect(Math.sqrt(variance) / sd, what).toBeGreaterThan(0.85);
      expect(Math.sqrt(variance) / sd, what).toBeLessThan(1.15);
      return;
    }
    case "normal":
      expect(Math.abs(mean), what).toBeLessThan((5 * init.std) / Math.sqrt(n));
      expect(Math.sqrt(variance) / init.std, what).toBeGreaterThan(0.85);
      expect(Math.sqrt(variance) / init.std, what).toBeLessThan(1.15);
      return;
    case "orthogonal": {
      // Orthonormal rows (rows <= cols) or columns: the Gram matrix is the identity.
      const [r, c] = [m.shape[0]!, m.shape[1]!];
      const k = Math.min(r, c);
      const at = (i: number, j: number) => (r <= c ? v[i * c + j]! : v[j * c + i]!);
      let worst = 0;
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          let dot = 0;
          for (let j = 0; j < Math.max(r, c); j++) dot += at(a, j) * at(b, j);
          worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
        }
      expect(worst, what).toBeLessThan(1e-5);
      return;
    }
  }
}

const copy = (p: Tensors) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Float32Array.from(v)]));

/** The first output over T steps of constant, non-zero inputs (and, with no inputs, a non-zero
 *  initial state), from zero state otherwise. */
function firstOutput(k: CellKernel, params: Tensors): Float32Array {
  const T = 3;
  const B = 2;
  const inputs = Object.fromEntries(k.meta.inputs.map((i) => [i.name, new Float32Array(T * B * i.size).map((_, j) => Math.sin(j + 1))]));
  const initialState = k.meta.inputs.length > 0 ? {} : Object.fromEntries(k.meta.states.map((s) => [s.name, new Float32Array(B * s.size).fill(0.5)]));
  return k.forward(params, inputs, { batchSize: B, timeSteps: T, initialState }).outputs[k.meta.outputs[0]!.name]!;
}

describe.each(specs)("%s", (spec) => {
  const kernels = async () => Promise.all(TEST_BACKENDS.map((target) => loadCellFile(spec, { dims, target })));

  it("createParams({ seed }) follows each parameter's rule, with the same numbers on every backend and in a runtime layer of that seed", async () => {
    const ks = await kernels();
    const seed = 1234;
    const first = ks[0]!.createParams({ seed });
    for (const m of ks[0]!.meta.params) followsRule(m, first[m.name]!);
    for (const k of ks) {
      const p = k.createParams({ seed });
      for (const m of k.meta.params) expect(p[m.name], `${k.meta.backend} ${m.name}`).toEqual(first[m.name]);
    }
    // A recurrent layer initializes the same (the runtime needs at least one input to feed).
    const k = ks[0]!;
    if (k.meta.inputs.length > 0 && k.meta.outputs.length > 0) {
      const layer = recurrent({ kernel: k });
      await layer.build([null, k.meta.inputs.reduce((s, i) => s + i.size, 0)], new Rng(seed));
      for (const q of layer.params()) expect(q.value, q.name).toEqual(first[q.name]);
    }
  });

  it("a seed gives the same parameters every time, another seed others, and forward gives non-zero outputs", async () => {
    for (const k of await kernels()) {
      const a = copy(k.createParams({ seed: 7 }));
      expect(copy(k.createParams({ seed: 7 }))).toEqual(a);
      const drawn = k.meta.params.filter((m) => !["zeros", "ones", "const"].includes(m.init.kind));
      if (drawn.length > 0) {
        const b = k.createParams({ seed: 8 });
        expect(drawn.some((m) => b[m.name]!.some((x, i) => x !== a[m.name]![i]))).toBe(true);
      }
      const out = firstOutput(k, k.createParams({ seed: 7 }));
      expect(out.some((x) => Math.abs(x) > 1e-3), k.meta.backend).toBe(true);
      // { zeros: true } is zero-filled, as createParams() was before it initialized.
      for (const v of Object.values(k.createParams({ zeros: true }))) expect(v.every((x) => x === 0)).toBe(true);
    }
  });
});

describe.each(TEST_BACKENDS)("%s kernels", (target) => {
  // Every initializer a spec can name, at shapes with more rows than columns and fewer.
  const source = `cell inits(I, H) {
    input x: [I]
    state h: [H]
    param U: [H, I] = uniform(-0.2, 0.3), N: [H, H] = normal(0.5), O: [H, I] = orthogonal,
          Q: [I, H] = orthogonal, G: [H, H] = glorot, c: [H] = const(2.5), z: [H] = ones, e: [H]
    h' = tanh(U @ x + N @ h + O @ x + G @ h + c * z + e + O @ (Q @ h))
    output h'
  }`;

  it("every initializer follows its rule, and matches the runtime's", async () => {
    const k = await loadCell(source, { dims: { I: 20, H: 40 }, target });
    const p = k.createParams({ seed: 99 });
    expect(k.meta.params.map((m) => m.init.kind)).toEqual(["uniform", "normal", "orthogonal", "orthogonal", "glorot", "const", "ones", "zeros"]);
    for (const m of k.meta.params) followsRule(m, p[m.name]!);
    const layer = recurrent({ kernel: k });
    await layer.build([null, 20], new Rng(99));
    for (const q of layer.params()) expect(q.value, q.name).toEqual(p[q.name]);
  });

  it("createParams() without a seed initializes too, from a random seed", async () => {
    const k = await loadCell(source, { dims: { I: 20, H: 40 }, target });
    const a = k.createParams();
    const b = k.createParams();
    for (const m of k.meta.params) followsRule(m, a[m.name]!);
    expect(a["G"]).not.toEqual(b["G"]);
  });

  it("a bad seed or option is a RangeError naming the kernel, the option and what it takes", async () => {
    const k = await loadCell(source, { dims: { I: 2, H: 3 }, target });
    const bad: [unknown, RegExp][] = [
      [{ seed: Number.NaN }, /^inits\.createParams: options\.seed must be a whole number from 0 to 4294967295, got NaN$/],
      [{ seed: 1.5 }, /options\.seed must be a whole number from 0 to 4294967295, got 1\.5$/],
      [{ seed: -1 }, /options\.seed must be a whole number .* got -1$/],
      [{ seed: 2 ** 32 }, /options\.seed must be a whole number .* got 4294967296$/],
      [{ seed: "3" }, /options\.seed must be a whole number .* got the string "3"$/],
      [{ seed: 3, zeros: true }, /options\.seed and options\.zeros: give one or the other/],
      [{ zeros: 1 }, /options\.zeros must be true or false, got 1$/],
      [{ sed: 3 }, /options has an unknown key "sed" \(valid keys: seed, zeros\)$/],
      [7, /options must be an object, got 7$/],
    ];
    for (const [options, message] of bad) {
      expect(() => k.createParams(options as never), JSON.stringify(options)).toThrow(RangeError);
      expect(() => k.createParams(options as never), JSON.stringify(options)).toThrow(message);
    }
  });
});
