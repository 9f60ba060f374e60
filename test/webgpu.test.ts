// The WebGPU backend, run as a user runs it: `compile({ target: "webgpu" })` writes a module, a
// page bundled with esbuild imports it, and headless Chromium runs forward and backward on its
// WebGPU adapter (SwiftShader's software Vulkan on a machine without a GPU). Every example spec
// (greff/ too), the test specs and a seeded slice of the random-program fuzzer's cells, with
// initial states, and again with per-sample lengths, recurrent-dropout masks and a final-state
// gradient, against the TypeScript kernel's float32 build on the same numbers in Node. Each loop
// stage runs on the path the size rule picks (the persistent kernel, or a fused dispatch per step
// for the wide LSTM); a subset runs again with the dispatch per op and the fused step forced, and
// every call's paths are checked (dispatchPaths()). Without Chromium, or without a WebGPU adapter
// in it, the browser tests are skipped, saying why.
//
// Tolerance: each result array's largest difference, over max(1, its largest magnitude), is at
// most TOL. Both kernels are float32; they differ in summation order (tiled GEMMs), in the GPU's
// exp/log/sin (a few ulp) and in erf (Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7 per call).

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { wgslComment } from "../backends/webgpu/escape.ts";
import { compile, importModule, loadCell, planKernel } from "../driver/index.ts";
import { printWgsl } from "../backends/webgpu/module.ts";
import type { GpuStage } from "../backends/webgpu/wgsl.ts";
import { sampleSpecs } from "./fuzz/sample.ts";
import { Rng } from "./helpers/rng.ts";
import { openGpuPage, type GpuPage } from "./helpers/webgpu-page.ts";

const TOL = 2e-4;
const FUZZ = 8;
/** Modules per page (see beforeAll). */
const BATCH = 6;
const specDirs = ["examples/specs", "examples/specs/greff", "test/specs"];
const dims = { I: 3, H: 4, P: 2, J: 2 };
interface Case {
  label: string;
  source: string;
  file: string;
  dims: Record<string, number>;
  cell?: string;
  /** Built by the cellc command in a child process (else by compile()). */
  cli?: boolean;
  /** Sizes past one 16×16 GEMM tile in every direction (rows, columns and depth). */
  big?: boolean;
  /** The loop stages' path forced (else the size rule's own choice, "auto"). */
  path?: Path;
  /** The case whose module this one runs again on another path. */
  of?: number;
}
type Path = "per-op" | "fused-step" | "persistent";
/** A file name and a comment holding what ends a comment or a line in WGSL or TypeScript. */
const HOSTILE = 'a */ /* b \\ \n \r \v \f \u0085 \u2028 \u2029 \x1b]0;x\x07 \u202e "';
const HOSTILE_SPEC = `cell rnn(I, H) {
  input x: [I]
  state h: [H]
  param W: [H, I], U: [H, H], b: [H]
  h' = tanh(W @ x + U @ h + b) // ${HOSTILE.replace(/[\n\r\v\f\u0085\u2028\u2029]/g, " ")} */ /*
  output h'
}
`;
const cases: Case[] = [
  ...specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => ({ label: `${d}/${f}`, source: readFileSync(`${d}/${f}`, "utf8"), file: `${d}/${f}`, dims }))),
  ...["lstm", "gru"].map((n) => ({ label: `examples/specs/${n}.cell at I=17, H=19, T=9, B=5 (several GEMM tiles each way)`, source: readFileSync(`examples/specs/${n}.cell`, "utf8"), file: `${n}.cell`, dims: { I: 17, H: 19 }, big: true })),
  { label: "a hostile file name and comment, built with the cellc command", source: HOSTILE_SPEC, file: `${HOSTILE.replaceAll("/", "")}.cell`, dims: { I: 3, H: 4 }, cli: true },
  // 4·H = 280 gate columns: past the persistent kernel's size rule (PERSIST_MAX), a fused dispatch per step.
  { label: "examples/specs/lstm.cell at I=5, H=70 (wider than the persistent kernel's size rule)", source: readFileSync("examples/specs/lstm.cell", "utf8"), file: "lstm.cell", dims: { I: 5, H: 70 } },
  ...sampleSpecs(FUZZ, 26).map((s) => ({ label: s.origin, source: s.source, file: "fuzz.cell", dims: s.dims, cell: s.unit })),
];
// The size rule picks the persistent kernel for every small case above (and the fused step for
// the wide LSTM). The same modules run again with the other paths forced: the dispatch per op
// (the fallback for a loop stage that is not row-local) and the fused dispatch per step, on the
// specs that between them put each kind of plan op in a loop (products, maps, row primitives,
// per-sample matrix products, transposes, copies) and the many-tile sizes. Each path gets its
// own share of them (a pipeline compile in SwiftShader is most of this test's time): every op kind
// runs through both forced paths, the persistent kernel covers all specs.
const FORCED: Record<"per-op" | "fused-step", RegExp> = {
  "per-op": /\/(onlstm|matrix_forms|swap_states)\.cell$|lstm\.cell at I=17/,
  "fused-step": /\/(mlstm|every_function|matrix_forms)\.cell$|gru\.cell at I=17/,
};
for (const [k, c] of [...cases.entries()]) {
  if (c.cli) continue;
  for (const path of ["per-op", "fused-step"] as const) if (FORCED[path].test(c.label)) cases.push({ ...c, label: `${c.label} [${path} forced]`, path, of: k });
}

