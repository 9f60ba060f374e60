// Reading mapping files (`.map.json`) from disk, on Node. Kept apart from mapping.ts so the
// mapping engine runs in a browser too (where mappings are parsed from JSON the page has).

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InteropError } from "./errors.ts";
import { parseMapping, type Mapping } from "./mapping.ts";

/** Reads a `.map.json` file; a stack's layer files are resolved relative to it. */
export function loadMapping(path: string): Mapping {
  const json = readJson(path);
  return parseMapping(json, { source: path, load: (ref) => readJson(resolve(dirname(path), ref)) });
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InteropError(`cannot read mapping ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InteropError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}
