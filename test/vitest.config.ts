// Every test (`npm test`, as CI runs it), in two projects:
// - "unit": test/*.test.ts, against the sources in this process (tsx-free vitest transforms);
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

export default defineConfig({
  test: {
    ...shared,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/installed/**"] },
      },
      {
        extends: true,
        test: { name: "installed", include: ["test/installed/**/*.test.ts"], globalSetup: ["test/installed/setup.ts"], hookTimeout: 300_000 },
      },
    ],
  },
});