type Arrays = Record<string, number[]>;
interface Call {
  k: number;
  /** The module the call runs (its case's, or the case it repeats on another path). */
  m: number;
  path: Path | "auto";
  T: number;
  B: number;
  params: Arrays;
  inputs: Arrays;
  initialState: Arrays;
  stateMasks?: Arrays;
  lengths?: number[];
  dOutputs: Arrays;
  dFinalState?: Arrays;
  /** Runs on a tape reused from a forward of other inputs, then backward twice: the second into
   *  the first's arrays, without input gradients. */
  again?: boolean;
}
interface Result {
  error?: string;
  /** The path each loop stage took, forward and backward. */
  paths?: { forward: Path[]; backward: Path[] };
  outputs: Arrays;
  finalState: Arrays;
  params: Arrays;
  inputs: Arrays;
  initialState: Arrays;
}

const rand = (rng: Rng, n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => Math.fround(rng.uniform(lo, hi)));
const f32 = (o: Arrays): Tensors => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array(v)]));
/** Other inputs of the same sizes (each array reversed). */
const reversed = (o: Arrays): Tensors => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array([...v].reverse())]));
const plain = (o: Tensors): Arrays => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));

/** The calls each kernel makes: initial states; then lengths, masks and a final-state gradient. */
function callsFor(k: number, kernel: CellKernel, big = false, m0 = k, path: Path | "auto" = "auto"): Call[] {
  const m = kernel.meta;
  const rng = new Rng(100 + m0);
  const params = plain(kernel.createParams({ seed: m0 + 1 }));
  const make = (T: number, B: number, extra: boolean): Call => ({
    k,
    m: m0,
    path,
    T,
    B,
    params,
    inputs: Object.fromEntries(m.inputs.map((i) => [i.name, rand(rng, T * B * i.size)])),
    initialState: Object.fromEntries(m.states.map((s) => [s.name, rand(rng, B * s.size, -0.5, 0.5)])),
    dOutputs: Object.fromEntries(m.outputs.map((o) => [o.name, rand(rng, T * B * o.size)])),
    ...(extra
      ? {
          lengths: [T, 2, 0, 1, T - 1].slice(0, B),
          stateMasks: Object.fromEntries(m.states.map((s) => [s.name, Array.from({ length: B * s.size }, () => (rng.next() < 0.25 ? 0 : 1.25))])),
          dFinalState: Object.fromEntries(m.states.map((s) => [s.name, rand(rng, B * s.size)])),
        }
      : {}),
  });
  return big ? [make(9, 5, false), make(7, 5, true), { ...make(7, 5, true), again: true }] : [make(5, 2, false), make(4, 3, true), { ...make(4, 3, true), again: true }];
}

/** The TypeScript kernel's results of a call (the reference). */
function reference(kernel: CellKernel, c: Call): Result {
  const options = { batchSize: c.B, timeSteps: c.T, initialState: f32(c.initialState), ...(c.lengths ? { lengths: c.lengths } : {}), ...(c.stateMasks ? { stateMasks: f32(c.stateMasks) } : {}) };
  const first = c.again ? kernel.forward(f32(c.params), reversed(c.inputs), options) : undefined;
  const fr = kernel.forward(f32(c.params), f32(c.inputs), { ...options, ...(first ? { tape: first.tape } : {}) });
  const outputs = plain(fr.outputs);
  const finalState = plain(fr.finalState);
  const bopts = c.dFinalState ? { dFinalState: f32(c.dFinalState) } : {};
  let g = kernel.backward(f32(c.params), fr.tape, f32(c.dOutputs), bopts);
  if (c.again) g = kernel.backward(f32(c.params), fr.tape, f32(c.dOutputs), { ...bopts, into: g, inputGradients: false });
  return { outputs, finalState, params: plain(g.params), inputs: plain(g.inputs), initialState: plain(g.initialState) };
}

