// Driving PyTorch from the tests: which Python has torch (Debian's python3-torch installs it for
// /usr/bin/python3; CELLC_PYTHON overrides), and running a Python script over a JSON job file in
// one subprocess. When torch cannot be had the tests that need it are skipped, named with the reason.

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TorchEnv {
  python: string;
  version: string;
}

let found: TorchEnv | string | undefined;

/** The Python with torch, or why there is none. */
export function findTorch(): TorchEnv | string {
  if (found !== undefined) return found;
  const python = process.env["CELLC_PYTHON"] ?? "/usr/bin/python3";
  try {
    const version = execFileSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
    found = { python, version };
  } catch (e) {
    const why = (e as { stderr?: string }).stderr?.toString().trim().split("\n").pop() ?? (e as Error).message;
    found = `${python} cannot import torch (${why}); install it with: apt-get install -y python3-torch`;
  }
  return found;
}

/** A test's or suite's name, saying why it is skipped when torch cannot be had: used with
 *  skipIf(typeof torch === "string"), vitest then lists it as skipped with the reason, never as
 *  a pass. */
export function torchName(name: string, torch: TorchEnv | string): string {
  return typeof torch === "string" ? `${name} (skipped: ${torch})` : name;
}

/** A scratch directory for generated modules and job files, removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `script jobs.json results.json` and returns the parsed results. */
export function runJobs<R>(env: TorchEnv, script: string, jobs: unknown, dir: string, timeoutMs = 600_000): Promise<{ torch: string; results: R[] }> {
  const jobFile = join(dir, "jobs.json");
  const resultFile = join(dir, "results.json");
  writeFileSync(jobFile, JSON.stringify(jobs));
  return new Promise((resolve, reject) => {
    execFile(env.python, [script, jobFile, resultFile], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(readFileSync(resultFile, "utf8")) as { torch: string; results: R[] });
    });
  });
}
