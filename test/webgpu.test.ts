// The WebGPU backend, run as a user runs it: `compile({ target: "webgpu" })` writes a module, a
// page bundled with esbuild imports it, and headless Chromium runs forward and backward on its
// WebGPU adapter (SwiftShader's software Vulkan on a machine without a GPU). Every example spec
// (greff/ too), the test specs and a seeded slice of the random-program fuzzer's cells, with
// initial states, and again with per-sample lengths, recurrent-dropout masks and a final-state
// gradient, against the TypeScript kernel's float32 build on the same numbers in Node. Without
// Chromium, or without a WebGPU adapter in it, the browser tests are skipped, saying why.
//
// Tolerance: each result array's largest difference, over max(1, its largest magnitude), is at
// most TOL. Both kernels are float32; they differ in summation order (tiled GEMMs), in the GPU's
// exp/log/sin (a few ulp) and in erf (Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7 per call).

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { compile, loadCell } from "../compiler/index.ts";
import { sampleSpecs } from "./fuzz/sample.ts";
import { Rng } from "./helpers/rng.ts";
import { openGpuPage, type GpuPage } from "./helpers/webgpu-page.ts";

const TOL = 2e-4;
const FUZZ = 8;
const specDirs = ["examples/specs", "examples/specs/greff", "test/specs"];
const dims = { I: 3, H: 4, P: 2, J: 2 };
interface Case {
  label: string;
  source: string;
  file: string;
  dims: Record<string, number>;
  cell?: string;
}
const cases: Case[] = [
  ...specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => ({ label: `${d}/${f}`, source: readFileSync(`${d}/${f}`, "utf8"), file: `${d}/${f}`, dims }))),
  ...sampleSpecs(FUZZ, 26).map((s) => ({ label: s.origin, source: s.source, file: "fuzz.cell", dims: s.dims, cell: s.unit })),
];

type Arrays = Record<string, number[]>;
interface Call {
  k: number;
  T: number;
  B: number;
  params: Arrays;
  inputs: Arrays;
  initialState: Arrays;
  stateMasks?: Arrays;
  lengths?: number[];
  dOutputs: Arrays;
  dFinalState?: Arrays;
}
interface Result {
  error?: string;
  outputs: Arrays;
  finalState: Arrays;
  params: Arrays;
  inputs: Arrays;
  initialState: Arrays;
}

const rand = (rng: Rng, n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => Math.fround(rng.uniform(lo, hi)));
const f32 = (o: Arrays): Tensors => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array(v)]));
const plain = (o: Tensors): Arrays => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));

/** The calls each kernel makes: initial states; then lengths, masks and a final-state gradient. */
function callsFor(k: number, kernel: CellKernel): Call[] {
  const m = kernel.meta;
  const rng = new Rng(100 + k);
  const params = plain(kernel.createParams({ seed: k + 1 }));
  const make = (T: number, B: number, extra: boolean): Call => ({
    k,
    T,
    B,
    params,
    inputs: Object.fromEntries(m.inputs.map((i) => [i.name, rand(rng, T * B * i.size)])),
    initialState: Object.fromEntries(m.states.map((s) => [s.name, rand(rng, B * s.size, -0.5, 0.5)])),
    dOutputs: Object.fromEntries(m.outputs.map((o) => [o.name, rand(rng, T * B * o.size)])),
    ...(extra
      ? {
          lengths: [T, 2, 0].slice(0, B),
          stateMasks: Object.fromEntries(m.states.map((s) => [s.name, Array.from({ length: B * s.size }, () => (rng.next() < 0.25 ? 0 : 1.25))])),
          dFinalState: Object.fromEntries(m.states.map((s) => [s.name, rand(rng, B * s.size)])),
        }
      : {}),
  });
  return [make(5, 2, false), make(4, 3, true)];
}

/** The TypeScript kernel's results of a call (the reference). */
function reference(kernel: CellKernel, c: Call): Result {
  const fr = kernel.forward(f32(c.params), f32(c.inputs), { batchSize: c.B, timeSteps: c.T, initialState: f32(c.initialState), ...(c.lengths ? { lengths: c.lengths } : {}), ...(c.stateMasks ? { stateMasks: f32(c.stateMasks) } : {}) });
  const outputs = plain(fr.outputs);
  const finalState = plain(fr.finalState);
  const g = kernel.backward(f32(c.params), fr.tape, f32(c.dOutputs), c.dFinalState ? { dFinalState: f32(c.dFinalState) } : {});
  return { outputs, finalState, params: plain(g.params), inputs: plain(g.inputs), initialState: plain(g.initialState) };
}

