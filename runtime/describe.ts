// How an error message shows a value a user passed: by type and value, so `batchSize: "2"` reads
// `got the string "2"`, not `got 2` — the same words as a kernel's own boundary checks (one
// definition: abi/checks.ts).

export { describe as describeValue } from "../abi/checks.ts";
