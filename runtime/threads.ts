// How many worker threads a recurrent layer's kernel calls run on. WebAssembly kernels on Node can
// share a call's batch among threads (results identical to one thread's); the layer's `threads`
// option says how many, and "auto", the default, asks this file: as many as the machine has, for
// a call with enough work to gain, and one for small calls, where waking the workers costs more
// than they save. With at least 8 samples per thread a call is shared by samples; with fewer,
// only if each step is large, since the kernel then shares each step's products by columns.

import { MAX_THREADS } from "../abi/checks.ts";
import type { KernelMeta } from "../abi/kernel.ts";

/** A call's work (T·B·paramCount: about the multiply-adds of its forward) below which one thread
 *  is as fast as two or faster: waking the workers and the barriers cost about 0.1-0.3 ms a call.
 *  `npm run bench:threads` measures it (the README's performance section has a run). */
export const AUTO_MIN_WORK = 6_000_000;
/** Samples each thread should have at least to share a call by samples. */
const MIN_SAMPLES_PER_THREAD = 8;
/** The most threads "auto" chooses. */
const AUTO_MAX = 8;
/** With fewer samples the kernel shares each step's products by columns, with barriers every step
 *  (a few microseconds each): worth it only for a step's work B·paramCount from about this on
 *  (measured: 0.5M 1.04-1.26×, 6.3M 1.63× on two threads; npm run bench:threads). */
export const AUTO_MIN_STEP_WORK = 1_000_000;
/** The most threads "auto" shares a step's products among. */
const AUTO_MAX_COLUMNS = 4;

export type ThreadsOption = number | "auto";

export function checkThreadsOption(where: string, v: unknown): ThreadsOption {
  if (v === "auto" || (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_THREADS)) return v;
  throw new Error(`${where}: threads must be "auto" or a whole number from 1 to ${MAX_THREADS}, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
}

/** Cores this process may use (1 where nobody says). */
export function hardwareThreads(): number {
  const g = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown }; navigator?: { hardwareConcurrency?: number } };
  try {
    const os = g.process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
    const n = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
    return Number.isInteger(n) && n >= 1 ? n : 1;
  } catch {
    return 1;
  }
}

/** The `threads` to pass a kernel's call, or undefined to leave it out (a kernel that takes no
 *  threads, or "auto" choosing one). */
export function threadsFor(option: ThreadsOption, meta: KernelMeta, T: number, B: number, cores: number = hardwareThreads()): number | undefined {
  if (meta.threads === undefined) return undefined;
  if (option !== "auto") return option;
  if (cores < 2 || T * B * meta.paramCount < AUTO_MIN_WORK) return undefined;
  const bySamples = Math.min(cores, Math.floor(B / MIN_SAMPLES_PER_THREAD), AUTO_MAX);
  if (bySamples >= 2) return bySamples;
  return B * meta.paramCount >= AUTO_MIN_STEP_WORK ? Math.min(cores, AUTO_MAX_COLUMNS) : undefined;
}
