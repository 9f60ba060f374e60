// The support code every generated WebGPU module carries, read from the real, type-checked and
// tested file ./support/kernel.ts and inlined (as the other backends do with theirs).

import { assetText, type RuntimeAssets } from "../assets.ts";

/** The files this module reads (declared in the backend registry, shipped by the package build). */
export const webgpuSupportAssets: RuntimeAssets = { dir: "backends/webgpu/support", extension: ".ts" };

let cache: string | undefined;

/** The inlinable text of ./support/kernel.ts: after its `// ---- inline from here` line, exports dropped. */
export function webgpuSupportText(): string {
  if (cache === undefined) {
    const raw = assetText(webgpuSupportAssets, "kernel");
    const marker = raw.indexOf("// ---- inline from here");
    cache = raw.slice(raw.indexOf("\n", marker) + 1).replace(/^export (?=(async )?function |const |let |interface |type |class )/gm, "").trim();
  }
  return cache;
}
