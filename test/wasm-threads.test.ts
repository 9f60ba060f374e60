// The `threads` option of WebAssembly kernels: a call shared among worker threads gives bit for
// bit what one thread gives (every number is computed by one worker in the same order), for
// every spec, with loops shared by samples and by columns, with lengths, masks, initial states
// and final-state gradients, with more threads than samples, and without input gradients; and the threaded results match the TypeScript
// kernel as the one-thread ones do. Also: the option's checks, the build default, step(), and
// the recurrent layer's choice ("auto"), and worker threads that trap or die (test/helpers/team-death.ts).

import { execFile, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { CellKernel, Tensors } from "../abi/kernel.ts";
import { stageNeedsBarrier } from "../compiler/plan/parallel.ts";
import { loadCellFile, planKernel } from "../driver/index.ts";
import { threadsFor, AUTO_MIN_WORK } from "../runtime/threads.ts";
import { Rng } from "./helpers/rng.ts";

const specDirs = ["examples/specs", "examples/specs/greff", "test/specs"];
const specs = specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => `${d}/${f}`));
const dims = { I: 5, H: 6, P: 3, J: 2 };

type Kernel = CellKernel & { threadsUsed?: () => number };

interface Case {
  T: number;
  B: number;
  seed: number;
  lengths?: number[];
  masks?: boolean;
  inputGradients?: boolean;
}

/** Everything a forward and backward call return, as one list of numbers (copied out). */
function run(k: Kernel, c: Case, threads: number | undefined): number[] {
  const rng = new Rng(c.seed);
  const fill = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
  const params = k.createParams();
  for (const p of k.meta.params) params[p.name]!.set(fill(p.size, 0.6));
  const inputs: Tensors = {};
  for (const i of k.meta.inputs) inputs[i.name] = fill(c.T * c.B * i.size);
  const initialState: Tensors = {};
  const stateMasks: Tensors = {};
  const dFinalState: Tensors = {};
  for (const s of k.meta.states) {
    initialState[s.name] = fill(c.B * s.size, 0.5);
    stateMasks[s.name] = fill(c.B * s.size).map((v) => (v > -0.3 ? 1.4 : 0));
    dFinalState[s.name] = fill(c.B * s.size);
  }
  const dOutputs: Tensors = {};
  for (const o of k.meta.outputs) dOutputs[o.name] = fill(c.T * c.B * o.size);
  const f = k.forward(params, inputs, {
    batchSize: c.B,
    timeSteps: c.T,
    initialState,
    ...(c.lengths ? { lengths: c.lengths } : {}),
    ...(c.masks ? { stateMasks } : {}),
    ...(threads !== undefined ? { threads } : {}),
  });
  const out = [...Object.values(f.outputs), ...Object.values(f.finalState)].flatMap((a) => Array.from(a));
  const g = k.backward(params, f.tape, dOutputs, { dFinalState, ...(c.inputGradients === false ? { inputGradients: false } : {}) });
  return [...out, ...[...Object.values(g.params), ...Object.values(g.inputs), ...Object.values(g.initialState)].flatMap((a) => Array.from(a))];
}

/** Indices where two runs differ (bit for bit: -0 and 0 differ, NaN equals NaN). */
function differences(a: number[], b: number[]): number[] {
  expect(b.length).toBe(a.length);
  return a.flatMap((x, i) => (Object.is(x, b[i]) ? [] : [i]));
}

// Under 4 samples per thread a loop's products are shared by columns, else loops are shared by
// samples: B 9 on 2 threads is the second way, every other case here the first.
const cases: [string, Case][] = [
  ["T 5, B 7", { T: 5, B: 7, seed: 1 }],
  ["B 9", { T: 4, B: 9, seed: 6 }],
  ["lengths and masks", { T: 6, B: 5, seed: 2, lengths: [6, 2, 0, 5, 1], masks: true }],
  ["more threads than samples, no input gradients", { T: 4, B: 2, seed: 3, inputGradients: false }],
];

