// Files a backend reads at run time instead of compiling: the support code its generated modules
// carry, kept as real, type-checked and tested source files (./ts/support/*.ts, ..., and the
// abi/ leaf's self-contained files the TypeScript support builds on: abi/checks.ts, abi/init.ts). A backend
// declares them in its descriptor (`assets` in ./index.ts) and reads them only through
// assetText, and the package build (scripts/build-dist.mjs) copies every declared asset to
// dist/assets/: what a backend can read is what the package ships, by construction.

import { readFileSync } from "node:fs";

/** A folder of runtime assets: the files in <dir> whose names end in `extension`. */
export interface RuntimeAssets {
  /** The folder, relative to the package's source root ("backends/torch/support", "abi"). */
  readonly dir: string;
  /** How its asset files' names end (".py"). */
  readonly extension: string;
}

/** Compiled into the package's dist/, where the build copies the assets to dist/assets/ (see
 *  scripts/build-dist.mjs); in the source tree they are read where they are. */
const COMPILED = import.meta.url.endsWith(".js");

const cache = new Map<string, string>();

/** The text of asset `name` (without its extension) of `assets`, read once per process. */
export function assetText(assets: RuntimeAssets, name: string): string {
  const key = `${assets.dir}/${name}${assets.extension}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = readFileSync(new URL(COMPILED ? `../assets/${key}` : `../${key}`, import.meta.url), "utf8");
    cache.set(key, text);
  }
  return text;
}
