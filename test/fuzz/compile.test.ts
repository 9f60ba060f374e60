// Fixed-seed slice of the differential fuzzer (`npm run fuzz -- --kind compile` runs any amount):
// random well-typed cells and stacks, built optimised and plain in float64, agree with each other,
// with central finite differences (also with lengths and state masks) and with repeated `step`;
// a sample of their modules passes tsc --strict. Where python3 with torch exists each program's
// PyTorch module joins in float64 (torch-build.ts); the fuzz output says when it is skipped.

import { test } from "@fast-check/vitest";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { findTorch, torchName } from "../helpers/torch.ts";
import { closeTorch, defaultTorchBuild, type TorchBuild } from "./torch-build.ts";
import { functionNames } from "../../compiler/functions.ts";
import { tapeArb } from "./choices.ts";
import { generateProgram, GENERATED_FUNCTIONS } from "./gen-cell.ts";
import { KINDS } from "./kinds.ts";
import { plainNames } from "./names.ts";
import { emptyStats, sliceProperty } from "./slice.ts";
import { typeCheck } from "./tsc.ts";
import fc from "fast-check";
import type { CellKernel } from "../../abi/kernel.ts";
import { BUILDS, type Build } from "./builds.ts";
import { compileCase } from "./compile-prop.ts";

const stats = emptyStats();
const torch = findTorch();
afterAll(closeTorch);

/** The first line `npm run fuzz` prints about its torch build (the run is stopped once it has). */
function torchLine(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fuzz/run.ts", "--kind", "compile", "--cases", "1", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (!line.includes("torch build:")) return;
      resolve(line);
      child.kill();
    });
    child.on("exit", (code) => reject(new Error(`npm run fuzz ended (${code}) without a torch build line`)));
  });
}

describe("compile fuzz slice", () => {
  it("the generator calls every function of the language and reaches every feature", () => {
    expect([...GENERATED_FUNCTIONS].sort()).toEqual([...functionNames].sort());
    const seen = new Set<string>();
    for (const t of fc.sample(tapeArb(), { seed: 5, numRuns: 300 })) for (const f of generateProgram(t, { names: plainNames() }).features) seen.add(f);
    for (const f of [...GENERATED_FUNCTIONS, "matvec", "slice", "local", "scalar constant", "no inputs", "several inputs", "several outputs", "stack", "nested stack", "param vector", "repeated subexpression", "matrix state", "matrix local", "matrix times vector", "matrix product", "matrix elementwise", "scalar state", "[1] broadcast", "size as number"]) {
      expect(seen.has(f), f).toBe(true);
    }
  });

  test.prop([KINDS.compile.arb], { seed: 20261130, numRuns: 16 })("compile: 16 random programs through every build", sliceProperty("compile", stats, 4), 300_000);

  it("a threaded build that differs from its one-thread twin in the last bit is a mismatch", async () => {
    const prog = { text: "cell c(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I], U: [H, H]\n  h' = tanh(W @ x + U @ h)\n  output h'\n}\n", dims: { I: 2, H: 3 }, unit: "c", features: new Set<string>() };
    expect((await compileCase(prog)).outcome).toBe("pass");
    // The threaded build, with its outputs nudged by one ulp: within every tolerance but the twin's.
    const threaded = BUILDS.find((b) => b.sameAs !== undefined)!;
    const nudged: Build = {
      ...threaded,
      async build(text, dims, unit) {
        const r = await threaded.build(text, dims, unit);
        if (!("kernel" in r)) return r;
        const k = r.kernel;
        const forward: CellKernel["forward"] = (p, i, o) => {
          const f = k.forward(p, i, o);
          const h = f.outputs["h"]!;
          h[0] = h[0]! + Math.abs(h[0]!) * 2 ** -52;
          return f;
        };
        return { code: r.code, kernel: { ...k, meta: k.meta, forward } as CellKernel };
      },
    };
    const v = await compileCase(prog, { builds: BUILDS.map((b) => (b === threaded ? nudged : b)) });
    expect(v.outcome).toBe("mismatch");
    expect(v.message).toMatch(/webassembly optimised, 2 threads vs webassembly optimised \(must be bit for bit\): outputs\.h\[0\]/);
  });

  it.skipIf(typeof torch === "string")(torchName("the slice compared the PyTorch module of every program it built", torch), () => {
    const built = stats.passed - (stats.totals["rejected"] ?? 0);
    expect(built).toBeGreaterThan(12);
    expect(stats.totals["torch comparisons"]).toBe(2 * built);
  });

  it.skipIf(typeof torch === "string")(torchName("a torch build that computes something else is a mismatch", torch), async () => {
    const prog = { text: "cell c(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I], U: [H, H]\n  h' = tanh(W @ x + U @ h)\n  output h'\n}\n", dims: { I: 2, H: 3 }, unit: "c", features: new Set<string>() };
    const good = await compileCase(prog);
    expect(good.outcome).toBe("pass");
    expect(good.stats?.["torch comparisons"]).toBe(2);
    const real = defaultTorchBuild()!;
    const wrong: TorchBuild = {
      ...real,
      async build(text, dims, unit) {
        const r = await real.build(text, dims, unit);
        if (!("code" in r)) return r;
        const code = r.code.replace(/torch\.tanh\(/g, "torch.sigmoid(");
        expect(code).not.toBe(r.code);
        return { code };
      },
    };
    const v = await compileCase(prog, { torch: wrong });
    expect(v.outcome).toBe("mismatch");
    expect(v.message).toMatch(/^torch \(float64\) vs typescript optimised: outputs\.h\[0\]: /);
  });

  it("npm run fuzz says when the torch build is skipped, and why", async () => {
    expect(await torchLine([], { CELLC_PYTHON: "/nonexistent/python3" })).toMatch(/^  torch build: SKIPPED — \/nonexistent\/python3 cannot import torch \(.*\); install it with: apt-get install -y python3-torch; the cells are not checked against their PyTorch modules$/);
    expect(await torchLine(["--no-torch"], {})).toBe("  torch build: SKIPPED — --no-torch; the cells are not checked against their PyTorch modules");
  }, 120_000);

  it("the slice checked real gradients, and its sampled modules pass tsc --strict", () => {
    expect(stats.passed).toBeGreaterThan(12);
    expect(stats.totals["checked"] ?? 0).toBeGreaterThan(1000);
    expect(stats.modules.length).toBeGreaterThan(2);
    expect(typeCheck(stats.modules)).toEqual([]);
  });
});