describe("threads on every spec: bit for bit one thread's results", () => {
  it.each(specs)("%s", async (spec) => {
    const k = (await loadCellFile(spec, { dims, target: "wasm" })) as Kernel;
    const ts = await loadCellFile(spec, { dims, target: "ts" });
    expect(k.meta.backend).toBe("wasm");
    expect(k.meta.threads).toBe(1);
    for (const [what, c] of cases) {
      const one = run(k, c, 1);
      expect(k.threadsUsed!()).toBe(1);
      for (const threads of [2, 3]) {
        const many = run(k, c, threads);
        expect(k.threadsUsed!(), `${what}: threads used`).toBe(threads);
        expect(differences(one, many), `${what}, ${threads} threads`).toEqual([]);
      }
      // The independent reference: the TypeScript kernel (same float32 inputs) agrees.
      const ref = run(ts as Kernel, c, 2);
      const worst = ref.reduce((m, x, i) => Math.max(m, Math.abs(x - one[i]!) / (1 + Math.abs(x))), 0);
      expect(worst, what).toBeLessThan(2e-4);
    }
  });
});

describe("threads at sizes with whole tiles and uneven shares", () => {
  it.each([
    ["examples/specs/lstm.cell", { I: 24, H: 40 }],
    ["examples/specs/gru.cell", { I: 17, H: 33 }],
    ["examples/specs/lstmp.cell", { I: 9, H: 36, P: 13 }],
  ] as const)("%s %o", async (spec, d) => {
    const k = (await loadCellFile(spec, { dims: d, target: "wasm" })) as Kernel;
    // By samples (37 on 2 and 4 threads), and by columns (3 samples; 160, 132 and 52 columns
    // in 8-column panels, the last one partial).
    for (const B of [37, 3]) {
      const c: Case = { T: 9, B, seed: 9, lengths: Array.from({ length: B }, (_, b) => 9 - (b % 4)), masks: true };
      const one = run(k, c, 1);
      for (const threads of [2, 4]) expect(differences(one, run(k, c, threads)), `B ${B}, ${threads} threads`).toEqual([]);
    }
  });
});

describe("dynamic scheduling: chunks of rows and of weight-gradient tiles taken in turn", () => {
  // 40 steps of 16 samples: 640 rows, in chunks of 64 rows (ten chunks for 2, 3 or 4 workers to
  // take in any order), and 36 tiles of the recurrent weight gradient's 144 rows in chunks of 9,
  // 6 or 5: whoever takes a chunk, every number is the one-thread number.
  it("examples/specs/gru.cell I 17, H 48: 1, 2, 3 and 4 threads bit for bit", async () => {
    const k = (await loadCellFile("examples/specs/gru.cell", { dims: { I: 17, H: 48 }, target: "wasm" })) as Kernel;
    const c: Case = { T: 40, B: 16, seed: 4, lengths: Array.from({ length: 16 }, (_, b) => 40 - b), masks: true };
    const one = run(k, c, 1);
    for (const threads of [2, 3, 4]) for (let round = 0; round < 2; round++) expect(differences(one, run(k, c, threads)), `${threads} threads, round ${round}`).toEqual([]);
  });
});

describe("dynamic scheduling: chunks of samples in the recurrent loops", () => {
  // A loop shared by samples hands out chunks of 4 samples (one GEMM tile; 16 where the loop's
  // packed weights pass 1 MiB, as lstm's at H 264 do), at most a worker's share rounded up to whole
  // tiles, each run through every step by one worker: 37 samples are nine chunks of 4 and one of 1
  // (at H 264: 16, 16, 5 on 2 threads, 16, 16, 5 on 3 and four of 12 or fewer on 4); 13 on 3
  // threads are 4, 4, 4, 1; 8 on 2 threads (the fewest shared by samples) two chunks of 4. Every
  // sample has its own length and masks, so a sample run with another's chunk bounds, skipped or
  // run twice changes numbers; two rounds per count catch a counter not reset between calls or
  // between forward and backward.
  it.each([
    ["examples/specs/lstm.cell", { I: 7, H: 12 }],
    ["examples/specs/gru.cell", { I: 5, H: 9 }],
    ["examples/specs/lstm.cell", { I: 3, H: 264 }],
  ] as const)("%s %o: forward and backward bit for bit on 1-4 threads", async (spec, d) => {
    const k = (await loadCellFile(spec, { dims: d, target: "wasm" })) as Kernel;
    for (const [B, counts] of [[37, [2, 3, 4]], [13, [3]], [8, [2]]] as const) {
      const c: Case = { T: 7, B, seed: 11 + B, lengths: Array.from({ length: B }, (_, b) => (b * 5) % 8), masks: true };
      const one = run(k, c, 1);
      for (const threads of counts) {
        for (let round = 0; round < 2; round++) {
          expect(differences(one, run(k, c, threads)), `B ${B}, ${threads} threads, round ${round}`).toEqual([]);
          expect(k.threadsUsed!()).toBe(threads);
        }
      }
    }
  });
});

