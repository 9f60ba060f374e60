// The PyTorch backend against the cellc kernel: for every spec in examples/specs and test/specs
// (and examples/specs/greff when present), optimised and not, and a seeded sample of random
// cells, the generated nn.Module's outputs and final states equal the float32 TypeScript
// kernel's within 1e-5 relative, and its autograd gradients (parameters, inputs, initial states)
// equal the kernel's backward within 1e-4 — with per-sample lengths (one sample of length 0)
// and recurrent-dropout masks; the same module in float64 (module.double()) equals the float64
// kernel within 1e-10, which separates the translation from float32 rounding; torch.jit.script
// accepts every module and computes the same, and batch_first=True gives the transposed result. Then every registry primitive's torch formula
// against its float64 definition, and the module's errors for wrong arguments. All cases run in
// one Python process. "Relative" is interop-helpers' diff: elementwise, with entries below a tenth of
// the largest counted at that size.

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { compile, formatDiagnostics, loadCell } from "../driver/index.ts";
import { ELEMENTWISE } from "../compiler/primitives/elementwise.ts";
import { DiffLog, diff, randomArray, rng } from "./interop-helpers.ts";
import { sampleSpecs } from "./fuzz/sample.ts";
import { findTorch, torchName, runJobs, scratchDir, type TorchEnv } from "./helpers/torch.ts";

const dims = { I: 3, H: 4, P: 2, J: 2 };
const [T, B] = [5, 3];
const LENGTHS = [T, 2, 0];
const OUT_TOL = 1e-5;
const GRAD_TOL = 1e-4;
/** The module in float64 against the float64 kernel: the same computation, without float32 rounding. */
const TOL64 = 1e-10;
const RANDOM_CELLS = 12;
/** Specs whose module also goes through torch.autograd.gradcheck (float64, with lengths and masks and without). */
const GRADCHECK = new Set(["examples/specs/lstm.cell", "examples/specs/gru.cell", "examples/specs/mlstm.cell", "test/specs/matrix_forms.cell"]);

const specDirs = ["examples/specs", "test/specs", "examples/specs/greff"].filter((d) => existsSync(d));
const specFiles = specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => join(d, f)));

interface Case {
  label: string;
  source: string;
  file: string;
  optimize: boolean;
  /** A random program's own binding and unit (spec files use `dims` and their last unit). */
  dims?: Record<string, number>;
  cell?: string;
}

interface CellResult {
  error?: string;
  outputs: number[][];
  final: number[][];
  grads: { params: Record<string, number[]>; inputs: number[][]; initial: number[][] };
  scripted: { outputs: number[][]; final: number[][] };
  batchFirstDiff?: number;
  double: Got;
  /** float64 through Cell(autograd=True): torch's autograd of the same forward. */
  autograd: Got;
  /** float64 without lengths and masks (the unmasked forward), cellc's backward and autograd's. */
  unmasked: Got;
  unmaskedAutograd: Got;
  gradcheck?: boolean[];
}

interface Expected {
  kernel: CellKernel;
  outputs: ArrayLike<number>[];
  final: ArrayLike<number>[];
  grads: { params: Record<string, ArrayLike<number>>; inputs: ArrayLike<number>[]; initial: ArrayLike<number>[] };
}

type Got = Pick<CellResult, "outputs" | "final" | "grads">;

const torch = findTorch();
const log = new DiffLog();
const results = new Map<string, { got: CellResult; want: Expected; want64: Expected }>();
let formulas: Record<string, string[]> = {};
let errorMessages: (string | null)[] = [];
const grids = new Map<string, number[][]>();
let scratch: ReturnType<typeof scratchDir> | undefined;

