// `npm run bench:versus`'s fused multiply-add flags, run as a user runs the script (a child process
// under plain node): a bad mode or a missing --target is a usage error, and `--base . --fma on
// --base-fma off` times this checkout's FMA kernel against its plain one in one process (the
// script reruns itself under --experimental-wasm-relaxed-simd where Node needs that flag, and
// fails if a kernel does not run the mode asked, so exit 0 says both ran as labelled).
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";

function versus(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "test/bench/versus.ts", ...args], { maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("bench:versus --fma", () => {
  it("a bad mode, or --fma without --target wasm, is a usage error (exit 2)", async () => {
    const bad = await versus(["--base", ".", "--target", "wasm", "--fma", "maybe"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --fma must be on, off or auto, got "maybe"');
    expect(bad.stderr).toContain("Usage: npm run bench:versus");
    const noTarget = await versus(["--base", ".", "--base-fma", "off"]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("error: --base-fma needs --target wasm");
  });

  it("times the FMA kernel against the plain one, each side labelled with its mode", async () => {
    const r = await versus(["--base", ".", "--target", "wasm", "--fma", "on", "--base-fma", "off", "--sizes", "S1", "--cells", "gru", "--modes", "forward", "--rounds", "5"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^this checkout: .*, fma on$/m);
    expect(r.stdout).toMatch(/^base: .*, fma off$/m);
    const row = r.stdout.match(/^\| gru \| S1 \| forward \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/m);
    expect(row).not.toBeNull();
    const [base, mine, ratio] = row!.slice(1).map(Number) as [number, number, number];
    expect(base).toBeGreaterThan(0);
    expect(mine).toBeGreaterThan(0);
    expect(ratio).toBeCloseTo(mine / base, 1);
  }, 180_000);
});
