// Shared pieces of the interop and parity tests: seeded random tensors, [T, B, n] <-> [B, T, n]
// transposes, compiled example kernels, and the difference measure the parity tests assert on.

import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { loadCellFile } from "../driver/index.ts";
import { loadMapping, type Mapping } from "../runtime/interop/index.ts";

export const SPECS = new URL("../examples/specs/", import.meta.url).pathname;

/** Deterministic uniform numbers in [-1, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

export function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * next());
}

/** Random values for every parameter of a kernel, uniform in [-scale, scale). */
export function randomParams(kernel: CellKernel, seed: number, scale = 0.5): Tensors {
  const next = rng(seed);
  return Object.fromEntries(kernel.meta.params.map((p) => [p.name, randomArray(p.size, next, scale)]));
}

/** Swaps the first two axes of a [d0, d1, n] row-major array (time-major <-> batch-major). */
export function swap01(a: ArrayLike<number>, d0: number, d1: number, n: number): Float32Array {
  const out = new Float32Array(d0 * d1 * n);
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      for (let k = 0; k < n; k++) out[(j * d0 + i) * n + k] = a[(i * d1 + j) * n + k]!;
    }
  }
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export interface Diff {
  /** max |got - want| */
  abs: number;
  /** max |got - want| / max(|want|, floor): elementwise relative error, where entries smaller than a
   *  tenth of the largest |want| count as that size (float32 results near zero carry the rounding
   *  of their larger operands, so a bare relative error there measures cancellation, not parity). */
  rel: number;
}

export function diff(got: ArrayLike<number>, want: ArrayLike<number>): Diff {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  const floor = Math.max(0.1 * scale, 1e-12);
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / Math.max(Math.abs(want[i]!), floor));
  }
  return { abs, rel };
}

/** Largest differences seen by a test file, printed once at the end for the report. */
export class DiffLog {
  private readonly rows: Array<[string, Diff]> = [];
  add(label: string, d: Diff): Diff {
    this.rows.push([label, d]);
    return d;
  }
  print(title: string): void {
    if (!process.env["CELLC_PRINT_DIFFS"]) return;
    const lines = this.rows.map(([l, d]) => `  ${l.padEnd(48)} abs ${d.abs.toExponential(2)}  rel ${d.rel.toExponential(2)}`);
    console.log(`${title}\n${lines.join("\n")}`);
  }
}

const kernels = new Map<string, Promise<CellKernel>>();

/** An example spec compiled for `dims` (once per test file) and the mapping next to it. */
export async function exampleKernel(spec: string, dims: Record<string, number>, target = "ts"): Promise<{ kernel: CellKernel; mapping: Mapping }> {
  const key = `${spec} ${JSON.stringify(dims)} ${target}`;
  let kernel = kernels.get(key);
  if (!kernel) {
    kernel = loadCellFile(`${SPECS}${spec}.cell`, { dims, target });
    kernels.set(key, kernel);
  }
  return { kernel: await kernel, mapping: loadMapping(`${SPECS}${spec}.map.json`) };
}
