// The differential property of a random well-typed program: every build (builds.ts) compiles it;
// all builds give the same outputs, final states and gradients; each build's backward matches
// finite differences for every param, input and initial state (also with per-sample lengths and
// state masks); and its streaming step, repeated, matches forward. Where python3 with torch exists
// the program's PyTorch module (float64) joins: its outputs and final states equal the first
// build's within SAME, its gradients within SAME_GRAD (torch-build.ts).

import type { CellKernel, Tensors } from "../../abi/kernel.ts";
import { BUILDS, type Build } from "./builds.ts";
import { dict, fdCheck, forwardOptions, gradients, problem, run, shapeProblem, type Dict, type Problem } from "./fd.ts";
import type { Program } from "./gen-cell.ts";
import { defaultTorchBuild, type TorchBuild, type TorchResult } from "./torch-build.ts";
import { describeError, fail, pass, type Verdict } from "./verdict.ts";

export interface CompileCaseOptions {
  builds?: Build[];
  /** Diagnostic codes that count as a legitimate refusal of the program (names kind). */
  acceptCodes?: ReadonlySet<string>;
  seed?: number;
  /** FD entries per check (all when the arrays are smaller). */
  maxEntries?: number;
  /** The torch build compared with the first build (torch-build.ts); default: the PyTorch
   *  module run by python3 with torch where that exists; null: none. */
  torch?: TorchBuild | null;
}

const T = 3;
/** Outputs and final states of two float64 builds agree to this (relative, floor 1). */
const SAME = 1e-9;
/** Gradients of two builds agree to this (relative, floor 1). */
const SAME_GRAD = 1e-7;
/** Past this magnitude a case is discarded: finite differences would measure round-off. */
const HUGE = 1e6;

