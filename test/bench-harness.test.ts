// The benchmark harness's own logic, checked without timing anything: flag parsing (a bad flag is a
// usage error), the FLOP count behind every GFLOP/s figure, and the markdown report's ratios.
import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "./bench/args.ts";
import { CELLS, SIZES, matmulFlops, type Measurement } from "./bench/config.ts";
import { markdown, type BenchResult } from "./bench/report.ts";

describe("bench flags", () => {
  it("defaults to every size, cell, mode and every peer but cellc-noopt", () => {
    const o = parseArgs([]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.sizes.map((s) => s.name)).toEqual(["S1", "S2", "S3"]);
    expect(o.cells.map((c) => c.name)).toEqual(["lstm", "gru"]);
    expect(o.peers).toEqual(["cellc", "cellc-wasm", "cellc-wasm-fma", "cellc-wasm-2t", "tfjs-cpu", "tfjs-wasm", "ort-web", "ort-web-2t", "ort-node", "ort-node-2t", "handwritten"]);
    expect(o.runs).toBe(5);
  });

  it("selects sizes, peers and modes, with --flag value or --flag=value", () => {
    const o = parseArgs(["--sizes", "S2,s3", "--peers=cellc,tfjs-wasm", "--modes", "train", "--runs", "9", "--out", "/tmp/x"]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.sizes.map((s) => s.name)).toEqual(["S2", "S3"]);
    expect(o.peers).toEqual(["cellc", "tfjs-wasm"]);
    expect(o.modes).toEqual(["train"]);
    expect(o.runs).toBe(9);
    expect(o.outDir).toBe("/tmp/x");
  });

  it("--quick keeps S1 and S2", () => {
    const o = parseArgs(["--quick"]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.sizes.map((s) => s.name)).toEqual(["S1", "S2"]);
  });

  it("rejects unknown flags and bad values as usage errors", () => {
    expect(() => parseArgs(["--fast"])).toThrow(UsageError);
    expect(() => parseArgs(["--sizes", "S4"])).toThrow(/unknown size "S4"/);
    expect(() => parseArgs(["--runs", "3"])).toThrow(/at least|>= 5/);
    expect(() => parseArgs(["--peers"])).toThrow(/needs a value/);
    expect(parseArgs(["--help"])).toBe("help");
  });
});

describe("FLOP count", () => {
  it("is 2·G·(I+H)·B·T for a forward, three times that for a training step", () => {
    const lstm = CELLS.find((c) => c.name === "lstm")!;
    const gru = CELLS.find((c) => c.name === "gru")!;
    const S2 = SIZES.find((s) => s.name === "S2")!;
    // LSTM S2: G = 4·128 = 512 rows, I + H = 192, B·T = 1600.
    expect(matmulFlops(lstm, S2, "forward")).toBe(2 * 512 * 192 * 1600);
    expect(matmulFlops(lstm, S2, "train")).toBe(3 * 2 * 512 * 192 * 1600);
    expect(matmulFlops(gru, S2, "forward")).toBe(2 * 384 * 192 * 1600);
  });
});

describe("markdown report", () => {
  const m = (peer: Measurement["peer"], medianMs: number): Measurement => ({
    peer, cell: "lstm", size: "S2", mode: "train", timesMs: [medianMs], medianMs, cpuMs: medianMs / 2, gflops: 1,
    peakRssMB: 100, peakMB: 20, capped: false,
  });
  const result: BenchResult = {
    machine: { cpu: "Test CPU", cores: 2, memoryGB: 8, node: "v20", platform: "linux x64", date: "2026-01-01T00:00:00Z", loadAverage: [0.5, 0, 0] },
    options: { sizes: ["S2"], cells: ["lstm"], peers: ["cellc", "tfjs-wasm"], modes: ["train"], runs: 5, warmup: 1, capSeconds: 300 },
    baselines: { cellc: 80, "tfjs-wasm": 170 },
    peerNotes: {},
    gemm: [{ label: "256x256x256", m: 256, n: 256, k: 256, ms: 10, cpuMs: 10, gflops: 4, cpuGflops: 4, runs: 5 }],
    builds: [],
    measurements: [m("cellc", 40), m("tfjs-wasm", 320)],
    skipped: [],
  };

  it("puts peers side by side with the speed-up over tfjs-wasm and the machine line", () => {
    const md = markdown(result);
    expect(md).toContain("Test CPU, 2 cores");
    expect(md).toContain("| lstm | S2 | train | 40 ms · 1.00 GF/s | 320 ms · 1.00 GF/s | 8.0× |");
    // By CPU time (half the wall time here) cellc reaches 2 GF/s, half the reference GEMM's 4.
    expect(md).toContain("| lstm | S2 | train | 20 ms | 160 ms | 8.0× | 50% |");
    expect(md).toContain("| lstm | S2 | train | 20 MB | 20 MB |");
  });
});
