// The support code every generated WebGPU module carries, read from the real, type-checked and
// tested files ./support/dispatch.ts and ./support/kernel.ts and inlined (as the other backends do).

import { assetText, type RuntimeAssets } from "../assets.ts";

/** The files this module reads (declared in the backend registry, shipped by the package build). */
export const webgpuSupportAssets: RuntimeAssets = { dir: "backends/webgpu/support", extension: ".ts" };

let cache: string | undefined;

/** The inlinable text of ./support/dispatch.ts and ./support/kernel.ts: each after its
 *  `// ---- inline from here` line, exports dropped. */
export function webgpuSupportText(): string {
  cache ??= ["dispatch", "kernel"]
    .map((name) => {
      const raw = assetText(webgpuSupportAssets, name);
      const marker = raw.indexOf("// ---- inline from here");
      return raw.slice(raw.indexOf("\n", marker) + 1).replace(/^export (?=(async )?function |const |let |interface |type |class )/gm, "").trim();
    })
    .join("\n\n");
  return cache;
}