describe("barriers between stages only where a stage touches what the ones before it wrote", () => {
  it("lstm: the input gradients follow the weight gradients at once; every other stage waits", () => {
    const r = planKernel(readFileSync("examples/specs/lstm.cell", "utf8"), { file: "lstm.cell", dims: { I: 5, H: 6 } });
    const { plan } = r;
    const [fwdAll, fwdLoop] = plan!.forward.stages;
    const [bwdLoop, dW, dX, fill] = plan!.backward.stages;
    // The loop reads the hoisted projections; the weight gradients read the loop's adjoints.
    expect(stageNeedsBarrier([fwdAll!], fwdLoop!, plan!.buffers)).toBe(true);
    expect(stageNeedsBarrier([bwdLoop!], dW!, plan!.buffers)).toBe(true);
    // d_x = d_proj_h · W reads the loop's adjoints too, but nothing the weight gradients write.
    expect(stageNeedsBarrier([dW!], dX!, plan!.buffers)).toBe(false);
    expect(stageNeedsBarrier([bwdLoop!, dW!], dX!, plan!.buffers)).toBe(true);
    // Zeroing d_x after the stage that writes it must wait; a stage writing what one read, too.
    expect(stageNeedsBarrier([dW!, dX!], fill!, plan!.buffers)).toBe(true);
    expect(stageNeedsBarrier([dW!], bwdLoop!, plan!.buffers)).toBe(true);
  });
});

describe("the threads option", () => {
  it("is checked: a whole number from 1 to 64, on forward and backward; TypeScript kernels take it and run on one", async () => {
    const spec = "examples/specs/gru.cell";
    for (const target of ["wasm", "ts"] as const) {
      const k = await loadCellFile(spec, { dims: { I: 2, H: 3 }, target });
      const params = k.createParams();
      const x = new Float32Array(2 * 3 * 2);
      for (const [bad, shown] of [[0, "0"], [1.5, "1.5"], [65, "65"], ["2", 'the string "2"'], [null, "null"]] as const) {
        expect(() => k.forward(params, { x }, { batchSize: 3, threads: bad as number })).toThrow(`gru.forward: options.threads must be a whole number from 1 to 64, got ${shown}`);
      }
      const f = k.forward(params, { x }, { batchSize: 3, threads: 2 });
      expect(() => k.backward(params, f.tape, {}, { threads: 0 })).toThrow("gru.backward: options.threads must be a whole number from 1 to 64, got 0");
      expect(k.backward(params, f.tape, {}, { threads: 2 }).params["W_z"]!.length).toBe(3 * 2);
      if (target === "ts") expect(k.meta.threads).toBeUndefined();
    }
  });

  it("a module built with threads 2 runs forward, backward and step on two; results as on one", async () => {
    const spec = "examples/specs/lstm.cell";
    const two = (await loadCellFile(spec, { dims: { I: 4, H: 8 }, target: "wasm", threads: 2 })) as Kernel;
    const one = (await loadCellFile(spec, { dims: { I: 4, H: 8 }, target: "wasm" })) as Kernel;
    expect(two.meta.threads).toBe(2);
    const c: Case = { T: 3, B: 6, seed: 4 };
    const a = run(two, c, undefined);
    expect(two.threadsUsed!()).toBe(2); // backward ran on forward's count
    expect(differences(run(one, c, undefined), a)).toEqual([]);
    expect(differences(run(two, c, 1), a)).toEqual([]);
    // step: the module's default.
    const steps = (k: Kernel) => {
      const params = k.createParams();
      const rng = new Rng(8);
      for (const p of k.meta.params) params[p.name]!.set(Float32Array.from({ length: p.size }, () => rng.uniform(-0.5, 0.5)));
      const state = k.createState(6);
      const out = [0, 1, 2].flatMap(() => Array.from(k.step(params, { x: Float32Array.from({ length: 6 * 4 }, () => rng.uniform(-1, 1)) }, state, 6)["h"]!));
      return [...out, ...Array.from(state["h"]!), ...Array.from(state["c"]!)];
    };
    expect(differences(steps(one), steps(two))).toEqual([]);
    expect(two.threadsUsed!()).toBe(2);
  });
});

