// Fused multiply-add in WebAssembly kernels (compile option `fma`): with relaxed SIMD (Node 20
// under --experimental-wasm-relaxed-simd, in a child process as a user would run it) the "auto"
// build runs its FMA binary, agrees with the TypeScript kernel as closely as the plain build does
// (FMA rounds once per multiply-add, so its numbers differ from the plain build's in the last
// bits, and do differ), and stays bit for bit the same on 1, 2 and 4 threads. Without relaxed
// SIMD, "auto" runs the plain binary (bit for bit the "off" build) and "on" falls back to the
// TypeScript kernel.

import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CellKernel } from "../abi/kernel.ts";
import { loadCellFile } from "../driver/index.ts";
import { relaxedSimdSupported } from "../backends/wasm/support/heap.ts";

const specDirs = ["examples/specs", "test/specs"];
const specs = specDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => `${d}/${f}`));

/** The float32 tolerance both WebAssembly builds meet against the TypeScript kernel: |a - b| / (1 + |b|). */
const TOLERANCE = 2e-4;

interface Report {
  spec: string;
  fma: [string, boolean];
  plain: [string, boolean];
  fmaVsTs: number;
  plainVsTs: number;
  changed: number;
  count: number;
  sameBits: boolean[];
}

function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", "test/helpers/fma-child.ts", ...args], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe("FMA builds under node --experimental-wasm-relaxed-simd", () => {
  it("every spec: the FMA binary runs, within the plain build's tolerance of the TypeScript kernel, the same bits on 1, 2 and 4 threads", async () => {
    const reports = (await child(specs)).trim().split("\n").map((l) => JSON.parse(l) as Report);
    expect(reports.map((r) => r.spec)).toEqual(specs);
    let changed = 0;
    for (const r of reports) {
      expect(r.fma, r.spec).toEqual(["wasm", true]);
      expect(r.plain, r.spec).toEqual(["wasm", false]);
      expect(r.fmaVsTs, r.spec).toBeLessThan(TOLERANCE);
      expect(r.plainVsTs, r.spec).toBeLessThan(TOLERANCE);
      expect(r.sameBits, r.spec).toEqual([true, true]);
      changed += r.changed;
    }
    // FMA really ran: the GEMMs' roundings moved numbers (the LSTM's most of them).
    const lstm = reports.find((r) => r.spec === "examples/specs/lstm.cell")!;
    expect(lstm.changed).toBeGreaterThan(lstm.count / 4);
    expect(changed).toBeGreaterThan(0);
  }, 600_000);
});

// This process (vitest's worker) runs without the flag; on an engine with relaxed SIMD by default
// (Node ≥ 22) there is nothing to fall back from.
describe.skipIf(relaxedSimdSupported())("FMA builds without relaxed SIMD (skipped where the engine has it by default: no fallback to see)", () => {
  it('"auto" runs the plain binary, bit for bit the "off" build; "on" falls back to the TypeScript kernel', async () => {
    const dims = { I: 5, H: 7 };
    const spec = "examples/specs/lstm.cell";
    const auto = await loadCellFile(spec, { dims, target: "wasm" });
    const off = await loadCellFile(spec, { dims, target: "wasm", fma: "off" });
    const on = await loadCellFile(spec, { dims, target: "wasm", fma: "on" });
    const meta = (k: CellKernel) => [k.meta.backend, (k.meta as { fma?: boolean }).fma];
    expect(meta(auto)).toEqual(["wasm", false]);
    expect(meta(off)).toEqual(["wasm", false]);
    expect(meta(on)).toEqual(["ts", undefined]);
    const x = Float32Array.from({ length: 4 * 3 * 5 }, (_, i) => Math.sin(i));
    const params = auto.createParams({ seed: 3 });
    const outs = [auto, off, on].map((k) => k.forward(params, { x }, { batchSize: 3 }).outputs["h"]!);
    expect(Array.from(outs[0]!)).toEqual(Array.from(outs[1]!));
    // The TypeScript fallback: the same numbers within float32 rounding.
    outs[2]!.forEach((v, i) => expect(Math.abs(v - outs[1]![i]!)).toBeLessThan(1e-5));
  });

  it("an unknown fma mode is a clear error", async () => {
    await expect(loadCellFile("examples/specs/gru.cell", { dims: { I: 2, H: 3 }, target: "wasm", fma: "yes" as "on" })).rejects.toThrow('fma must be one of "auto", "on", "off", got "yes"');
  });
});
