// Initializers a spec can name (`param W: [H, I] = glorot`), applied to a kernel's zero-filled
// parameters from each ParamMeta.init. The rules themselves live in abi/init.ts,
// which every generated kernel also inlines: a kernel's createParams({ seed }) and
// initializeParams(params, meta.params, new Rng(seed)) give the same numbers.

import type { ParamMeta, Tensors } from "../abi/kernel.ts";
import { initialize } from "../abi/init.ts";
import type { Rng } from "./rng.ts";

export { fans, initialize } from "../abi/init.ts";

/** Applies every parameter's declared init to a kernel's parameter buffers. */
export function initializeParams(params: Tensors, metas: readonly ParamMeta[], rng: Rng): void {
  for (const m of metas) {
    const buf = params[m.name];
    if (!buf) throw new Error(`kernel parameters lack '${m.name}' that its meta declares`);
    if (buf.length !== m.size) throw new Error(`kernel parameter '${m.name}' has ${buf.length} values, meta says ${m.size}`);
    initialize(buf, m.shape, m.init, rng);
  }
}
