// How a generated WebGPU kernel replays its stages in a compute pass (inlined into every such
// module before ./kernel.ts; tests import it): which path each loop stage takes, which entry
// points that needs, and the dispatches. See ../wgsl.ts (an entry point per op) and ../fused.ts
// (a loop stage's fused step and persistent kernels).

import { fail } from "../../ts/support/checks.ts";

// ---- inline from here

/** The part of GPUComputePassEncoder this code uses. */
export interface GpuPass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown, offsets: number[]): void;
  dispatchWorkgroups(x: number, y?: number): void;
  end(): void;
}

/** How a loop stage is dispatched. */
export type GpuPath = "per-op" | "fused-step" | "persistent";

/** A stage: its dispatches per op ([entry, kind, p, q], see ../wgsl.ts), and for a loop whose ops
 *  are all row-local its fused kernels (../fused.ts). */
export interface GpuStageInfo {
  /** 0: all rows at once; 1: a loop forward in time; -1: backward in time. */
  loop: number;
  /** 0 always; 1 only with input gradients; 2 only without. */
  when: number;
  ops: [number, number, number, number][];
  fused: { step: number; persist: number; rows: number; widest: number; persistent: boolean } | null;
}

export interface GpuRun {
  st: GpuStageInfo;
  path: GpuPath;
}

/** The stages a call runs, each with its path: the size rule's (`auto`), or the forced one where the stage has it. */
export function routeStages(stages: readonly GpuStageInfo[], inputGradients: boolean, forced: GpuPath | "auto"): GpuRun[] {
  const pathOf = (st: GpuStageInfo): GpuPath => {
    if (st.loop === 0 || !st.fused || forced === "per-op") return "per-op";
    if (forced === "auto") return st.fused.persistent ? "persistent" : "fused-step";
    return forced;
  };
  return stages.filter((st) => !((st.when === 1 && !inputGradients) || (st.when === 2 && inputGradients))).map((st) => ({ st, path: pathOf(st) }));
}

/** The entry points the runs dispatch. */
export function entriesOf(runs: readonly GpuRun[]): number[] {
  const need = new Set<number>();
  for (const { st, path } of runs) {
    if (path === "per-op") st.ops.forEach(([e]) => need.add(e));
    else need.add(path === "persistent" ? st.fused!.persist : st.fused!.step);
  }
  return [...need];
}

/** Records the runs' dispatches into `pass` (uniform slot k < T: step k's rows; k = T: all rows,
 *  256 bytes apart); returns the path each loop stage took. */
export function encodeRuns(pass: GpuPass, pipelines: ReadonlyMap<number, unknown>, runs: readonly GpuRun[], group: unknown, T: number, B: number, maxG: number): GpuPath[] {
  const run = (ops: GpuStageInfo["ops"], k: number) => {
    const R = k < T ? B : T * B;
    for (const [e, kind, p, q] of ops) {
      pass.setPipeline(pipelines.get(e));
      pass.setBindGroup(0, group, [k * 256]);
      if (kind === 0 || kind === 1) {
        const n = kind === 0 ? p * R : p;
        if (n > 0) pass.dispatchWorkgroups(Math.min(Math.ceil(n / 64), maxG));
      } else {
        const [rows, cols] = kind === 2 ? [R, p] : [p, q];
        const gy = Math.ceil(rows / 16);
        if (gy > maxG) fail("forward", `a product over ${rows} rows needs more workgroups than this device allows (${maxG * 16} rows): use fewer steps or samples per call`);
        if (rows > 0 && cols > 0) pass.dispatchWorkgroups(Math.ceil(cols / 16), gy);
      }
    }
  };
  /** A fused kernel: ceil(B / rows) workgroups, each owning `rows` samples; slot k's rows. */
  const fused = (e: number, rows: number, k: number) => {
    const n = Math.ceil(B / rows);
    if (n > maxG) fail("forward", `a fused step over ${B} samples needs more workgroups than this device allows (${maxG * rows} samples): use fewer samples per call`);
    pass.setPipeline(pipelines.get(e));
    pass.setBindGroup(0, group, [k * 256]);
    if (n > 0 && T > 0) pass.dispatchWorkgroups(n);
  };
  const steps = (st: GpuStageInfo, each: (t: number) => void) => {
    if (st.loop === 1) for (let t = 0; t < T; t++) each(t);
    else for (let t = T - 1; t >= 0; t--) each(t);
  };
  for (const { st, path } of runs) {
    if (st.loop === 0) run(st.ops, T);
    else if (path === "persistent") fused(st.fused!.persist, st.fused!.rows, T);
    else if (path === "fused-step") steps(st, (t) => fused(st.fused!.step, st.fused!.rows, t));
    else steps(st, (t) => run(st.ops, t));
  }
  return runs.filter(({ st }) => st.loop !== 0).map(({ path }) => path);
}
