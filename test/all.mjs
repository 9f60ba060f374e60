// `npm test`: the type-check (both tsconfigs) and every test (vitest, both projects), side by side
// rather than one after the other. Each tsc run is single-threaded, and so is the build the
// as-installed suite's setup packs before its tests start: run in turn they left one of CI's two
// cores idle for about a minute and a half; run together they keep both busy. The type-check's
// output is held back and printed after vitest's report, so the two never interleave. The exit
// status is non-zero when either fails; arguments go to vitest (`npm test -- test/cli.test.ts`).
//
// Plain JavaScript under plain node: it runs before anything is type-checked.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));

/** Runs node `args` in the repository; resolves with its exit code and, unless `inherit`, its output. */
function run(args, inherit) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (b) => (out += b));
    child.stderr?.on("data", (b) => (out += b));
    child.on("error", (e) => resolve({ code: 1, out: `${out}${e.message}\n` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out, signal }));
  });
}

const checks = ["tsconfig.json", "playground/tsconfig.json"].map((p) => ({ project: p, done: run([tsc, "--noEmit", "-p", p], false) }));
const tests = await run([vitest, "run", "--config", "test/vitest.config.ts", ...process.argv.slice(2)], true);
let failed = tests.code !== 0;
for (const { project, done } of checks) {
  const { code, out } = await done;
  if (code === 0) {
    process.stdout.write(`typecheck: tsc --noEmit -p ${project}: no errors\n`);
  } else {
    failed = true;
    process.stdout.write(`typecheck: tsc --noEmit -p ${project} failed (exit ${code}):\n${out}`);
  }
}
process.exitCode = failed ? 1 : 0;
