// Worker threads for a generated WebAssembly kernel (inlined into every such module; tests import
// it): a team of Node worker_threads, each running its own instance of the kernel's module on the
// same shared memory. A call writes its job into a control block in that memory, wakes the team,
// runs worker 0's share itself and waits until every worker is done; the workers meet at barriers
// inside the entry points (backends/wasm/threads.ts). No messages and no event loop: a call stays
// synchronous, as on one thread. Workers start on the first call that needs them (the call waits
// for them), and a worker idle for IDLE_MS exits (a later call starts it again), so kernels nobody
// uses hold no threads. Where worker_threads is missing (browsers: their main thread cannot wait
// on memory) every call runs on one thread.

// ---- inline from here

/** Int32 words of the control block: the job, then the barrier's words, each worker's state and a
 *  failure message. A worker's state: 0 none, 1 idle, 2 claimed by a call, 3 starting, 4 failed. */
const CTL = { gen: 0, job: 1, tbl: 2, T: 3, B: 4, ig: 5, nw: 6, done: 7, failed: 8, sync: 16, state: 32, message: 128, words: 256 } as const;
/** Milliseconds an idle worker waits for work before it exits. */
const IDLE_MS = 5000;
/** Characters of a failure message kept. */
const MESSAGE_CHARS = CTL.words - CTL.message - 1;

interface NodeWorker {
  unref(): void;
}
type WorkerCtor = new (source: string, options: { eval: boolean; workerData: unknown }) => NodeWorker;

/** Node's worker_threads, where there is one (never an import: a generated module has none). */
function workerConstructor(): WorkerCtor | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const wt = proc?.getBuiltinModule?.("node:worker_threads") as { Worker?: WorkerCtor } | undefined;
    return wt?.Worker ?? null;
  } catch {
    return null;
  }
}

/** True where a kernel's calls can run on worker threads. */
export function threadsSupported(): boolean {
  return workerConstructor() !== null;
}

/** What each worker runs (JavaScript, evaluated by worker_threads). */
const WORKER_SOURCE = `"use strict";
const { workerData: d } = process.getBuiltinModule("node:worker_threads");
const c = new Int32Array(d.memory.buffer, d.ctl, ${CTL.words});
const me = ${CTL.state} + d.index;
function report(err) {
  const text = String(err && err.message ? err.message : err).slice(0, ${MESSAGE_CHARS});
  if (Atomics.compareExchange(c, ${CTL.failed}, 0, 1) === 0) {
    for (let i = 0; i < text.length; i++) c[${CTL.message} + i] = text.charCodeAt(i);
    c[${CTL.message} + text.length] = 0;
  }
  Atomics.store(c, ${CTL.sync} + 2, 1);
  Atomics.add(c, ${CTL.sync} + 1, 1);
  Atomics.notify(c, ${CTL.sync} + 1);
}
let x;
try {
  const m = {};
  for (const k of Object.keys(d.host)) m[k] = d.host[k] === null ? Math[k] : (0, eval)("(" + d.host[k] + ")");
  x = new WebAssembly.Instance(d.module, { env: { memory: d.memory }, m }).exports;
} catch (err) {
  report(err);
  Atomics.store(c, me, 4);
  Atomics.notify(c, me);
}
if (x) {
  let gen = Atomics.load(c, ${CTL.gen});
  Atomics.store(c, me, 2);
  Atomics.notify(c, me);
  for (;;) {
    const r = Atomics.wait(c, ${CTL.gen}, gen, d.idle);
    const now = Atomics.load(c, ${CTL.gen});
    if (now === gen) {
      if (r === "timed-out" && Atomics.compareExchange(c, me, 1, 0) === 1) break;
      continue;
    }
    gen = now;
    if (d.index >= c[${CTL.nw}]) continue;
    try {
      if (c[${CTL.job}] === 0) x.forward(c[${CTL.tbl}], c[${CTL.T}], c[${CTL.B}], d.index, c[${CTL.nw}], d.ctl + ${CTL.sync * 4});
      else x.backward(c[${CTL.tbl}], c[${CTL.T}], c[${CTL.B}], c[${CTL.ig}], d.index, c[${CTL.nw}], d.ctl + ${CTL.sync * 4});
    } catch (err) {
      report(err);
    }
    Atomics.store(c, me, 1);
    Atomics.add(c, ${CTL.done}, 1);
    Atomics.notify(c, ${CTL.done});
  }
}
`;

