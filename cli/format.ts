// Which language `cellc build` writes kernels in when neither --format nor "format" says: the
// language of the project the output goes into. From the output's directory upwards to the
// nearest package.json (the project's root):
//   - a tsconfig.json on the way (or beside that package.json), or a TypeScript dependency in it
//     (typescript, tsx, ts-node or an @types/ package): "ts", a TypeScript project;
//   - a package.json without either: "js", a JavaScript project, which plain node must be able to
//     run (a .ts kernel would fail there with ERR_UNKNOWN_FILE_EXTENSION);
//   - no package.json at all: "ts", cellc's long-standing output (there is no project to judge by,
//     and a .ts module is what readers and type checkers use directly).
// The reason is printed with the choice, so a surprised user knows what to change.

import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { shownPath } from "./config.ts";

export type ModuleFormat = "ts" | "js";
export const MODULE_FORMATS: readonly ModuleFormat[] = ["ts", "js"];

export interface FormatChoice {
  format: ModuleFormat;
  /** Why, for the line the build prints: "tsconfig.json in app/". */
  reason: string;
}

const TS_DEPENDENCY = /^(typescript|tsx|ts-node|@types\/.+)$/;

/** The format for modules written at `out` (a directory or a file, existing or not). */
export function detectFormat(out: string, outIsFile: boolean): FormatChoice {
  let dir = outIsFile ? dirname(out) : out;
  for (;;) {
    if (isFile(join(dir, "tsconfig.json"))) return { format: "ts", reason: `${shownPath(join(dir, "tsconfig.json"))} is there` };
    const pkgPath = join(dir, "package.json");
    if (isFile(pkgPath)) {
      const dep = typescriptDependency(pkgPath);
      if (dep !== undefined) return { format: "ts", reason: `${shownPath(pkgPath)} depends on ${dep}` };
      return { format: "js", reason: `${shownPath(pkgPath)} has no TypeScript dependency and there is no tsconfig.json` };
    }
    const up = dirname(dir);
    if (up === dir) return { format: "ts", reason: "no package.json above the output" };
    dir = up;
  }
}

/** The first TypeScript dependency a package.json lists, if any (an unreadable one lists none). */
function typescriptDependency(pkgPath: string): string | undefined {
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  } catch {
    return undefined;
  }
  for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
    const deps = typeof pkg === "object" && pkg !== null ? (pkg as Record<string, unknown>)[field] : undefined;
    if (typeof deps !== "object" || deps === null) continue;
    const found = Object.keys(deps).find((name) => TS_DEPENDENCY.test(name));
    if (found !== undefined) return found;
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
