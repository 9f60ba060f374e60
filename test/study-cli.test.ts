// `cellc study` as a user runs it: the real bin in a child process for help, a bad flag and a tiny
// study with one spec that does not compile (its diagnostics, the table of the other, the report
// files, exit 1); every other usage error (exit 2 with the reason and the usage, an unknown task
// listing the known ones) through the command's own entry point in-process, to keep the test short.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { studyCommand } from "../cli/study.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "cli/bin/cellc.mjs");
const work = mkdtempSync(join(tmpdir(), "cellc-study-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cellc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 110_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

describe("cellc study: usage", () => {
  it("has help listing every task, and a line in the global help", async () => {
    const [help, viaHelp, global] = await Promise.all([cellc(["study", "--help"]), cellc(["help", "study"]), cellc(["--help"])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cellc study <specs\|dirs>\.\.\. --task NAME \[options\]/);
    for (const t of ["adding", "reber", "copy", "charlm", "sentiment"]) expect(help.stdout).toMatch(new RegExp(`^  ${t} +\\S`, "m"));
    expect(viaHelp.stdout).toBe(help.stdout);
    expect(global.stdout).toContain("study <specs>... --task NAME");
  });

  it("exits 2 with the reason and the usage for a bad flag, without a stack trace", async () => {
    const r = await cellc(["study", "examples/specs/rnn.cell", "--task", "adding", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith("cellc study: unknown option '--bogus'\n\nUsage: cellc study")).toBe(true);
    expect(r.stdout).toBe("");
  });

  it("says what is wrong with each bad invocation (in-process, same code as the bin)", async () => {
    const spec = "examples/specs/rnn.cell";
    const cases: Array<[string[], string]> = [
      [[spec, "--task", "nope"], "unknown task 'nope'; known tasks: adding, reber, copy, charlm, sentiment (or the path of a task file)"],
      [[spec], "missing --task NAME"],
      [["--task", "adding"], "missing spec files"],
      [[spec, "--task", "adding", "--seeds", "0"], "--seeds must be an integer >= 1, got '0'"],
      [[spec, "--task", "adding", "--budget", "1e3"], "--budget must be an integer >= 1, got '1e3'"],
      [[spec, "--task", "adding", "--lr", "fast"], "--lr must be a number > 0, got 'fast'"],
      [[spec, "--task", "adding", "--clip=-1"], "--clip must be a number >= 0, got '-1'"],
      [[spec, "--task", "adding", "--clip", "-1"], "--clip needs a value (one starting with '-' is written --clip=VALUE)"],
      [[spec, "--task", "adding", "--optimizer", "lion"], "--optimizer must be adam, rmsprop or sgd, got 'lion'"],
      [[spec, "--task", "adding", "--T", "12"], "T for task 'adding' must be an integer from 20 up (minimal sequence length (lengths T..T+T/10; the second mark lies in the first T/2)), got 12"],
      [[spec, "--task", "reber", "--T", "30"], "task 'reber' takes no T (it has no sequence length to set)"],
      [[spec, "--task", "adding", "--dims", "P"], "--dims expects NAME=N pairs with N a positive integer, got 'P'"],
      [[spec, "--task", "adding", "--seeds"], "--seeds needs a value"],
      [[spec, "--task", "adding", "--seeds", "2", "--seeds", "3"], "--seeds is given more than once"],
      [[spec, "--task", "adding", "--baseline", "lstm"], "baseline 'lstm' is not one of the specs (rnn)"],
      [["no/such.cell", "--task", "adding"], "no such file or directory: no/such.cell"],
      [["examples", "--task", "adding"], "no .cell files in examples"],
      [[spec, "--task", "adding", "--out", "README.md"], "cannot write the report to README.md: a file is in the way"],
    ];
    for (const [args, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await studyCommand(args, { out: (l) => out.push(l), err: (t) => err.push(t) });
      expect(code, args.join(" ")).toBe(2);
      expect(err.join("\n").split("\n\n")[0], args.join(" ")).toBe(`cellc study: ${message}`);
      expect(err.join("\n")).toContain("Usage: cellc study");
      expect(out).toEqual([]);
    }
  });
});

describe("cellc study: a tiny study", () => {
  it("prints the diagnostics of a spec that does not compile, the table of the others, writes the report, exits 1", async () => {
    const out = join(work, "report");
    const r = await cellc([
      "study", "examples/specs/rnn.cell", "test/fixtures/study/broken.cell",
      "--task", "adding", "--T", "20", "--budget", "64", "--eval-every", "32", "--units", "3", "--seeds", "2", "--workers", "2", "--out", out,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("test/fixtures/study/broken.cell:7:8 error CE207: unknown function 'tanhh'; did you mean 'tanh'?");
    expect(r.stderr).toContain("test/fixtures/study/broken.cell: did not compile; the other specs still run");
    // Not a terminal: one plain line per finished run, no control characters.
    expect(r.stderr).toMatch(/^\[1\/2\] rnn seed \d: mean \|err\| [\d.]+, success not reached, [\d.]+ s - ETA /m);
    expect(r.stderr).toMatch(/^\[2\/2\] rnn seed \d: /m);
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stdout).toContain("study 'adding' (T = 20): 1 of 2 specs × 2 seeds, 64 sequences per run, H = 3, adam 0.01, 2 workers");
    expect(r.stdout).toMatch(/^rnn +18 +[\d.]+ ± [\d.]+ +not reached +0 +[\d.]+ s +[\d.]+ s$/m);
    expect(r.stdout).toMatch(/^broken +- +did not compile/m);
    expect(r.stdout).toContain(`report: ${join(out, "report.md")}`);
    for (const f of ["report.md", "curves.svg", "curves-panels.svg", "results.json"]) expect(existsSync(join(out, f)), f).toBe(true);
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("cellc study examples/specs/rnn.cell test/fixtures/study/broken.cell --task adding --T 20");
    expect(md).toMatch(/load average \(1 \/ 5 \/ 15 min\) [\d.]+ \/ [\d.]+ \/ [\d.]+ at the start/);
  });
});