/** A call of an entry point. */
export type TeamJob = { entry: "forward" | "backward"; tbl: number; T: number; B: number; ig: number };

/** A module's entry points: worker w of nw, the barrier's words at sync. */
export interface TeamEntry {
  forward(tbl: number, T: number, B: number, w: number, nw: number, sync: number): void;
  backward(tbl: number, T: number, B: number, ig: number, w: number, nw: number, sync: number): void;
}

/** The control block's size in bytes. */
export const TEAM_BYTES = CTL.words * 4;

export class Team {
  private readonly c: Int32Array;
  private readonly Worker: WorkerCtor | null = workerConstructor();
  private broken = false;
  /** Threads the last call ran on. */
  last = 1;

  constructor(
    private readonly memory: { readonly buffer: ArrayBufferLike },
    private readonly ctl: number,
    private readonly module: object,
    private readonly host: Record<string, (...x: number[]) => number>,
    private readonly entry: TeamEntry,
  ) {
    this.c = new Int32Array(memory.buffer, ctl, CTL.words);
  }

  /** Runs an entry point on `threads` threads (fewer where workers cannot run). */
  run(job: TeamJob, threads: number): void {
    const sync = this.ctl + CTL.sync * 4;
    const n = threads > 1 && !this.broken && this.Worker !== null && this.claim(threads) ? threads : 1;
    this.last = n;
    /** Worker 0's share: this thread's. */
    const mine = (): void => {
      if (job.entry === "forward") this.entry.forward(job.tbl, job.T, job.B, 0, n, sync);
      else this.entry.backward(job.tbl, job.T, job.B, job.ig, 0, n, sync);
    };
    if (n === 1) return mine();
    const c = this.c;
    c[CTL.job] = job.entry === "forward" ? 0 : 1;
    c[CTL.tbl] = job.tbl;
    c[CTL.T] = job.T;
    c[CTL.B] = job.B;
    c[CTL.ig] = job.ig;
    c[CTL.nw] = n;
    c[CTL.done] = 0;
    c[CTL.failed] = 0;
    c[CTL.sync] = 0;
    c[CTL.sync + 2] = 0;
    Atomics.add(c, CTL.gen, 1);
    Atomics.notify(c, CTL.gen);
    let failure: unknown = null;
    try {
      mine();
    } catch (err) {
      // The others stop waiting for this thread at their barriers.
      failure = err;
      Atomics.store(c, CTL.sync + 2, 1);
      Atomics.add(c, CTL.sync + 1, 1);
      Atomics.notify(c, CTL.sync + 1);
    }
    for (let d = Atomics.load(c, CTL.done); d < n - 1; d = Atomics.load(c, CTL.done)) Atomics.wait(c, CTL.done, d, 1000);
    if (failure !== null) throw failure;
    if (c[CTL.failed]) {
      let text = "";
      for (let i = CTL.message; i < CTL.words && c[i] !== 0; i++) text += String.fromCharCode(c[i]!);
      throw new Error(`a worker thread failed: ${text}`);
    }
  }

  /** Claims workers 1..n-1 for a call, starting those not running; false when one cannot start. */
  private claim(n: number): boolean {
    const c = this.c;
    const started: number[] = [];
    for (let w = 1; w < n; w++) {
      if (Atomics.compareExchange(c, CTL.state + w, 1, 2) === 1) continue;
      Atomics.store(c, CTL.state + w, 3);
      try {
        const host: Record<string, string | null> = {};
        for (const [k, f] of Object.entries(this.host)) host[k] = f === (Math as unknown as Record<string, unknown>)[k] ? null : String(f);
        const worker = new this.Worker!(WORKER_SOURCE, { eval: true, workerData: { memory: this.memory, module: this.module, ctl: this.ctl, index: w, host, idle: IDLE_MS } });
        worker.unref();
        started.push(w);
      } catch {
        Atomics.store(c, CTL.state + w, 0);
        this.broken = true;
      }
    }
    for (const w of started) {
      for (let s = Atomics.load(c, CTL.state + w); s === 3; s = Atomics.load(c, CTL.state + w)) Atomics.wait(c, CTL.state + w, 3, 1000);
      if (Atomics.load(c, CTL.state + w) === 4) this.broken = true;
    }
    if (!this.broken) return true;
    // Give back what was claimed; from now on this kernel runs on one thread.
    for (let w = 1; w < n; w++) Atomics.compareExchange(c, CTL.state + w, 2, 1);
    return false;
  }
}
