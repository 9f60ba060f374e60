// The training runtime in a browser (`cellc/runtime` under the "browser" condition, or
// `cellc/runtime/browser`): the whole API of api.ts, importing no `node:` module. Checkpoints go
// to IndexedDB by default (model.save("models/lstm") keeps it across page loads), or to memory
// where there is no IndexedDB; pass { fs } to save or load for any other CheckpointFs.

import { setDefaultCheckpointFs } from "./checkpoint.ts";
import { indexedDbCheckpointFs, memoryCheckpointFs } from "./checkpoint-browser.ts";

export * from "./api.ts";
export { indexedDbCheckpointFs, memoryCheckpointFs, type IdbFactory } from "./checkpoint-browser.ts";

setDefaultCheckpointFs((globalThis as { indexedDB?: unknown }).indexedDB !== undefined ? indexedDbCheckpointFs() : memoryCheckpointFs());