function compare(what: string, a: Dict, b: Dict, tol: number): string | undefined {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join(",") !== kb.join(",")) return `${what}: keys [${ka}] vs [${kb}]`;
  for (const k of ka) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.length !== y.length) return `${what}.${k}: length ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      // tol 0: the same number bit for bit (NaN and ±0 included).
      const same = tol === 0 ? Object.is(x[i], y[i]) : Math.abs(x[i]! - y[i]!) <= tol * Math.max(1, Math.abs(x[i]!));
      if (!same) return `${what}.${k}[${i}]: ${x[i]} vs ${y[i]}`;
    }
  }
  return undefined;
}

const tame = (d: Dict, limit = HUGE) => Object.values(d).every((a) => a.every((v) => Number.isFinite(v) && Math.abs(v) < limit));

/** step(), run T times from the initial state, against forward's outputs and final state. */
function stepMatches(k: CellKernel, p: Problem, fwd: { outputs: Dict; finalState: Dict }): string | undefined {
  const state = dict();
  for (const s of k.meta.states) state[s.name] = Float64Array.from(p.init[s.name]!);
  for (let t = 0; t < p.T; t++) {
    const inputs = dict();
    for (const i of k.meta.inputs) inputs[i.name] = p.inputs[i.name]!.slice(t * p.B * i.size, (t + 1) * p.B * i.size);
    const outs = k.step(p.params as unknown as Tensors, inputs as unknown as Tensors, state as unknown as Tensors, p.B) as unknown as Dict;
    const want = dict();
    for (const o of k.meta.outputs) want[o.name] = fwd.outputs[o.name]!.slice(t * p.B * o.size, (t + 1) * p.B * o.size);
    const d = compare(`step ${t} outputs`, want, outs, SAME);
    if (d) return d;
  }
  return compare("step final state", fwd.finalState, state, SAME);
}

/** forward with a reused tape and backward into reused arrays (after a call of other sizes and
 *  one of the same sizes) give what fresh calls give; inputGradients: false changes no parameter
 *  gradient and leaves the input gradients zero. */
function reuseMatches(k: CellKernel, p: Problem, other: Problem, seed: number): string | undefined {
  const q = problem(k, seed, p.T, p.B);
  const T = (d: Dict) => d as unknown as Tensors;
  const fresh = gradients(k, q);
  const freshOut = run(k, q);
  k.forward(T(other.params), T(other.inputs), { batchSize: other.B, timeSteps: other.T });
  const first = k.forward(T(p.params), T(p.inputs), forwardOptions(p));
  const into = k.backward(T(p.params), first.tape, T(p.wOut), { dFinalState: T(p.wFinal) });
  const again = k.forward(T(q.params), T(q.inputs), { ...forwardOptions(q), tape: first.tape });
  const d =
    compare("outputs with a reused tape", freshOut.outputs, again.outputs as unknown as Dict, SAME) ??
    compare("final state with a reused tape", freshOut.finalState, again.finalState as unknown as Dict, SAME);
  if (d) return d;
  const g = k.backward(T(q.params), again.tape, T(q.wOut), { dFinalState: T(q.wFinal), into });
  const gd =
    compare("d params into reused arrays", fresh.params, g.params as unknown as Dict, SAME_GRAD) ??
    compare("d inputs into reused arrays", fresh.inputs, g.inputs as unknown as Dict, SAME_GRAD) ??
    compare("d initial state into reused arrays", fresh.initialState, g.initialState as unknown as Dict, SAME_GRAD);
  if (gd) return gd;
  const f2 = k.forward(T(q.params), T(q.inputs), forwardOptions(q));
  const noIn = k.backward(T(q.params), f2.tape, T(q.wOut), { dFinalState: T(q.wFinal), inputGradients: false });
  const pd = compare("d params with inputGradients: false", fresh.params, noIn.params as unknown as Dict, SAME_GRAD);
  if (pd) return pd;
  for (const [name, a] of Object.entries(noIn.inputs)) if (a.some((v) => v !== 0)) return `inputGradients: false left inputs.${name} non-zero`;
  return undefined;
}

export async function compileCase(prog: Program, o: CompileCaseOptions = {}): Promise<Verdict> {
  const builds = o.builds ?? BUILDS;
  const seed = o.seed ?? 1;
  const kernels: { b: Build; k: CellKernel }[] = [];
  let code: string | undefined;
  const rejected: string[] = [];
  for (const b of builds) {
    try {
      const r = await b.build(prog.text, prog.dims, prog.unit);
      if ("diagnostics" in r) {
        const first = r.diagnostics[0];
        rejected.push(`${b.name}: ${first ? `${first.code} ${first.message}` : "no module and no diagnostic"}`);
        if (!first || !o.acceptCodes || !r.diagnostics.every((d) => o.acceptCodes!.has(d.code))) {
          return fail("mismatch", `${b.name} rejected a well-typed program: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ") || "(no diagnostic)"}`);
        }
      } else {
        kernels.push({ b, k: r.kernel });
        code ??= r.code;
      }
    } catch (e) {
      return fail("crash", `${b.name} threw while building: ${describeError(e)}`);
    }
  }
  if (rejected.length > 0) {
    return kernels.length === 0 ? pass({ rejected: 1 }) : fail("mismatch", `builds disagree on accepting the program: ${rejected.join("; ")}`);
  }
  const [ref, ...others] = kernels;
  if (!ref) return pass({ rejected: 1 });
  const torch = o.torch === undefined ? defaultTorchBuild() : o.torch ?? undefined;
  let torchCode: string | undefined;
  if (torch) {
    try {
      const r = await torch.build(prog.text, prog.dims, prog.unit);
      if ("diagnostics" in r) return fail("mismatch", `${torch.name} rejected a well-typed program: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ") || "(no diagnostic)"}`);
      torchCode = r.code;
    } catch (e) {
      return fail("crash", `${torch.name} threw while building: ${describeError(e)}`);
    }
  }
  // The same meta, but for the backend's name, its threads and whether it fuses multiply-adds.
  const metaOf = (k: CellKernel) => JSON.stringify({ ...k.meta, backend: undefined, threads: undefined, fma: undefined });
  const metaText = metaOf(ref.k);
  for (const x of others) if (metaOf(x.k) !== metaText) return fail("mismatch", `${x.b.name}: meta differs from ${ref.b.name}`);

  const B2 = 3;
  const problems = [problem(ref.k, seed, T, 2), problem(ref.k, seed + 1, T, B2, { lengths: [T, 1, 0], masks: true })];
  const stats: Record<string, number> = { checked: 0, kinks: 0, cases: 1, ...(torch ? { "torch comparisons": 0 } : {}) };
  try {
    for (const [pi, p] of problems.entries()) {
      const label = pi === 0 ? "" : " (with lengths and state masks)";
      for (const { b, k } of kernels) {
        const m = k.meta;
        const f = k.forward(p.params as never, p.inputs as never, { batchSize: p.B, timeSteps: p.T });
        const gr = k.backward(p.params as never, f.tape, {});
        const bad =
          shapeProblem("forward's outputs", f.outputs, m.outputs, p.T * p.B) ??
          shapeProblem("forward's finalState", f.finalState, m.states, p.B) ??
          shapeProblem("backward's params", gr.params, m.params, 1) ??
          shapeProblem("backward's inputs", gr.inputs, m.inputs, p.T * p.B) ??
          shapeProblem("backward's initialState", gr.initialState, m.states, p.B) ??
          shapeProblem("createParams()", k.createParams(), m.params, 1) ??
          shapeProblem("createState(2)", k.createState(2), m.states, 2);
        if (bad) return fail("mismatch", `${b.name}: ${bad}`);
      }
      const base = run(ref.k, p);
      const baseGrad = gradients(ref.k, p);
      if (!tame(base.outputs) || !tame(base.finalState) || !Object.values(baseGrad).every((d) => tame(d, HUGE * 100))) {
        return { outcome: "discard", message: "values too large for finite differences" };
      }
      const results = new Map<string, { r: ReturnType<typeof run>; g: ReturnType<typeof gradients> }>();
      for (const x of others) {
        const r = run(x.k, p);
        const diff = compare(`outputs${label}`, base.outputs, r.outputs, SAME) ?? compare(`final state${label}`, base.finalState, r.finalState, SAME);
        if (diff) return fail("mismatch", `${x.b.name} vs ${ref.b.name}: ${diff}`);
        const g = gradients(x.k, p);
        results.set(x.b.name, { r, g });
        const twin = x.b.sameAs === undefined ? undefined : results.get(x.b.sameAs);
        if (twin) {
          const exact =
            compare(`outputs${label}`, twin.r.outputs, r.outputs, 0) ??
            compare(`final state${label}`, twin.r.finalState, r.finalState, 0) ??
            compare(`d params${label}`, twin.g.params, g.params, 0) ??
            compare(`d inputs${label}`, twin.g.inputs, g.inputs, 0) ??
            compare(`d initial state${label}`, twin.g.initialState, g.initialState, 0);
          if (exact) return fail("mismatch", `${x.b.name} vs ${x.b.sameAs} (must be bit for bit): ${exact}`);
          if (pi === 0) {
            // Also 9 samples: 2 threads then share the loops by samples (under 4 each, by columns).
            const twinK = kernels.find((y) => y.b.name === x.b.sameAs)!.k;
            const q = problem(ref.k, seed + 3, T, 9);
            const a = run(twinK, q);
            const b = run(x.k, q);
            const ga = gradients(twinK, q);
            const gb = gradients(x.k, q);
            const more =
              compare("outputs (9 samples)", a.outputs, b.outputs, 0) ??
              compare("final state (9 samples)", a.finalState, b.finalState, 0) ??
              compare("d params (9 samples)", ga.params, gb.params, 0) ??
              compare("d inputs (9 samples)", ga.inputs, gb.inputs, 0) ??
              compare("d initial state (9 samples)", ga.initialState, gb.initialState, 0);
            if (more) return fail("mismatch", `${x.b.name} vs ${x.b.sameAs} (must be bit for bit): ${more}`);
          }
        }
        const gd = compare(`d params${label}`, baseGrad.params, g.params, SAME_GRAD) ?? compare(`d inputs${label}`, baseGrad.inputs, g.inputs, SAME_GRAD) ?? compare(`d initial state${label}`, baseGrad.initialState, g.initialState, SAME_GRAD);
        if (gd) return fail("mismatch", `${x.b.name} vs ${ref.b.name}: ${gd}`);
      }
      if (torch && torchCode !== undefined) {
        let got: TorchResult;
        try {
          got = await torch.run(torchCode, p);
        } catch (e) {
          return fail("crash", `${torch.name}: running the module failed${label}: ${e instanceof Error ? e.message : String(e)}`);
        }
        const d =
          compare(`outputs${label}`, base.outputs, got.outputs, SAME) ??
          compare(`final state${label}`, base.finalState, got.finalState, SAME) ??
          compare(`d params${label}`, baseGrad.params, got.grads.params, SAME_GRAD) ??
          compare(`d inputs${label}`, baseGrad.inputs, got.grads.inputs, SAME_GRAD) ??
          compare(`d initial state${label}`, baseGrad.initialState, got.grads.initialState, SAME_GRAD);
        if (d) return fail("mismatch", `${torch.name} vs ${ref.b.name}: ${d}`);
        stats["torch comparisons"]!++;
      }
      for (const { b, k } of kernels) {
        const fd = fdCheck(k, p, 1e-6, 1e-5, o.maxEntries ?? 240);
        stats["checked"]! += fd.checked;
        stats["kinks"]! += fd.kinks;
        if (fd.worst) {
          const w = fd.worst;
          return fail("mismatch", `${b.name}: backward disagrees with finite differences${label} at ${w.where}: analytic ${w.analytic}, numeric ${w.numeric}`);
        }
        if (pi === 0) {
          const s = stepMatches(k, p, run(k, p));
          if (s) return fail("mismatch", `${b.name}: step repeated differs from forward: ${s}`);
          const r = reuseMatches(k, p, problems[1]!, seed + 7);
          if (r) return fail("mismatch", `${b.name}: ${r}`);
        }
      }
    }
  } catch (e) {
    return fail("crash", `running the kernels threw: ${describeError(e)}`);
  }
  return pass(stats, code);
}