/** Seeded data for one case: parameters, inputs, initial states, masks and the loss's seeds. */
function caseData(m: CellKernel["meta"], seed: number) {
  const next = rng(seed);
  return {
    params: Object.fromEntries(m.params.map((p) => [p.name, randomArray(p.size, next, 0.5)])) as Tensors,
    inputs: m.inputs.map((i) => randomArray(T * B * i.size, next)),
    state: m.states.map((s) => randomArray(B * s.size, next, 0.5)),
    masks: m.states.map((s) => Float32Array.from({ length: B * s.size }, () => 1 + 0.5 * next())),
    seedOutputs: m.outputs.map((o) => randomArray(T * B * o.size, next)),
    seedStates: m.states.map((s) => randomArray(B * s.size, next)),
  };
}
type CaseData = ReturnType<typeof caseData>;

/** The kernel (float32, or a float64 build given the same values) on a case: outputs, final
 *  states and the backward of the seeded loss. */
function runKernel(kernel: CellKernel, d: CaseData, wide: boolean): Expected {
  const m = kernel.meta;
  const cast = (a: Float32Array) => (wide ? Float64Array.from(a) : a) as unknown as Float32Array;
  const byName = (list: readonly { name: string }[], arrays: Float32Array[]) => Object.fromEntries(list.map((x, k) => [x.name, cast(arrays[k]!)]));
  const params = Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, cast(v)]));
  const fwd = kernel.forward(params, byName(m.inputs, d.inputs), {
    batchSize: B,
    timeSteps: T,
    initialState: byName(m.states, d.state),
    stateMasks: byName(m.states, d.masks),
    lengths: LENGTHS,
  });
  const outputs = m.outputs.map((o) => fwd.outputs[o.name]!.slice());
  const final = m.states.map((s) => fwd.finalState[s.name]!.slice());
  const g = kernel.backward(params, fwd.tape, byName(m.outputs, d.seedOutputs), { dFinalState: byName(m.states, d.seedStates) });
  return { kernel, outputs, final, grads: { params: g.params, inputs: m.inputs.map((i) => g.inputs[i.name]!.slice()), initial: m.states.map((s) => g.initialState[s.name]!.slice()) } };
}

function kernelJob(d: CaseData) {
  const list = (a: Float32Array[]) => a.map((x) => Array.from(x));
  return {
    kind: "cell",
    T,
    B,
    params: Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, Array.from(v)])),
    inputs: list(d.inputs),
    state: list(d.state),
    masks: list(d.masks),
    lengths: LENGTHS,
    seedOutputs: list(d.seedOutputs),
    seedStates: list(d.seedStates),
    double: true,
  };
}

/** Attributes for the primitives that take them (clip, between). */
const attrsOf = (op: string): Record<string, number> => (op === "clip" || op === "between" ? { lo: -1, hi: 1.5 } : {});

/** Operand grids for each primitive: extremes, zeros, NaN, the infinities, and values in its domain. */
function grid(arity: number, op: string): number[][] {
  const xs = [-1e30, -50, -20.5, -3, -1, -0.5, 0, 0.25, 1, 2.5, 19.5, 20.5, 50, 1e30, Infinity, -Infinity, NaN];
  if (op === "select") return [[1, 2, 3], [0, 2, 3], [1, -Infinity, NaN], [0, NaN, 4]];
  if (arity === 1) return xs.map((x) => [x]);
  const out: number[][] = [];
  for (const a of [-3, -0.5, 0, 1, 2.5, NaN, Infinity]) for (const b of [-2, -0.25, 0.5, 3, Infinity]) out.push([a, b]);
  return out;
}

