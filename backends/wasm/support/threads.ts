// Worker threads for a generated WebAssembly kernel (inlined into every such module; tests import
// it): a team of Node worker_threads, each running its own instance of the kernel's module on the
// same shared memory. A call writes its job into a control block in that memory, wakes the team,
// runs worker 0's share itself and waits until every worker is done; the workers meet at barriers
// inside the entry points (backends/wasm/threads.ts). No messages and no event loop: a call stays
// synchronous, as on one thread. Workers start on the first call that needs them (the call waits
// for them), and a worker idle for IDLE_MS exits (a later call starts it again), so kernels nobody
// uses hold no threads. Where worker_threads is missing (browsers: their main thread cannot wait
// on memory) every call runs on one thread.
//
// A worker that dies (process.exit in it, a crash, out of memory, terminate()) is noticed by the
// team's supervisor: a thread of its own that starts the workers and so receives their 'exit'
// events, on an event loop that is never blocked (the calling thread is, in Atomics.wait or at a
// barrier inside WebAssembly, and could run no handler). The supervisor writes what happened into
// the worker's state word and wakes whoever waits on it, so no wait needs a clock:
// - dead while idle, or claimed by a call but before it took the job: nothing of the call was
//   done by it, so a new worker takes its place (in that call when it was claimed) — the call
//   runs normally;
// - dead while running its share: the call throws (its share of the results is lost, and a
//   rerun could not tell what the dead share had already written — backward adds into its
//   gradients), the others stop waiting for it at their barriers, and the next call starts a new
//   worker in its place.
// The supervisor runs no kernel code and allocates nothing per call; only the process's own end
// stops it.

// ---- inline from here

/** Int32 words of the control block: the job, then the barrier's words, each worker's state and a
 *  failure message. A worker's state: 0 none, 1 idle, 2 claimed by a call, 3 starting, 4 failed to
 *  start, 5 died in a call, 6 running its share, 7 asked of the supervisor. `call` is the
 *  generation of the call being set up. */
const CTL = { gen: 0, job: 1, tbl: 2, T: 3, B: 4, ig: 5, nw: 6, call: 7, failed: 8, sync: 16, state: 32, message: 128, words: 256 } as const;
/** Milliseconds an idle worker waits for work before it exits. */
const IDLE_MS = 5000;
/** Characters of a failure message kept. */
const MESSAGE_CHARS = CTL.words - CTL.message - 1;

