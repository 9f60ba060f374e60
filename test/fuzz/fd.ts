// Finite-difference gradient checks for the fuzzer, in float64, with inputs in prototype-free
// objects (so a tensor named `__proto__` or `toString` is an ordinary key).
//
// The loss is a fixed random linear function of every output and of the final state. For each
// checked entry x the check evaluates L(x - h), L(x), L(x + h) and compares backward's value with
// the central difference c = (L(x+h) - L(x-h)) / 2h. Kinks (relu, abs, clip, hard_sigmoid): if a
// kink of the loss lies within h of x, the one-sided differences f = (L(x+h) - L(x)) / h and
// b = (L(x) - L(x-h)) / h disagree by about the jump in slope, and c is off from either one-sided
// derivative by |f - b| / 2 at most. Such an entry is skipped (counted in `kinks`) when |f - b| is
// above 1e-3 · max(1, |c|); otherwise it must satisfy |g - c| ≤ tol · max(1, |c|) + |f - b| / 2,
// where the last term is below 1e-8 for a smooth loss (h times its curvature) and covers a kink
// too small to detect. A wrong gradient therefore passes only at entries within h of a kink.
// Round-off: L is a sum of terms w·y whose magnitudes add up to S, so each L carries an error of
// a few ε·S and c one of about ε·S / h; the bound adds 8 ε S / h (negligible unless S is large: a
// fuzzed cell that squares its state three times reaches S ≈ 1e5, where this is 2e-5).

import type { CellKernel, ForwardOptions, Gradients, Tensors } from "../../abi/kernel.ts";
import { Rng } from "../helpers/rng.ts";

export type Arr = Float64Array;
export type Dict = Record<string, Arr>;

export const dict = (): Dict => Object.create(null) as Dict;

export interface Problem {
  T: number;
  B: number;
  params: Dict;
  inputs: Dict;
  init: Dict;
  masks?: Dict;
  lengths?: number[];
  wOut: Dict;
  wFinal: Dict;
}

/** Random values for every array a kernel takes (params ~ N(0, 0.5²), the rest N(0, 1)). */
export function problem(k: CellKernel, seed: number, T: number, B: number, extras: { lengths?: number[]; masks?: boolean } = {}): Problem {
  const rng = new Rng(seed);
  const fill = (n: number, scale = 1) => Float64Array.from({ length: n }, () => rng.normal() * scale);
  const p: Problem = { T, B, params: dict(), inputs: dict(), init: dict(), wOut: dict(), wFinal: dict() };
  for (const q of k.meta.params) p.params[q.name] = fill(q.size, 0.5);
  for (const i of k.meta.inputs) p.inputs[i.name] = fill(T * B * i.size);
  for (const s of k.meta.states) p.init[s.name] = fill(B * s.size, 0.5);
  for (const o of k.meta.outputs) p.wOut[o.name] = fill(T * B * o.size);
  for (const s of k.meta.states) p.wFinal[s.name] = fill(B * s.size);
  if (extras.masks) {
    p.masks = dict();
    for (const s of k.meta.states) p.masks[s.name] = fill(B * s.size).map((v) => (v > 0 ? 1.25 : 0));
  }
  if (extras.lengths) p.lengths = extras.lengths;
  return p;
}

const asT = (d: Dict) => d as unknown as Tensors;

export function forwardOptions(p: Problem): ForwardOptions {
  return {
    batchSize: p.B,
    timeSteps: p.T,
    initialState: asT(p.init),
    ...(p.lengths ? { lengths: p.lengths } : {}),
    ...(p.masks ? { stateMasks: asT(p.masks) } : {}),
  };
}

export function run(k: CellKernel, p: Problem): { outputs: Dict; finalState: Dict } {
  const r = k.forward(asT(p.params), asT(p.inputs), forwardOptions(p));
  return { outputs: copy(r.outputs as unknown as Dict), finalState: copy(r.finalState as unknown as Dict) };
}

