// The installed `cellc` bin (node_modules/.bin/cellc from the packed tarball, plain node, a fresh
// process per command), every command a user runs: check, build for every target the registry
// lists (from flags and from a config; each module equal to what the sources write), export to
// ONNX (run by onnxruntime), a spec that is a FIFO or /dev/zero refused with CE301, a tiny study
// (equal to the same study from the sources), and watch for one rebuild.

import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, inject, it } from "vitest";
import { BACKENDS } from "../../backends/index.ts";
import { buildFile } from "../../driver/index.ts";
import { appFolder, cellc, installedApp, mguSpec, run } from "./app.ts";

describe("the installed package's files", () => {
  it("ships every backend's declared runtime assets, dist only", () => {
    const files = inject("packedFiles");
    for (const backend of BACKENDS.values()) {
      for (const a of backend.assets) expect(files.some((f) => f.startsWith(`dist/assets/${a.dir}/`) && f.endsWith(a.extension)), `${backend.name}: ${a.dir}`).toBe(true);
    }
    expect(files).toContain("dist/assets/backends/torch/support/weights.py");
    // No source file beside the compiled ones: a .ts there would shadow its .d.ts for a user's tsc.
    expect(files.filter((f) => f.startsWith("dist/") && !f.startsWith("dist/assets/") && f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files).toContain("dist/cellc.config.schema.json");
    expect(files.filter((f) => !f.startsWith("dist/") && f !== "package.json" && f !== "README.md")).toEqual([]);
  });
});

describe("installed cellc", () => {
  it("--version, check", async () => {
    const dir = appFolder("cli-check", { "specs/mgu.cell": mguSpec, "specs/bad.cell": mguSpec.replace("U_f @ h", "U_f @ hh") });
    expect((await cellc(["--version"], dir)).stdout.trim()).toBe(`cellc ${JSON.parse(readFileSync(join(installedApp(), "node_modules/cellc/package.json"), "utf8")).version}`);
    expect(await cellc(["check", "specs/mgu.cell"], dir)).toMatchObject({ code: 0, stdout: "checked 1 spec: no errors\n", stderr: "" });
    const bad = await cellc(["check", "specs/bad.cell"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error CE203: unknown name 'hh'");
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  for (const target of BACKENDS.keys()) {
    it(`build --target ${target} writes what the sources write`, async () => {
      const dir = appFolder(`cli-build-${target}`, { "specs/mgu.cell": mguSpec });
      const r = await cellc(["build", "specs/mgu.cell", "--dims", "I=3,H=8", "--target", target, "--out", "out"], dir);
      const ext = BACKENDS.get(target)!.extension;
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toContain(`wrote out/mgu_I3_H8.${ext} (mgu, I=3 H=8, 192 params`);
      const want = (await buildFile(join(dir, "specs/mgu.cell"), { dims: { I: 3, H: 8 }, target })).modules[0]!.code;
      expect(readFileSync(join(dir, `out/mgu_I3_H8.${ext}`), "utf8")).toBe(want);
    });

    it(`build from a config with "target": "${target}"`, async () => {
      const dir = appFolder(`cli-config-${target}`, {
        "specs/mgu.cell": mguSpec,
        "cellc.config.json": JSON.stringify({ $schema: "../node_modules/cellc/dist/cellc.config.schema.json", out: "gen", target, entries: [{ spec: "specs/mgu.cell", dims: { I: 2, H: 4 } }] }),
      });
      const r = await cellc(["build"], dir);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(existsSync(join(dir, `gen/mgu_I2_H4.${BACKENDS.get(target)!.extension}`))).toBe(true);
    });
  }

  it("export writes an ONNX model that onnxruntime runs", async () => {
    const dir = appFolder("cli-export", { "specs/mgu.cell": mguSpec });
    const r = await cellc(["export", "specs/mgu.cell", "--dims", "I=3,H=8", "--out", "mgu.onnx", "--seed", "3"], dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^wrote mgu\.onnx \([\d,]+ bytes\): mgu I=3 H=8, initialised with seed 3/);
    const session = await ort.InferenceSession.create(readFileSync(join(dir, "mgu.onnx")));
    const T = 4, B = 2;
    const x = new Float32Array(T * B * 3).map((_, i) => Math.sin(i));
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [T, B, 3]), [session.inputNames[1]!]: new ort.Tensor("int32", Int32Array.from([T, T]), [B]) });
    const h = out[session.outputNames[0]!]!;
    await session.release();
    expect(h.dims).toEqual([T, B, 8]);
    expect([...(h.data as Float32Array)].every((v) => Number.isFinite(v) && Math.abs(v) < 1)).toBe(true);
  });

  it("export refuses a spec that is a FIFO or /dev/zero (CE301, exit 1) instead of blocking or growing", async () => {
    const dir = appFolder("cli-export-fifo");
    const fifo = join(dir, "spec.cell");
    expect((await run("mkfifo", [fifo])).code).toBe(0);
    for (const spec of [fifo, "/dev/zero"]) {
      const r = await cellc(["export", spec, "--dims", "I=3,H=8", "--out", "x.onnx"], dir);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/error CE301: .*(a FIFO \(named pipe\)|a character device), not a regular file/);
      expect(existsSync(join(dir, "x.onnx"))).toBe(false);
    }
  });

  it("study (tiny) equals the same study from the sources", async () => {
    const dir = appFolder("cli-study", { "specs/mgu.cell": mguSpec });
    const r = await cellc(["study", "specs/mgu.cell", "--task", "charlm", "--T", "8", "--budget", "64", "--eval-every", "32", "--units", "3", "--seeds", "1", "--workers", "1", "--out", "study"], dir);
    expect({ code: r.code, err: r.stderr.split("\n").filter((l) => !l.startsWith("[")).join("\n").trim() }).toEqual({ code: 0, err: "" });
    expect(r.stdout).toContain("study 'charlm' (T = 8): 1 of 1 specs × 1 seeds, 64 sequences per run, H = 3");
    const fromPackage = JSON.parse(readFileSync(join(dir, "study/results.json"), "utf8")) as { runs: { status: string; curve: number[][]; final: number }[] };
    const { runStudy } = await import("../../studies/index.ts");
    const fromSource = await runStudy({ specs: [join(dir, "specs/mgu.cell")], task: "charlm", T: 8, budget: 64, evalEvery: 32, units: 3, seeds: 1, workers: 0, progress: false });
    expect(fromPackage.runs.map((x) => [x.status, x.curve, x.final])).toEqual(fromSource.runs.map((x) => [x.status, x.curve, x.final]));
    expect(fromPackage.runs[0]!.final).toBeGreaterThan(0);
  });

  it("build --watch rebuilds once when the spec changes, and exits 0 on SIGINT", async () => {
    const dir = appFolder("cli-watch", { "specs/mgu.cell": mguSpec });
    const child = spawn(join(installedApp(), "node_modules/.bin/cellc"), ["build", "specs/mgu.cell", "--dims", "I=3,H=8", "--out", "out", "--watch"], { cwd: dir });
    let stdout = "";
    let stderr = "";
    const waiters: { pattern: RegExp; from: number; resolve: (at: number) => void }[] = [];
    const settle = () => {
      for (const w of [...waiters]) {
        const m = w.pattern.exec(stdout.slice(w.from));
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(w.from + m.index + m[0].length);
        }
      }
    };
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      settle();
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Resolves when `pattern` appears in stdout after `from`; fails the test if cellc exits first.
    const output = (pattern: RegExp, from: number) =>
      Promise.race([
        new Promise<number>((resolve) => {
          waiters.push({ pattern, from, resolve });
          settle();
        }),
        exited.then((code) => Promise.reject(new Error(`cellc exited (${code}) before printing ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`))),
      ]);
    try {
      const at = await output(/watching 1 file for changes/, 0);
      expect(readFileSync(join(dir, "out/mgu_I3_H8.ts"), "utf8")).toContain("tanh");
      writeFileSync(join(dir, "specs/mgu.cell"), mguSpec.replace("n = tanh(", "n = sigmoid("));
      await output(/changed: specs\/mgu\.cell; rebuilding 1 spec\n[\s\S]*?wrote out\/mgu_I3_H8\.ts/, at);
      const want = (await buildFile(join(dir, "specs/mgu.cell"), { dims: { I: 3, H: 8 } })).modules[0]!.code;
      expect(readFileSync(join(dir, "out/mgu_I3_H8.ts"), "utf8")).toBe(want);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  });
});
