// Entry of a study worker process. The study, the runtime and the task files are TypeScript run
// from source, so this plain-JS file registers tsx's loader (resolved from this file, so it works
// from any working directory), then serves jobs (./worker.ts).
import { register } from "tsx/esm/api";

register({ tsconfig: false });
await import("./worker.ts");
