// `tsc --noEmit --strict` over a sample of emitted modules, as one program in a temporary folder.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Type-checks the modules; returns tsc's error lines (none when they all pass). */
export function typeCheck(modules: readonly string[]): string[] {
  if (modules.length === 0) return [];
  const dir = mkdtempSync(path.join(tmpdir(), "cellc-fuzz-tsc-"));
  try {
    const files = modules.map((code, k) => {
      const f = `m${k}.ts`;
      writeFileSync(path.join(dir, f), code);
      return f;
    });
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const args = ["--noEmit", "--strict", "--target", "ES2022", "--module", "ESNext", "--lib", "ES2022", ...files];
    try {
      execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: "utf8", stdio: "pipe" });
      return [];
    } catch (e) {
      const out = `${(e as { stdout?: string }).stdout ?? ""}${(e as { stderr?: string }).stderr ?? ""}`;
      const lines = out.split("\n").filter((l) => l.includes("error"));
      return lines.length ? lines : [out.trim() || String(e)];
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
