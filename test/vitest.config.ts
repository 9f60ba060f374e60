// Every test (`npm test`, as CI runs it), in three projects:
// - "unit": test/*.test.ts, against the sources in this process (tsx-free vitest transforms);
// - "unit-shared": the unit files listed in SHARED_WORKER below, the same way, but sharing their
//   worker's module registry (isolate: false) instead of each starting a fresh one: each fresh
//   start re-imports the compiler, TypeScript and vitest itself, about 3 s of CPU per file
//   measured (the first 23 such files: 121.0 s of CPU isolated, 57.4 s shared);
// - "installed": test/installed/*.test.ts, against the package as a user gets it: its global
//   setup packs the repository once per run and installs the tarball into an empty app
//   (test/installed/setup.ts), and the tests run that app's commands and imports in fresh
//   processes under plain node. The setup runs only when an installed test is selected, so
//   `vitest run test/cli.test.ts` packs nothing.
// `npm run test:installed` runs "installed" alone; `npm run test:quick` (vitest.quick.config.ts)
// a fast subset of the other two.
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
 * Unit files that may share a worker's modules with the files run before them: tests of the
 * grammar, compiler, backends, kernels and study helpers that leave no state behind between files
 * (no mocks, no environment or global changes, no runtime models, whose default layer names count
 * up per process, no jit loader or checkpoint defaults set); some run child processes, which are
 * theirs alone. A file that needs any of those belongs in "unit", which isolates every file.
 */
export const SHARED_WORKER = [
  "check-errors",
  "data-generators",
  "data-plot",
  "docs-links",
  "docs-tables",
  "emitted-runtime",
  "escape-escapers",
  "escape-terminal",
  "fastmath",
  "fuzz/check",
  "grammar",
  "kernel-boundary",
  "kernel-entry",
  "kernel-format",
  "kernel-memory",
  "lang-autodiff",
  "lang-check",
  "lang-functions",
  "lang-plan",
  "lang-reference",
  "onnx-primitives",
  "onnx-schedule",
  "onnx-specs",
  "package-config-schema",
  "plan",
  "primitives",
  "reference",
  "row-primitives",
  "study-search",
  "torch-cli",
  "trust-compile",
  "ts-float64-names",
  "wasm-fma",
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
