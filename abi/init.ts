// The parameter initializers of the kernel contract (each ParamMeta.init rule) and the seeded
// generator they draw from, for the runtime: a kernel's createParams({ seed }) and a runtime layer
// of the same seed hold the same numbers because both run this code.
//
// Their one home is backends/ts/support/init.ts, inlined as text into every generated module (a
// module imports nothing); this file re-exports them so that nothing else needs to know where the
// generated code's copy comes from (as ./checks.ts does for the checks).

export { fans, initialize, initParams, paramsSeed, Rng } from "../backends/ts/support/init.ts";
export type { InitRule } from "../backends/ts/support/init.ts";