interface NodeWorker {
  unref(): void;
  postMessage(value: unknown): void;
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

/** Writes the first failure's message (the call throws it) and makes the others stop waiting at
 *  their barriers. JavaScript source, shared by the workers and the supervisor. */
const REPORT_SOURCE = `function report(c, text) {
  text = String(text).slice(0, ${MESSAGE_CHARS});
  if (Atomics.compareExchange(c, ${CTL.failed}, 0, 1) === 0) {
    for (let i = 0; i < text.length; i++) c[${CTL.message} + i] = text.charCodeAt(i);
    c[${CTL.message} + text.length] = 0;
  }
  Atomics.store(c, ${CTL.sync} + 2, 1);
  Atomics.add(c, ${CTL.sync} + 1, 1);
  Atomics.notify(c, ${CTL.sync} + 1);
}
const why = (err) => (err && err.message ? err.message : err);`;

/** What each worker runs (JavaScript, evaluated by worker_threads). A worker started in place of
 *  one that died after a call claimed it (d.join) runs that call's share at once. */
const WORKER_SOURCE = `"use strict";
const { workerData: d } = process.getBuiltinModule("node:worker_threads");
const c = new Int32Array(d.memory.buffer, d.ctl, ${CTL.words});
const me = ${CTL.state} + d.index;
${REPORT_SOURCE}
function share() {
  Atomics.store(c, me, 6);
  try {
    if (c[${CTL.job}] === 0) x.forward(c[${CTL.tbl}], c[${CTL.T}], c[${CTL.B}], d.index, c[${CTL.nw}], d.ctl + ${CTL.sync * 4});
    else x.backward(c[${CTL.tbl}], c[${CTL.T}], c[${CTL.B}], c[${CTL.ig}], d.index, c[${CTL.nw}], d.ctl + ${CTL.sync * 4});
  } catch (err) {
    report(c, why(err));
  }
  Atomics.store(c, me, 1);
  Atomics.notify(c, me);
}
let x;
try {
  const m = {};
  for (const k of Object.keys(d.host)) m[k] = d.host[k] === null ? Math[k] : (0, eval)("(" + d.host[k] + ")");
  x = new WebAssembly.Instance(d.module, { env: { memory: d.memory }, m }).exports;
} catch (err) {
  report(c, why(err));
  Atomics.store(c, me, 4);
  Atomics.notify(c, me);
}
if (x) {
  let gen;
  if (d.join) {
    gen = Atomics.load(c, ${CTL.call});
    share();
  } else {
    gen = Atomics.load(c, ${CTL.gen});
    Atomics.store(c, me, 2);
    Atomics.notify(c, me);
  }
  for (;;) {
    const r = Atomics.wait(c, ${CTL.gen}, gen, d.idle);
    const now = Atomics.load(c, ${CTL.gen});
    if (now === gen) {
      if (r === "timed-out" && Atomics.compareExchange(c, me, 1, 0) === 1) break;
      continue;
    }
    gen = now;
    if (d.index < c[${CTL.nw}]) share();
  }
}
`;

/** What the supervisor runs: starts worker w when the team posts w, and on a worker's exit
 *  says in its state word what the team must do (see the file's comment). */
const SUPERVISOR_SOURCE = `"use strict";
const { workerData: d, parentPort, Worker } = process.getBuiltinModule("node:worker_threads");
const c = new Int32Array(d.memory.buffer, d.ctl, ${CTL.words});
${REPORT_SOURCE}
/** The worker in each place: the exit of one that left idle and was already replaced is not news. */
const current = [];
function start(w, join) {
  const me = ${CTL.state} + w;
  Atomics.store(c, me, 3);
  let error = null;
  const dead = (what) => {
    report(c, "worker thread " + w + " " + what);
    Atomics.notify(c, me);
  };
  let worker;
  try {
    worker = new Worker(${JSON.stringify(WORKER_SOURCE)}, { eval: true, workerData: { ...d, index: w, join } });
  } catch (err) {
    Atomics.store(c, me, 4);
    return dead("could not start: " + why(err));
  }
  current[w] = worker;
  worker.on("error", (err) => (error = err));
  worker.on("exit", (code) => {
    if (current[w] !== worker) return;
    const how = "(exit code " + code + (error ? ": " + why(error) : "") + ")";
    for (;;) {
      const s = Atomics.load(c, me);
      if (s === 0 || s === 4 || s === 5 || s === 7) return;
      if (s === 1 && Atomics.compareExchange(c, me, 1, 0) === 1) return;
      if (s === 2 && Atomics.compareExchange(c, me, 2, 3) === 2) return start(w, true);
      if (s === 3 && Atomics.compareExchange(c, me, 3, 4) === 3) return dead("stopped while starting " + how);
      if (s === 6 && Atomics.compareExchange(c, me, 6, 5) === 6) return dead("stopped during the call " + how);
    }
  });
}
parentPort.on("message", (w) => start(w, false));
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
  /** Workers run only on a shared memory. */
  private readonly Worker: WorkerCtor | null;
  private supervisor: NodeWorker | null = null;
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
    this.Worker = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer ? workerConstructor() : null;
  }

  /** Runs an entry point on `threads` threads (fewer where workers cannot run). */
  run(job: TeamJob, threads: number): void {
    const sync = this.ctl + CTL.sync * 4;
    const c = this.c;
    let n = 1;
    if (threads > 1 && !this.broken && this.Worker !== null) {
      // The job is written before any worker is claimed: one started in place of a claimed worker
      // that died reads it at once.
      c[CTL.job] = job.entry === "forward" ? 0 : 1;
      c[CTL.tbl] = job.tbl;
      c[CTL.T] = job.T;
      c[CTL.B] = job.B;
      c[CTL.ig] = job.ig;
      c[CTL.nw] = threads;
      c[CTL.failed] = 0;
      c[CTL.sync] = 0;
      c[CTL.sync + 2] = 0;
      Atomics.store(c, CTL.call, Atomics.load(c, CTL.gen) + 1);
      if (this.claim(threads)) n = threads;
    }
    this.last = n;
    /** Worker 0's share: this thread's. */
    const mine = (): void => {
      if (job.entry === "forward") this.entry.forward(job.tbl, job.T, job.B, 0, n, sync);
      else this.entry.backward(job.tbl, job.T, job.B, job.ig, 0, n, sync);
    };
    if (n === 1) return mine();
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
    // Until every worker is done with its share, or died (the supervisor then moves its state on).
    for (let w = 1; w < n; w++) {
      for (let s = Atomics.load(c, CTL.state + w); s === 2 || s === 3 || s === 6; s = Atomics.load(c, CTL.state + w)) Atomics.wait(c, CTL.state + w, s);
      // Dead, or its replacement could not start: the next call starts a new one.
      const s = Atomics.load(c, CTL.state + w);
      if (s === 4 || s === 5) Atomics.store(c, CTL.state + w, 0);
    }
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
      Atomics.store(c, CTL.state + w, 7);
      const supervisor = this.supervise();
      if (supervisor === null) {
        Atomics.store(c, CTL.state + w, 0);
        break;
      }
      supervisor.postMessage(w);
      started.push(w);
    }
    for (const w of started) {
      for (let s = Atomics.load(c, CTL.state + w); s === 7 || s === 3; s = Atomics.load(c, CTL.state + w)) Atomics.wait(c, CTL.state + w, s);
      if (Atomics.load(c, CTL.state + w) === 4) {
        Atomics.store(c, CTL.state + w, 0);
        this.broken = true;
      }
    }
    if (!this.broken) return true;
    // Give back what was claimed; from now on this kernel runs on one thread.
    for (let w = 1; w < n; w++) Atomics.compareExchange(c, CTL.state + w, 2, 1);
    return false;
  }

  /** The supervisor, started on first use; null (and the team broken) where it cannot start. */
  private supervise(): NodeWorker | null {
    if (this.supervisor !== null || this.broken) return this.supervisor;
    try {
      const host: Record<string, string | null> = {};
      for (const [k, f] of Object.entries(this.host)) host[k] = f === (Math as unknown as Record<string, unknown>)[k] ? null : String(f);
      const workerData = { memory: this.memory, module: this.module, ctl: this.ctl, host, idle: IDLE_MS };
      this.supervisor = new this.Worker!(SUPERVISOR_SOURCE, { eval: true, workerData });
      this.supervisor.unref();
    } catch {
      this.broken = true;
    }
    return this.supervisor;
  }
}