/** The page: every kernel's calls on the GPU, in order; JSON back through cellcDone. */
const PAGE = (n: number) => `${Array.from({ length: n }, (_, i) => `import * as k${i} from "./k${i}.ts";`).join("\n")}
const kernels: any[] = [${Array.from({ length: n }, (_, i) => `k${i}`).join(", ")}];
const f32 = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array(v)]));
const plain = (o: Record<string, Float32Array>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
(async () => {
  const calls = await (await fetch("./calls.json")).json();
  const out: unknown[] = [];
  for (const c of calls) {
    const k = kernels[c.k];
    try {
      const fr = await k.forward(f32(c.params), f32(c.inputs), { batchSize: c.B, timeSteps: c.T, initialState: f32(c.initialState), ...(c.lengths ? { lengths: c.lengths } : {}), ...(c.stateMasks ? { stateMasks: f32(c.stateMasks) } : {}) });
      const outputs = plain(fr.outputs), finalState = plain(fr.finalState);
      const g = await k.backward(f32(c.params), fr.tape, f32(c.dOutputs), c.dFinalState ? { dFinalState: f32(c.dFinalState) } : {});
      out.push({ outputs, finalState, params: plain(g.params), inputs: plain(g.inputs), initialState: plain(g.initialState) });
    } catch (e) {
      out.push({ error: String((e as Error).stack ?? e) });
    }
  }
  (globalThis as any).cellcDone(JSON.stringify(out));
})();
`;

/** The worst of a result's arrays: largest difference over max(1, largest magnitude). */
function worst(got: Result, want: Result): { label: string; err: number } {
  let w = { label: "", err: 0 };
  for (const part of ["outputs", "finalState", "params", "inputs", "initialState"] as const) {
    for (const [name, ref] of Object.entries(want[part])) {
      const g = got[part][name];
      if (!g || g.length !== ref.length) return { label: `${part}.${name} missing or of length ${g?.length}`, err: Infinity };
      const scale = Math.max(1, ...ref.map(Math.abs));
      let d = 0;
      ref.forEach((r, i) => {
        const x = g[i];
        const diff = x === null || x === undefined || Number.isNaN(x) ? (Number.isNaN(r) ? 0 : Infinity) : Math.abs(x - r);
        d = Math.max(d, diff);
      });
      if (d / scale > w.err) w = { label: `${part}.${name}`, err: d / scale };
    }
  }
  return w;
}

const work = mkdtempSync(join(tmpdir(), "cellc-webgpu-"));
let page: GpuPage | undefined;
let results: { label: string; got: Result; want: Result }[][] = [];
const probe = await openGpuPage();
const skip = probe.missing;
afterAll(async () => {
  await probe.close();
  rmSync(work, { recursive: true, force: true });
});

describe("WebGPU kernels in headless Chromium against the TypeScript kernel (float32)", () => {
  beforeAll(async () => {
    if (skip !== undefined) return;
    page = probe;
    const dir = join(work, "page");
    mkdirSync(dir, { recursive: true });
    const calls: Call[] = [];
    const wants: Result[] = [];
    for (const [k, c] of cases.entries()) {
      const opts = { file: c.file, dims: c.dims, format: false, ...(c.cell ? { cell: c.cell } : {}) };
      const r = await compile(c.source, { ...opts, target: "webgpu" });
      if (!r.module) throw new Error(`${c.label}: ${JSON.stringify(r.diagnostics)}`);
      writeFileSync(join(dir, `k${k}.ts`), r.module.code);
      const ts = await loadCell(c.source, { ...opts, dtype: "float32", target: "ts" });
      for (const call of callsFor(k, ts)) {
        calls.push(call);
        wants.push(reference(ts, call));
      }
    }
    writeFileSync(join(dir, "calls.json"), JSON.stringify(calls));
    writeFileSync(join(dir, "main.ts"), PAGE(cases.length));
    const got = (await page.run(dir, "main.ts")) as Result[];
    results = cases.map((c, k) => calls.flatMap((call, i) => (call.k === k ? [{ label: c.label, got: got[i]!, want: wants[i]! }] : [])));
  }, 900_000);

  it.skipIf(skip !== undefined).each(cases.map((c, k) => [c.label, k] as const))(skip === undefined ? `%s: forward and backward, plain and with lengths, masks and dFinalState` : `%s (skipped: ${skip})`, (_label, k) => {
    for (const r of results[k]!) {
      expect(r.got.error, r.label).toBeUndefined();
      const w = worst(r.got, r.want);
      expect(w.err, `${r.label}: ${w.label}`).toBeLessThanOrEqual(TOL);
    }
  });
});