/** The page: every kernel's calls on the GPU, in order; JSON back through cellcDone. */
const PAGE = (mods: number[]) => `${mods.map((i) => `import * as k${i} from "./k${i}.ts";`).join("\n")}
const kernels: Record<number, any> = { ${mods.map((i) => `${i}: k${i}`).join(", ")} };
const f32 = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array(v)]));
const reversed = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Float32Array([...v].reverse())]));
const plain = (o: Record<string, Float32Array>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
(async () => {
  const calls = await (await fetch("./calls.json")).json();
  const out: unknown[] = [];
  for (const c of calls) {
    const k = kernels[c.m];
    try {
      k.useDispatch(c.path);
      const options = { batchSize: c.B, timeSteps: c.T, initialState: f32(c.initialState), ...(c.lengths ? { lengths: c.lengths } : {}), ...(c.stateMasks ? { stateMasks: f32(c.stateMasks) } : {}) };
      const first = c.again ? await k.forward(f32(c.params), reversed(c.inputs), options) : undefined;
      const fr = await k.forward(f32(c.params), f32(c.inputs), { ...options, ...(first ? { tape: first.tape } : {}) });
      const outputs = plain(fr.outputs), finalState = plain(fr.finalState);
      const forward = k.dispatchPaths().forward;
      const bopts = c.dFinalState ? { dFinalState: f32(c.dFinalState) } : {};
      let g = await k.backward(f32(c.params), fr.tape, f32(c.dOutputs), bopts);
      if (c.again) g = await k.backward(f32(c.params), fr.tape, f32(c.dOutputs), { ...bopts, into: g, inputGradients: false });
      out.push({ outputs, finalState, params: plain(g.params), inputs: plain(g.inputs), initialState: plain(g.initialState), paths: { forward, backward: k.dispatchPaths().backward } });
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

const CELLC = new URL("../cli/bin/cellc.mjs", import.meta.url).pathname;
function cellc(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CELLC, ...args], { cwd, encoding: "utf8" }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

const work = mkdtempSync(join(tmpdir(), "cellc-webgpu-"));
let page: GpuPage | undefined;
let results: { label: string; got: Result; want: Result }[][] = [];
/** Per case, the path each loop stage must take; the paths seen; the page's time. */
const expected: { forward: Path[]; backward: Path[] }[] = [];
const seen = new Set<Path>();
let wallSeconds = 0;
const calls = () => results.reduce((n, r) => n + r.length, 0);
const probe = await openGpuPage();
const skip = probe.missing;
/** The largest error seen, printed at the end (the tolerance's margin). */
let largest = 0;
let largestAt = "";
afterAll(async () => {
  if (results.length) console.log(`webgpu vs TypeScript float32: largest relative error ${largest.toExponential(2)} at ${largestAt} (tolerance ${TOL})`);
  await probe.close();
  rmSync(work, { recursive: true, force: true });
});

describe("WebGPU kernels in headless Chromium against the TypeScript kernel (float32)", () => {
  // The cases go to the browser in batches, one page each: while Chromium compiles and runs one
  // batch's kernels, Node builds the next batch's modules and TypeScript references (the two
  // halves of the work, on two processes). Results are the same as one page's.
  beforeAll(async () => {
    if (skip !== undefined) return;
    page = probe;
    const calls: Call[] = [];
    const wants: Result[] = [];
    const got: Result[] = [];
    const base = cases.flatMap((c, k) => (c.of === undefined ? [k] : []));
    let running: Promise<void> = Promise.resolve();
    const t0 = performance.now();
    for (let at = 0; at < base.length; at += BATCH) {
      const dir = join(work, `page${at}`);
      mkdirSync(dir, { recursive: true });
      const first = calls.length;
      const mods = base.slice(at, at + BATCH);
      for (const k of mods) {
        const c = cases[k]!;
        const opts = { file: c.file, dims: c.dims, format: false, ...(c.cell ? { cell: c.cell } : {}) };
        if (c.cli) {
          writeFileSync(join(dir, c.file), c.source);
          const r = await cellc(dir, "build", c.file, "--target", "webgpu", "--dims", Object.entries(c.dims).map(([n, v]) => `${n}=${v}`).join(","), "--out", `k${k}.ts`);
          if (r.code !== 0 || r.err !== "") throw new Error(`${c.label}: cellc exited ${r.code}: ${r.err}`);
        } else {
          const r = await compile(c.source, { ...opts, target: "webgpu" });
          if (!r.module) throw new Error(`${c.label}: ${JSON.stringify(r.diagnostics)}`);
          writeFileSync(join(dir, `k${k}.ts`), r.module.code);
        }
        const ts = await loadCell(c.source, { ...opts, dtype: "float32", target: "ts" });
        const plan = planKernel(c.source, { ...opts, target: "webgpu" }).plan!;
        const fused = (stages: GpuStage[]) => stages.filter((st) => st.loop !== 0).map((st): Path => (st.fused ? (st.fused.persistent ? "persistent" : "fused-step") : "per-op"));
        const info = printWgsl(plan, c.file).info;
        const ruled = { forward: fused(info.forward), backward: fused(info.backward) };
        const options = info.forward.concat(info.backward).filter((st) => st.loop !== 0).map((st) => st.fused !== null);
        for (const [j, x] of cases.entries()) {
          if (j !== k && x.of !== k) continue;
          // What each loop stage must take: the size rule's choice, or the forced path where the stage has it.
          expected[j] = x.path === undefined ? ruled : { forward: ruled.forward.map((r, i) => (options[i] ? x.path! : r)), backward: ruled.backward.map((r, i) => (options[ruled.forward.length + i] ? x.path! : r)) };
          for (const call of callsFor(j, ts, x.big, k, x.path ?? "auto")) {
            calls.push(call);
            wants.push(reference(ts, call));
          }
        }
      }
      writeFileSync(join(dir, "calls.json"), JSON.stringify(calls.slice(first)));
      writeFileSync(join(dir, "main.ts"), PAGE(mods));
      await running;
      running = (page.run(dir, "main.ts") as Promise<Result[]>).then((r) => r.forEach((x, i) => (got[first + i] = x)));
    }
    await running;
    wallSeconds = (performance.now() - t0) / 1000;
    results = cases.map((c, k) => calls.flatMap((call, i) => (call.k === k ? [{ label: c.label, got: got[i]!, want: wants[i]! }] : [])));
  }, 900_000);

  it.skipIf(skip !== undefined).each(cases.map((c, k) => [c.label, k] as const))(skip === undefined ? `%s: forward and backward: plain; with lengths, masks and dFinalState; on a reused tape, into given arrays without input gradients` : `%s (skipped: ${skip})`, (_label, k) => {
    for (const r of results[k]!) {
      expect(r.got.error, r.label).toBeUndefined();
      expect(r.got.paths, `${r.label}: the path each loop stage took`).toEqual(expected[k]);
      for (const p of [...r.got.paths!.forward, ...r.got.paths!.backward]) seen.add(p);
      const w = worst(r.got, r.want);
      if (w.err > largest) [largest, largestAt] = [w.err, `${r.label}, ${w.label}`];
      expect(w.err, `${r.label}: ${w.label}`).toBeLessThanOrEqual(TOL);
    }
  });

  it.skipIf(skip !== undefined)(skip === undefined ? "every path ran: a dispatch per op, a fused dispatch per step, the persistent kernel" : `every path ran (skipped: ${skip})`, () => {
    console.log(`webgpu: ${calls()} calls built, run in Chromium and checked in ${wallSeconds.toFixed(1)} s; paths taken: ${[...seen].join(", ")}`);
    expect([...seen].sort()).toEqual(["fused-step", "per-op", "persistent"]);
  });
});

describe("the WebGPU module outside a WebGPU page", () => {
  const spec = readFileSync("examples/specs/gru.cell", "utf8");
  const build = async () => (await importModule((await compile(spec, { file: "gru.cell", dims: { I: 3, H: 4 }, target: "webgpu", format: false })).module!.code)) as {
    meta: { backend: string };
    createParams(o?: object): Tensors;
    createState(b: number): Tensors;
    step(p: Tensors, i: Tensors, s: Tensors, b?: number): Tensors;
    forward(p: Tensors, i: Tensors, o: object): Promise<unknown>;
    useDevice(d: unknown): void;
  };

  it("in Node without navigator.gpu, forward rejects saying so; createParams, createState and step are the TypeScript kernel's", async () => {
    const k = await build();
    expect(k.meta.backend).toBe("webgpu");
    const ts = await loadCell(spec, { file: "gru.cell", dims: { I: 3, H: 4 }, dtype: "float32", target: "ts" });
    const p = k.createParams({ seed: 4 });
    const q = ts.createParams({ seed: 4 });
    expect(Object.keys(p)).toEqual(Object.keys(q));
    for (const n of Object.keys(q)) expect(Array.from(p[n]!)).toEqual(Array.from(q[n]!));
    const x = { x: Float32Array.from({ length: 6 }, (_, i) => Math.sin(i)) };
    const s1 = k.createState(2);
    const s2 = ts.createState(2);
    expect(Array.from(k.step(p, x, s1, 2)["h"]!)).toEqual(Array.from(ts.step(q, x, s2, 2)["h"]!));
    await expect(k.forward(p, { x: new Float32Array(6) }, { batchSize: 2 })).rejects.toThrow(/gru\.forward: WebGPU is not available here \(no navigator\.gpu\)/);
    // A bad argument is named before any GPU is looked for.
    await expect(k.forward(p, { x: new Float32Array(5) }, { batchSize: 2 })).rejects.toThrow(/inputs\.x/);
  });

  it("the runtime's recurrent layer takes it (test/webgpu-runtime.test.ts trains on it); its synchronous predict refuses it, naming predictAsync", async () => {
    const { recurrent, sequential, tensor } = await import("../runtime/index.ts");
    const model = sequential([recurrent({ kernel: (await build()) as never })]);
    await model.build([5, 3]);
    expect(() => model.predict(tensor(new Float32Array(15), [1, 5, 3]))).toThrow(/^predict runs synchronously, but layer 'gru' returns its results asynchronously .*: use await model\.predictAsync\(\.\.\.\) instead$/);
  });

  it("a float64 build is refused: WGSL has no f64", async () => {
    await expect(compile(spec, { file: "gru.cell", dims: { I: 3, H: 4 }, target: "webgpu", dtype: "float64" })).rejects.toThrow(/float32 kernels only: WGSL has no f64/);
  });

  it("spec text in WGSL comments holds no WGSL line break and cannot open or close a block comment", () => {
    for (const t of [HOSTILE, "*/", "/*", "**//**", "a\u2028b", "\ud800", "x\u0085y"]) {
      const c = wgslComment(t);
      expect(c).not.toMatch(/[\n\v\f\r\u0085\u2028\u2029]|\/\*|\*\//);
    }
  });
});

// Node's \`webgpu\` package (Dawn) finds an adapter only where Vulkan (or Metal, D3D12) works.
const dawn = await (async (): Promise<{ gpu?: { requestAdapter(): Promise<{ requestDevice(): Promise<unknown> } | null> }; missing?: string }> => {
  try {
    const m = (await import("webgpu")) as unknown as { create(flags: string[]): { requestAdapter(): Promise<{ requestDevice(): Promise<unknown> } | null> } };
    const gpu = m.create([]);
    return (await gpu.requestAdapter()) ? { gpu } : { missing: "Node's webgpu package (Dawn) finds no adapter on this machine (no usable Vulkan)" };
  } catch (e) {
    return { missing: `Node's webgpu package does not load: ${(e as Error).message}` };
  }
})();

