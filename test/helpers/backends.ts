// The backends every test that runs a kernel runs on: both printers of the plan, so each test is
// also a differential test between them. CELLC_TEST_BACKENDS=ts (or wasm) narrows the list.

export const TEST_BACKENDS: readonly ("ts" | "wasm")[] = (process.env.CELLC_TEST_BACKENDS ?? "ts,wasm")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is "ts" | "wasm" => s === "ts" || s === "wasm");
