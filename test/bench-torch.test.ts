// `npm run bench:torch`'s own logic, checked without timing anything: its flags (a bad one is a
// usage error, and the script answers it with exit 2), the statistics behind every figure, the
// markdown table, and the warning when torch runs on the reference BLAS. Then the Python side at a
// tiny size: each hand-written reference equals cellc's module (float64) and is timed, and a
// module that computes something else is caught before any timing.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../driver/index.ts";
import { findTorch, runJobs, scratchDir, torchName, type TorchEnv } from "./helpers/torch.ts";
import { parseTorchArgs, resolveThreads, UsageError } from "./bench/torch-args.ts";
import { blasWarning, failures, ratio, summarize, timeCell, torchTable, wasmKey, type TorchRun } from "./bench/torch-report.ts";
import { TORCH_CELLS } from "./bench/torch-args.ts";

describe("bench:torch flags", () => {
  it("defaults to every size, cell and mode, 1 thread and all, 9 rounds, the wasm kernel beside", () => {
    const o = parseTorchArgs([]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.sizes.map((s) => s.name)).toEqual(["S1", "S2", "S3"]);
    expect(o.sizes.find((s) => s.name === "S2")).toMatchObject({ T: 50, B: 32, I: 64, H: 128 });
    expect(o.cells.map((c) => c.name)).toEqual(["lstm", "gru", "mgu", "slstm"]);
    expect(o.modes).toEqual(["forward", "train"]);
    expect(o.threads).toEqual([1, "all"]);
    expect(o.rounds).toBe(9);
    expect(o.wasm).toBe(true);
  });

  it("selects sizes, cells, threads and rounds; nn.GRU is timed against gru_reset_after.cell", () => {
    const o = parseTorchArgs(["--sizes", "s2,S3", "--cells=GRU,mgu", "--threads", "2,all,2", "--rounds", "5", "--modes", "train", "--no-wasm", "--json", "/tmp/t.json"]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.sizes.map((s) => s.name)).toEqual(["S2", "S3"]);
    expect(o.cells.map((c) => c.spec)).toEqual(["examples/specs/gru_reset_after.cell", "test/bench/specs/mgu.cell"]);
    expect(o.threads).toEqual([2, "all"]);
    expect(o.rounds).toBe(5);
    expect(o.modes).toEqual(["train"]);
    expect(o.wasm).toBe(false);
    expect(o.json).toBe("/tmp/t.json");
    expect(resolveThreads(o.threads, 2)).toEqual([2]);
    expect(resolveThreads([1, "all"], 8)).toEqual([1, 8]);
  });

  it("rejects unknown flags and bad values as usage errors", () => {
    expect(() => parseTorchArgs(["--fast"])).toThrow(UsageError);
    expect(() => parseTorchArgs(["--cells", "lstm,tcn"])).toThrow(/unknown cell "tcn" \(choose from lstm, gru, mgu, slstm\)/);
    expect(() => parseTorchArgs(["--sizes", "S4"])).toThrow(/unknown size "S4"/);
    expect(() => parseTorchArgs(["--threads", "0"])).toThrow(/whole numbers from 1 to 256 or "all", got "0"/);
    expect(() => parseTorchArgs(["--threads", "1.5"])).toThrow(UsageError);
    expect(() => parseTorchArgs(["--rounds", "2"])).toThrow(/from 3 to 1000, got "2"/);
    expect(() => parseTorchArgs(["--rounds"])).toThrow(/needs a value/);
    expect(parseTorchArgs(["-h"])).toBe("help");
  });

  it("the script answers a bad flag with the usage and exit 2", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "test/bench/torch.ts", "--threads", "none"], { encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: --threads takes whole numbers/);
    expect(r.stderr).toContain("Usage: npm run bench:torch");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("bench:torch statistics", () => {
  it("summarizes rounds by their median and half the interquartile range over the median", () => {
    // Sorted 1..5: median 3, quartiles 2 and 4 (linear interpolation): spread (4 - 2) / 2 / 3.
    expect(summarize([5, 1, 4, 2, 3])).toEqual({ median: 3, spread: 1 / 3 });
    // Even counts interpolate: 10, 20, 30, 40 -> median 25, quartiles 17.5 and 32.5.
    expect(summarize([40, 10, 30, 20])).toEqual({ median: 25, spread: 0.3 });
    expect(timeCell([5, 1, 4, 2, 3])).toBe("3.00 ±33%");
    expect(timeCell([250, 260, 255])).toBe("255 ±1%");
    expect(timeCell(undefined)).toBe("—");
    expect(ratio([10, 12, 11], [4, 5, 6])).toBe("2.20×");
    expect(ratio([1], [])).toBe("—");
  });
});

describe("bench:torch table", () => {
  const run: TorchRun = {
    torch: "1.13",
    blas: { kind: "OpenBLAS", libraries: ["/usr/lib/libopenblas.so.0"], buildInfo: "BLAS_INFO=generic", mkldnn: true },
    threads: [1, 2],
    defaultThreads: 1,
    results: [
      {
        cell: "lstm",
        size: "S2",
        check: { outputs: 1e-16, gradients: 2e-16 },
        times: {
          "1": { cellc: { forward: [30, 31, 29], train: [260, 262, 258] }, "cellc-jit": { forward: [20], train: [200] }, ref: { forward: [10, 10, 10], train: [43, 44, 42] } },
          "2": { cellc: { forward: [20] }, ref: { forward: [8] } },
        },
        errors: {},
      },
      { cell: "mgu", size: "S2", times: { "1": { cellc: { forward: [12] }, ref: { forward: [6] } } }, errors: { "cellc-jit": "torch.jit.script failed: NotSupportedError: autograd.Function" } },
      { cell: "slstm", size: "S2", errors: {}, error: "AssertionError: TorchScript loop disagrees with cellc's module in float64: outputs/final states differ by 0.3" },
    ],
  };
  const wasm = { [wasmKey("lstm", "S2", 1, "train")]: [54, 55, 53] };

  it("has a row per cell, size and step, the reference named, the ratios of medians and the wasm kernel", () => {
    const t = torchTable(run, wasm, 1, TORCH_CELLS, ["forward", "train"]).split("\n");
    expect(t[0]).toBe("| cell | size | step | cellc module (ms) | cellc module, jit.script (ms) | reference | reference (ms) | module ÷ ref | jit ÷ ref | cellc wasm kernel (ms) |");
    expect(t[2]).toBe("| lstm | S2 | forward | 30.0 ±2% | 20.0 ±0% | nn.LSTM | 10.0 ±0% | 3.00× | 2.00× | — |");
    expect(t[3]).toBe("| lstm | S2 | train | 260 ±0% | 200 ±0% | nn.LSTM | 43.0 ±1% | 6.05× | 4.65× | 54.0 ±1% |");
    expect(t[4]).toBe("| mgu | S2 | forward | 12.0 ±0% | — | TorchScript loop | 6.00 ±0% | 2.00× | — | — |");
    expect(t[6]).toMatch(/^\| slstm \| S2 \| — \| not timed: AssertionError: TorchScript loop disagrees/);
    expect(t).toContain("- mgu S2, cellc-jit: torch.jit.script failed: NotSupportedError: autograd.Function");
    // The 2-thread table takes the 2-thread times.
    expect(torchTable(run, wasm, 2, TORCH_CELLS, ["forward"]).split("\n")[2]).toBe("| lstm | S2 | forward | 20.0 ±0% | — | nn.LSTM | 8.00 ±0% | 2.50× | — | — |");
    expect(failures(run)).toEqual(["slstm S2: AssertionError: TorchScript loop disagrees with cellc's module in float64: outputs/final states differ by 0.3"]);
  });

  it("warns loudly on the reference BLAS, not on OpenBLAS", () => {
    expect(blasWarning(run.blas)).toBeUndefined();
    const w = blasWarning({ ...run.blas, kind: "reference BLAS", libraries: ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"] });
    expect(w).toMatch(/^WARNING: torch runs on the reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\).*meaningless.*libopenblas0-pthread/);
  });
});

const torch = findTorch();

describe.skipIf(typeof torch === "string")(torchName("bench:torch's Python side (torch_bench.py)", torch), () => {
  const scratch = scratchDir("cellc-bench-torch-test-");
  afterAll(() => scratch.remove());
  const size = { name: "tiny", T: 4, B: 3, I: 3, H: 5 };

  it("checks every reference against cellc's module before timing, and refuses a wrong module", async () => {
    const cases = [];
    for (const cell of TORCH_CELLS) {
      const r = await compile(readFileSync(cell.spec, "utf8"), { file: cell.spec, dims: { I: size.I, H: size.H }, target: "torch" });
      if (!r.module) throw new Error(`${cell.spec} does not build`);
      const file = join(scratch.dir, `${cell.name}.py`);
      writeFileSync(file, r.module.code);
      cases.push({ cell: cell.name, module: file, size, modes: ["forward", "train"], minMs: 1 });
    }
    // The lstm module with its output gate's sigmoid turned into a tanh, in every helper that computes it (masked and unmasked): a different cell.
    const lstm = readFileSync(cases[0]!.module, "utf8");
    const wrong = lstm.replace(/o = torch\.sigmoid\(/g, "o = torch.tanh(");
    expect(wrong).not.toBe(lstm);
    writeFileSync(join(scratch.dir, "wrong.py"), wrong);
    cases.push({ ...cases[0]!, module: join(scratch.dir, "wrong.py") });
    const out = (await runJobs<never>(torch as TorchEnv, "test/bench/torch_bench.py", { threads: [1], rounds: 3, cases }, scratch.dir)) as unknown as TorchRun;
    expect(out.blas.kind).not.toBe("");
    for (const r of out.results.slice(0, 4)) {
      expect(r.error, r.cell).toBeUndefined();
      expect(r.check!.outputs, r.cell).toBeLessThan(1e-12);
      expect(r.check!.gradients, r.cell).toBeLessThan(1e-12);
      for (const peer of ["cellc", "cellc-jit", "ref"]) {
        for (const mode of ["forward", "train"] as const) {
          const t = r.times!["1"]![peer]![mode]!;
          expect(t, `${r.cell} ${peer} ${mode}`).toHaveLength(3);
          expect(t.every((v) => v > 0), `${r.cell} ${peer} ${mode}`).toBe(true);
        }
      }
    }
    const bad = out.results[4]!;
    expect(bad.times).toBeUndefined();
    expect(bad.error).toMatch(/^AssertionError: nn\.LSTM disagrees with cellc's module in float64: outputs\/final states differ by /);
  }, 300_000);
});
