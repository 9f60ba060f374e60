// Every test (`npm test`, as CI runs it), in three projects:
// - "unit": test/*.test.ts, against the sources in this process (tsx-free vitest transforms);
// - "unit-shared": the unit files listed in SHARED_WORKER below, the same way, but sharing their
//   worker's module registry (isolate: false) instead of each starting a fresh one: each fresh
//   start re-imports the compiler, TypeScript and vitest itself, about 3 s of CPU per file
//   measured (14 such files: 128.6 s of CPU isolated, 86.0 s shared);
// - "installed": test/installed/*.test.ts, against the package as a user gets it: its global
//   setup packs the repository once per run and installs the tarball into an empty app
//   (test/installed/setup.ts), and the tests run that app's commands and imports in fresh
//   processes under plain node. The setup runs only when an installed test is selected, so
//   `vitest run test/cli.test.ts` packs nothing.
// `npm run test:installed` runs the second alone; `npm run test:quick` (vitest.quick.config.ts)
// a fast subset of the first.
import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

/** What every run shares (this config and vitest.quick.config.ts). */
export const shared = {
  root: new URL("..", import.meta.url).pathname,
  // One test file per core (vitest's default leaves one core free: on this 2-core machine the
  // suite then ran file by file, 335 s instead of 254 s).
  maxWorkers: availableParallelism(),
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

/**
 * Unit files that may share a worker's modules with the files run before them: in-process tests
 * of the grammar, compiler, backends and kernels that hold no state of their own between files
 * (no mocks, no environment changes, no runtime layer-name counters, no jit loader or checkpoint
 * defaults set). A file that needs any of those belongs in "unit", which isolates every file.
 */
export const SHARED_WORKER = [
  "check-errors",
  "docs-links",
  "docs-tables",
  "emitted-runtime",
  "fastmath",
  "grammar",
  "kernel-boundary",
  "kernel-entry",
  "kernel-memory",
  "lang-autodiff",
  "lang-check",
  "lang-plan",
  "lang-reference",
  "onnx-primitives",
  "onnx-schedule",
  "onnx-specs",
  "package-config-schema",
  "plan",
  "primitives",
  "reference",
  "trust-compile",
  "ts-float64-names",
  "wasm-primitives",
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    ...shared,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/installed/**", ...SHARED_WORKER] },
      },
      {
        extends: true,
        test: { name: "unit-shared", include: SHARED_WORKER, isolate: false },
      },
      {
        extends: true,
        test: { name: "installed", include: ["test/installed/**/*.test.ts"], globalSetup: ["test/installed/setup.ts"], hookTimeout: 300_000 },
      },
    ],
  },
});
