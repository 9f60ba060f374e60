// `npm run test:quick`: the unit-level tests, for a fast loop while working (aimed at under 90 s
// on a quiet 2-core machine). Everything `npm test` runs (vitest.config.ts) except the files
// listed below, each for its reason; a new test file is in the quick run unless listed here. CI
// and `npm test` still run them all.
import { configDefaults, defineConfig } from "vitest/config";
import { shared } from "./vitest.config.ts";

/** Left out of the quick run, by reason (per-file times measured on the shared 2-core machine). */
const slow = {
  // The packed tarball installed into an app (npm pack + npm ci + fresh processes), the docs'
  // runnable blocks (test/installed/docs-blocks.test.ts) among them.
  installed: ["test/installed/**"],
  // A real browser (Chromium through puppeteer).
  browser: ["test/browser-train.test.ts"],
  // Python: PyTorch or the onnx checker in /usr/bin/python3.
  python: ["test/torch-*.test.ts", "test/onnx-checker.test.ts"],
  // Long training or timing runs: studies, worker-thread sweeps, benchmarks' harnesses.
  long: ["test/study-run.test.ts", "test/wasm-threads.test.ts", "test/bench-*.test.ts", "test/data-translate.test.ts"],
  // The CLI and the trust boundary through child processes (each a fresh tsx start).
  processes: [
    "test/cli.test.ts",
    "test/study-cli.test.ts",
    "test/trust-boundary.test.ts",
    "test/trust-frontend.test.ts",
    "test/escape-targets.test.ts",
    "test/kernel-format.test.ts",
  ],
  // Sweeps over every spec or primitive: finite-difference gradients, tsc over every emitted
  // module, the fuzzer's compile slices, every spec's ONNX export.
  sweeps: [
    "test/gradients.test.ts",
    "test/emitted.test.ts",
    "test/fuzz/compile.test.ts",
    "test/fuzz/names.test.ts",
    "test/onnx-specs.test.ts",
    "test/onnx-model.test.ts",
    "test/lang-functions.test.ts",
    "test/lang-plan.test.ts",
    "test/lang-reference.test.ts",
    "test/reference.test.ts",
    "test/trust-compile.test.ts",
    "test/kernel-memory.test.ts",
    "test/data-generators.test.ts",
    "test/kernel-init.test.ts",
  ],
  // Parity with other engines (TF.js, onnxruntime, the reference equations of PyTorch and
  // Keras layouts) and real bundlers: many compiled kernels each.
  parity: [
    "test/parity-tfjs.test.ts",
    "test/parity-onnx.test.ts",
    "test/parity-bidirectional.test.ts",
    "test/interop-pytorch.test.ts",
    "test/interop-keras.test.ts",
    "test/plugin-bundlers.test.ts",
  ],
};

export default defineConfig({
  test: { ...shared, include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...Object.values(slow).flat()] },
});
