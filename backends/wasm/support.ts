// The support code every generated WebAssembly module carries, read from the real, type-checked
// and tested files in ./support/ and inlined (as the TypeScript backend does with its own).

import { assetText, type RuntimeAssets } from "../assets.ts";

/** The files this module reads (declared in the backend registry, shipped by the package build). */
export const wasmSupportAssets: RuntimeAssets = { dir: "backends/wasm/support", extension: ".ts" };

const cache = new Map<string, string>();

/** The inlinable text of ./support/<name>.ts: after its `// ---- inline from here` line, exports dropped. */
export function wasmSupportText(name: "heap" | "kernel" | "threads"): string {
  let text = cache.get(name);
  if (text === undefined) {
    const raw = assetText(wasmSupportAssets, name);
    const marker = raw.indexOf("// ---- inline from here");
    text = raw.slice(raw.indexOf("\n", marker) + 1).replace(/^export (?=(async )?function |const |let |interface |type |class )/gm, "").trim();
    cache.set(name, text);
  }
  return text;
}
