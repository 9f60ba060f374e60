// Every spec in the repository (examples/specs, test/specs, test/errors), read once: the seeds of
// the front-end mutation fuzzer, and an in-memory file system for their imports.

import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIRS = ["examples/specs", "test/specs", "test/errors"];

export interface CorpusFile {
  /** Path relative to the repository root, as a spec's `file` option. */
  file: string;
  text: string;
}

function walk(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir))
    .sort()
    .flatMap((f) => {
      const rel = `${dir}/${f}`;
      if (statSync(path.join(ROOT, rel)).isDirectory()) return walk(rel);
      return f.endsWith(".cell") ? [rel] : [];
    });
}

let cached: CorpusFile[] | undefined;

export function corpus(): CorpusFile[] {
  cached ??= DIRS.flatMap(walk).map((file) => ({ file, text: readFileSync(path.join(ROOT, file), "latin1") }));
  return cached;
}

/** Reads imports from the corpus only (never the disk): a mutated import path cannot reach a
 *  FIFO or /dev/zero, and every run sees the same files. */
export function corpusReader(): (p: string) => string {
  const files = new Map(corpus().map((f) => [path.resolve(ROOT, f.file), f.text]));
  return (p) => {
    const text = files.get(path.resolve(ROOT, p));
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" });
    return text;
  };
}
