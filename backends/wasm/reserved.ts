// The words a WebAssembly module uses for itself (Backend.reserved): it is a TypeScript module
// carrying the TypeScript kernel (its fallback) beside the JavaScript side of the WebAssembly
// kernel, so the TypeScript words and those of backends/wasm/support/*.ts (test/layering.test.ts
// checks the support code's top-level names are all here).

import { TS_RESERVED } from "../ts/reserved.ts";

export const WASM_RESERVED: readonly string[] = [
  ...TS_RESERVED,
  "WasmMemory", "WasmApi", "WA", "decodeBase64", "SIMD_PROBE", "wasmSupported", "RELAXED_PROBE", "relaxedSimdSupported", "sharedMemorySupported", "unsharedBinary",
  "PAGE", "MAX_PAGES", "ALIGN", "HeapFull", "KernelMemoryError", "showBytes", "largestFitting", "MemoryNeed", "memoryError",
  "Heap", "wasmKernel", "CTL", "IDLE_MS", "MESSAGE_CHARS", "NodeWorker",
  "WorkerCtor", "workerConstructor", "threadsSupported", "REPORT_SOURCE", "WORKER_SOURCE", "SUPERVISOR_SOURCE", "TeamJob",
  "TeamEntry", "TEAM_BYTES", "Team", "WasmKernelInfo",
  // the module's own top-level names beside the support code
  "FMA", "META", "RUNS_WASM", "THREADS", "WASM", "WASM_FMA", "impl", "threadsUsed", "typescriptKernel",
];
