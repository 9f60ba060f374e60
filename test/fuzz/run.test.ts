// The fuzz runner's command line: a bad flag is a usage error (exit 2); a small run prints its
// summary, and a failure is written as a shrunk .cell file with a line saying what failed.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const run = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "test/fuzz/run.ts", ...args], { encoding: "utf8", timeout: 120_000 });

describe("npm run fuzz", () => {
  it("rejects a bad flag with the usage and exit status 2", () => {
    for (const args of [["--bogus"], ["--cases", "0"], ["--kind", "parse"]]) {
      const r = run(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: npm run fuzz");
    }
  });

  it("runs a few check cases and prints the summary", () => {
    const out = mkdtempSync(path.join(tmpdir(), "cellc-fuzz-run-"));
    try {
      const r = run(["--kind", "check", "--cases", "20", "--seed", "3", "--out", out, "--shrink-ms", "1000"]);
      expect(r.stdout).toMatch(/fuzz check: 20 cases in [\d.]+ s \([\d.]+ cases\/s\): \d+ passed, \d+ discarded, \d+ crashes, \d+ hangs, \d+ slow, \d+ mismatches/);
      expect(r.stdout).toMatch(/slowest: case \d+, \d+ ms/);
      // Whatever failed (a known front-end failure may), it is on disk as a .cell and a .txt.
      const files = readdirSync(out);
      expect(files.filter((f) => f.endsWith(".cell")).length).toBe(files.filter((f) => f.endsWith(".txt")).length);
      for (const f of files.filter((x) => x.endsWith(".txt"))) expect(readFileSync(path.join(out, f), "utf8")).toMatch(/^(crash|mismatch|slow|hang): /);
      expect(r.status).toBe(files.length > 0 ? 1 : 0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