describe("the recurrent layer's threads (runtime/threads.ts)", () => {
  const meta = (paramCount: number, threads?: number) => ({ paramCount, ...(threads !== undefined ? { threads } : {}) }) as CellKernel["meta"];
  it('"auto" uses the cores for calls with enough work, by samples or (large steps) by columns; one thread otherwise', () => {
    const big = meta(400_000, 1);
    expect(threadsFor("auto", big, 100, 64, 2)).toBe(2);
    expect(threadsFor("auto", big, 100, 64, 16)).toBe(8); // at most 8, and 8 samples each
    expect(threadsFor("auto", big, 100, 24, 16)).toBe(3);
    expect(threadsFor("auto", big, 100, 64, 1)).toBeUndefined(); // one core
    expect(threadsFor("auto", meta(100_000, 1), 100, 8, 4)).toBeUndefined(); // few samples, small steps (800K)
    expect(threadsFor("auto", big, 100, 8, 4)).toBe(4); // few samples, large steps: by columns
    expect(threadsFor("auto", meta(1_000_000, 1), 100, 2, 16)).toBe(4); // at most 4 by columns
    expect(threadsFor("auto", meta(1_000, 1), 10, 64, 4)).toBeUndefined(); // too little work
    expect(threadsFor("auto", meta(Math.ceil(AUTO_MIN_WORK / 640), 1), 10, 64, 2)).toBe(2);
    expect(threadsFor("auto", meta(400_000), 100, 64, 4)).toBeUndefined(); // a kernel without threads
    expect(threadsFor(3, big, 1, 1, 1)).toBe(3); // a number is passed as it is
  });
});

describe("a thread that fails", () => {
  const children = new Set<ChildProcess>();
  afterAll(() => children.forEach((c) => c.kill()));
  /** Runs calls ("T:threads") on test/helpers/team-death.ts's Team in a child process; each call's
   *  [threads used, slots] or { error }. A call that hangs ends in this test's timeout. */
  const calls = (...list: string[]) =>
    new Promise<unknown[]>((resolve, reject) => {
      const child = execFile(process.execPath, ["--import", "tsx", "test/helpers/team-death.ts", ...list], { encoding: "utf8" }, (err, stdout, stderr) => {
        children.delete(child);
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown));
      });
      children.add(child);
    });
  const ok = (threads: number) => [threads, 1, 2, threads > 2 ? 3 : 0];

  it("that traps is an error of the call, not a hang, and the next call runs normally", async () => {
    expect(await calls("0:3", "1:2", "2:2", "0:2")).toEqual([
      ok(3),
      { error: expect.stringMatching(/^a worker thread failed: .*unreachable/) },
      { error: expect.stringMatching(/unreachable/) },
      ok(2),
    ]);
  });

  it("that dies during a call makes the call throw, naming it; the next call starts a new thread and runs normally", async () => {
    const died = { error: "a worker thread failed: worker thread 1 stopped during the call (exit code 7)" };
    // On two threads, the barrier worker 0 waits at is released too.
    expect(await calls("0:3", "3:3", "0:3", "3:2", "0:2")).toEqual([ok(3), died, ok(3), died, ok(2)]);
  });

  it("that dies while idle is replaced: the next call runs normally", async () => {
    // Each time worker 1 ends after its share; the next call either finds it gone or claims it
    // before its end is noticed (then a new worker takes its share in that call).
    const rounds = Array.from({ length: 6 }, () => ["4:3", "0:3"]).flat();
    expect(await calls(...rounds)).toEqual(rounds.map(() => ok(3)));
  });

  it("that leaves idle is started again, also when the next call comes before its exit is noticed", async () => {
    // Worker 1 leaves as after IDLE_MS without work, at once; the next call starts a new worker
    // in its place, usually before the old one's exit reaches the supervisor.
    const rounds = Array.from({ length: 6 }, () => ["5:3", "0:3"]).flat();
    expect(await calls(...rounds)).toEqual(rounds.map(() => ok(3)));
  });
});
