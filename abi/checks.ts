// The facts of the kernel contract that are code, for the runtime and the printers: the most
// threads a call may ask for, the keys forward's and backward's options may hold, and how an
// error message shows a value a user passed (by type and value: `batchSize: "2"` reads
// `got the string "2"`, a typed array `got Float64Array(12)`).
//
// Their one home is backends/ts/support/checks.ts: every generated module carries that file's
// text inlined (a module imports nothing), so it must define them itself; this file re-exports
// them so that nothing else needs to know where the generated code's copy comes from. That file
// imports nothing (test/layering.test.ts holds it to that), so abi stays below everything else.

export { BACKWARD_OPTIONS, describe, FORWARD_OPTIONS, MAX_THREADS } from "../backends/ts/support/checks.ts";
