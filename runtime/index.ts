// The training runtime on Node (`cellc/runtime`): the whole API of api.ts (see there), with
// checkpoints saved as files by default. Browsers get browser.ts instead (the package's exports
// map chooses it under the "browser" condition).

import { setDefaultCheckpointFs } from "./checkpoint.ts";
import { nodeCheckpointFs } from "./checkpoint-node.ts";

export * from "./api.ts";
export { nodeCheckpointFs };
export { memoryCheckpointFs } from "./checkpoint-browser.ts";

setDefaultCheckpointFs(nodeCheckpointFs);