describe.skipIf(typeof torch === "string")(torchName("PyTorch backend parity with the cellc kernel", torch), () => {
  const env = torch as TorchEnv;
  const cases: Case[] = [];

  beforeAll(async () => {
    const start = performance.now();
    scratch = scratchDir("cellc-torch-");
    for (const file of specFiles) {
      const source = readFileSync(file, "utf8");
      for (const optimize of [true, false]) cases.push({ label: `${file}${optimize ? "" : " (unoptimised)"}`, source, file, optimize });
    }
    sampleSpecs(RANDOM_CELLS, 100).forEach((c, i) => cases.push({ label: `random cell ${i} (${c.origin})`, source: c.source, file: "random.cell", optimize: true, dims: c.dims, cell: c.unit }));

    const jobs: unknown[] = [];
    const want: Expected[] = [];
    const wants64: Expected[] = [];
    // One reference per spec: the optimised TypeScript kernel (optimised and unoptimised
    // kernels agree, test/gradients.test.ts); both torch modules of a spec are held to it.
    const refs = new Map<string, { job: ReturnType<typeof kernelJob>; expected: Expected; wide: Expected }>();
    for (const [k, c] of cases.entries()) {
      const build = { file: c.file, dims: c.dims ?? dims, ...(c.cell ? { cell: c.cell } : {}) };
      const r = await compile(c.source, { ...build, target: "torch", optimize: c.optimize });
      if (!r.module) throw new Error(`${c.label}: ${formatDiagnostics(r.diagnostics, r.sources)}`);
      const path = join(scratch.dir, `case${k}.py`);
      writeFileSync(path, r.module.code);
      let ref = refs.get(c.source);
      if (!ref) {
        const kernel = await loadCell(c.source, build);
        const data = caseData(kernel.meta, 1000 + refs.size);
        const wide = runKernel(await loadCell(c.source, { ...build, dtype: "float64" }), data, true);
        ref = { job: kernelJob(data), expected: runKernel(kernel, data, false), wide };
        refs.set(c.source, ref);
      }
      jobs.push({ ...ref.job, module: path, gradcheck: c.optimize && GRADCHECK.has(c.file) });
      want.push(ref.expected);
      wants64.push(ref.wide);
    }
    if (process.env["CELLC_PRINT_DIFFS"]) console.log(`torch-parity: modules and kernel references built in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    const prims = [...ELEMENTWISE.values()].map((p) => {
      const g = grid(p.arity, p.op);
      grids.set(p.op, g);
      const names = Array.from({ length: p.arity }, (_, i) => `a${i}`);
      return { op: p.op, arity: p.arity, grid: g.map((a) => a.map(String)), formula: p.torch(names, attrsOf(p.op)) };
    });
    jobs.push({ kind: "formula", primitives: prims });
    jobs.push({
      kind: "errors",
      module: join(scratch.dir, "case0.py"),
      calls: [{ x: [T, B, 99] }, { x: [T, B, dims.I], lengths: [1, 2] }, { x: [T, B, dims.I], lengths: [1, 2, 9] }, { x: [0, B, dims.I] }, { x: [T, B, dims.I], state: [[B, 99]] }],
    });
    const t0 = performance.now();
    const out = await runJobs<unknown>(env, "test/helpers/torch_parity.py", jobs, scratch.dir);
    if (process.env["CELLC_PRINT_DIFFS"]) {
      const secs = (out as { seconds?: number[] }).seconds ?? [];
      console.log(`torch-parity: ${cases.length} cases; Python process ${((performance.now() - t0) / 1000).toFixed(1)} s, of which jobs ${secs.reduce((a, b) => a + b, 0).toFixed(1)} s`);
    }
    cases.forEach((c, k) => results.set(c.label, { got: out.results[k] as CellResult, want: want[k]!, want64: wants64[k]! }));
    formulas = out.results[cases.length] as Record<string, string[]>;
    errorMessages = out.results[cases.length + 1] as (string | null)[];
  }, 900_000);

  afterAll(() => {
    scratch?.remove();
    log.print(`torch-parity: largest differences (PyTorch module vs cellc kernel, T=${T} B=${B}, lengths ${LENGTHS.join(",")})`);
  });

  const names = [...specFiles.flatMap((f) => [f, `${f} (unoptimised)`]), ...Array.from({ length: RANDOM_CELLS }, (_, i) => `random cell ${i}`)];
  it.each(names)("%s: outputs, final states and gradients match; jit.script and batch_first agree", (name) => {
    const label = [...results.keys()].find((k) => k === name || k.startsWith(`${name} (`))!;
    const r = results.get(label);
    expect(r, label).toBeDefined();
    const { got, want, want64 } = r!;
    expect(got.error, `${label}: ${got.error}`).toBeUndefined();
    const m = want.kernel.meta;
    const check = (what: string, g: ArrayLike<number>, w: ArrayLike<number>, tol: number) => {
      const d = log.add(`${label} ${what}`, diff(g, w));
      expect(d.rel, `${label}: ${what} (max abs ${d.abs})`).toBeLessThan(tol);
    };
    const all = (prefix: string, g: Got, w: Expected, outTol: number, gradTol: number) => {
      m.outputs.forEach((o, k) => check(`${prefix}output ${o.name}`, g.outputs[k]!, w.outputs[k]!, outTol));
      m.states.forEach((s, k) => check(`${prefix}final ${s.name}`, g.final[k]!, w.final[k]!, outTol));
      m.params.forEach((p) => check(`${prefix}d ${p.name}`, g.grads.params[p.name]!, w.grads.params[p.name]!, gradTol));
      m.inputs.forEach((x, k) => check(`${prefix}d input ${x.name}`, g.grads.inputs[k]!, w.grads.inputs[k]!, gradTol));
      m.states.forEach((s, k) => check(`${prefix}d initial ${s.name}`, g.grads.initial[k]!, w.grads.initial[k]!, gradTol));
    };
    all("", got, want, OUT_TOL, GRAD_TOL);
    all("float64 ", got.double, want64, TOL64, TOL64);
    // torch's autograd through the module's forward (Cell(autograd=True)) gives the same.
    all("autograd float64 ", got.autograd, want64, TOL64, TOL64);
    // Without lengths and masks (the forward that skips them): cellc's backward equals autograd's.
    all("unmasked float64 ", got.unmasked, { kernel: want64.kernel, ...got.unmaskedAutograd }, TOL64, TOL64);
    if (GRADCHECK.has(label.replace(/ \(.*$/, "")) && !label.includes("unoptimised")) expect(got.gradcheck, `${label}: gradcheck`).toEqual([true, true]);
    // Past its length a sample's outputs are zero: sample 2 has length 0.
    m.outputs.forEach((o, k) => {
      for (let t = 0; t < T; t++) for (let j = 0; j < o.size; j++) expect(got.outputs[k]![(t * B + 2) * o.size + j]).toBe(0);
    });
    // The scripted module computes the same (no gradients needed there).
    m.outputs.forEach((o, k) => check(`scripted output ${o.name}`, got.scripted.outputs[k]!, want.outputs[k]!, OUT_TOL));
    m.states.forEach((s, k) => check(`scripted final ${s.name}`, got.scripted.final[k]!, want.final[k]!, OUT_TOL));
    if (m.inputs.length) expect(got.batchFirstDiff).toBe(0);
  });

  it("every registry primitive's torch formula equals its definition (float64, extremes, NaN, ±Infinity)", () => {
    for (const p of ELEMENTWISE.values()) {
      const attrs = attrsOf(p.op);
      const got = formulas[p.op];
      expect(got, p.op).toBeDefined();
      grids.get(p.op)!.forEach((args, i) => {
        const want = p.eval(args, attrs);
        const g = Number(got![i]);
        const at = `${p.op}(${args.join(", ")}) = ${got![i]}, want ${want}`;
        if (Number.isNaN(want)) expect(Number.isNaN(g), at).toBe(true);
        else if (!Number.isFinite(want)) expect(g, at).toBe(want);
        else expect(Math.abs(g - want), at).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      });
    }
  });

  it("the module names what is wrong with its arguments", () => {
    expect(errorMessages[0]).toMatch(/x must be 3-D with 3 features per step .* got shape \[5, 3, 99\]/);
    expect(errorMessages[1]).toMatch(/lengths must be integers of shape \[B\] = \[3\]/);
    expect(errorMessages[2]).toMatch(/lengths must lie in 0\.\.5, got values from 1 to 9/);
    expect(errorMessages[3]).toMatch(/at least one time step, got 0/);
    expect(errorMessages[4]).toMatch(/state .*must be/);
  });
});