describe("the WebGPU module in Node, on the webgpu package's device", () => {
  it.skipIf(dawn.missing !== undefined)(dawn.missing === undefined ? "an LSTM's forward and backward equal the TypeScript kernel's" : `an LSTM's forward and backward equal the TypeScript kernel's (skipped: ${dawn.missing})`, async () => {
    const spec = readFileSync("examples/specs/lstm.cell", "utf8");
    const opts = { file: "lstm.cell", dims: { I: 3, H: 4 }, format: false };
    const k = (await importModule((await compile(spec, { ...opts, target: "webgpu" })).module!.code)) as { useDevice(d: unknown): void; forward(p: Tensors, i: Tensors, o: object): Promise<{ outputs: Tensors; finalState: Tensors; tape: object }>; backward(p: Tensors, t: object, d: Tensors, o: object): Promise<{ params: Tensors; inputs: Tensors; initialState: Tensors }> };
    k.useDevice(await (await dawn.gpu!.requestAdapter())!.requestDevice());
    const ts = await loadCell(spec, { ...opts, dtype: "float32", target: "ts" });
    const call = callsFor(0, ts)[1]!;
    const want = reference(ts, call);
    const fr = await k.forward(f32(call.params), f32(call.inputs), { batchSize: call.B, timeSteps: call.T, initialState: f32(call.initialState), lengths: call.lengths, stateMasks: f32(call.stateMasks!) });
    const outputs = plain(fr.outputs);
    const finalState = plain(fr.finalState);
    const g = await k.backward(f32(call.params), fr.tape, f32(call.dOutputs), { dFinalState: f32(call.dFinalState!) });
    const got = { outputs, finalState, params: plain(g.params), inputs: plain(g.inputs), initialState: plain(g.initialState) };
    expect(worst(got, want).err).toBeLessThanOrEqual(TOL);
  });
});