export function gradients(k: CellKernel, p: Problem): { params: Dict; inputs: Dict; initialState: Dict } {
  const r = k.forward(asT(p.params), asT(p.inputs), forwardOptions(p));
  const g: Gradients = k.backward(asT(p.params), r.tape, asT(p.wOut), { dFinalState: asT(p.wFinal) });
  return { params: copy(g.params as unknown as Dict), inputs: copy(g.inputs as unknown as Dict), initialState: copy(g.initialState as unknown as Dict) };
}

function copy(d: Dict): Dict {
  const out = dict();
  for (const key of Object.keys(d)) out[key] = Float64Array.from(d[key]!);
  return out;
}

/** What is wrong with a result's arrays: a missing or extra key, or a wrong length (a generated
 *  object literal with a `__proto__` key, for one, loses that key). */
export function shapeProblem(what: string, d: Record<string, unknown>, want: readonly { name: string; size: number }[], rows: number): string | undefined {
  const keys = Object.keys(d).sort();
  const names = want.map((w) => w.name).sort();
  if (keys.join(",") !== names.join(",")) return `${what} has keys [${keys}], expected [${names}]`;
  for (const w of want) {
    const a = d[w.name];
    if (!(a instanceof Float64Array) || a.length !== rows * w.size) return `${what}.${w.name} is not a Float64Array of ${rows} × ${w.size}`;
  }
  return undefined;
}

export function loss(k: CellKernel, p: Problem, abs = false): number {
  const r = k.forward(asT(p.params), asT(p.inputs), forwardOptions(p));
  let L = 0;
  for (const o of k.meta.outputs) L += dot(r.outputs[o.name]!, p.wOut[o.name]!, abs);
  for (const s of k.meta.states) L += dot(r.finalState[s.name]!, p.wFinal[s.name]!, abs);
  return L;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, abs = false): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += abs ? Math.abs(a[i]! * b[i]!) : a[i]! * b[i]!;
  return s;
}

export interface FdReport {
  checked: number;
  kinks: number;
  /** The worst entry: where, analytic, numeric, and its error beyond the tolerance. */
  worst?: { where: string; analytic: number; numeric: number; excess: number };
}

/** Compares backward with central differences at up to `maxEntries` entries (spread evenly over
 *  the arrays, deterministic) of every param, input and initial state. */
export function fdCheck(k: CellKernel, p: Problem, tol = 1e-6, h = 1e-5, maxEntries = 400): FdReport {
  const g = gradients(k, p);
  const L0 = loss(k, p);
  const roundOff = (8 * Number.EPSILON * loss(k, p, true)) / h;
  const targets: { where: string; arr: Arr; grad: Arr }[] = [];
  for (const q of k.meta.params) targets.push({ where: `params.${q.name}`, arr: p.params[q.name]!, grad: g.params[q.name]! });
  for (const i of k.meta.inputs) targets.push({ where: `inputs.${i.name}`, arr: p.inputs[i.name]!, grad: g.inputs[i.name]! });
  for (const s of k.meta.states) targets.push({ where: `initialState.${s.name}`, arr: p.init[s.name]!, grad: g.initialState[s.name]! });
  const total = targets.reduce((n, t) => n + t.arr.length, 0);
  const stride = Math.max(1, Math.ceil(total / maxEntries));
  const report: FdReport = { checked: 0, kinks: 0 };
  let flat = 0;
  for (const t of targets) {
    for (let i = 0; i < t.arr.length; i++, flat++) {
      if (flat % stride !== 0) continue;
      const keep = t.arr[i]!;
      t.arr[i] = keep + h;
      const up = loss(k, p);
      t.arr[i] = keep - h;
      const down = loss(k, p);
      t.arr[i] = keep;
      const c = (up - down) / (2 * h);
      const oneSided = Math.abs((up - L0) / h - (L0 - down) / h);
      const scale = Math.max(1, Math.abs(c));
      if (oneSided > 1e-3 * scale) {
        report.kinks++;
        continue;
      }
      report.checked++;
      const a = t.grad[i]!;
      const excess = Math.abs(a - c) - (tol * scale + oneSided / 2 + roundOff);
      if (!(excess <= 0) && (report.worst === undefined || !(excess <= report.worst.excess))) {
        report.worst = { where: `${t.where}[${i}]`, analytic: a, numeric: c, excess };
      }
    }
  }
  return report;
}
