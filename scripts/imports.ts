// The import graph of the shipped source folders: which file imports which (relative imports
// only; packages and node: builtins are outside the graph), its cycles, and the arrows between
// top-level folders. test/layering.test.ts holds the tree to its layering rules with it; run it
// directly to print the graph's cycles and folder arrows:
//
//   node --experimental-strip-types scripts/imports.ts
//
// Imports are read with TypeScript's own pre-parser (ts.preProcessFile), so `import type`,
// re-exports (`export ... from`) and `import("...")` in types count like any import: a cycle made
// of type-only imports is still two files that each need the other to be read.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";

/** The folders whose files ship in the package (tests, examples and scripts do not). */
export const SOURCE_FOLDERS = ["abi", "formats", "grammar", "compiler", "backends", "driver", "runtime", "jit", "studies", "cli", "plugin", "editor"] as const;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Each source file (path relative to the root, with "/") and the source files it imports. */
export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "generated" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const rel = (path: string) => relative(ROOT, path).split(sep).join("/");

/** The file a relative specifier names: as written, or with .ts for a .js specifier. */
function resolveImport(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export function importGraph(folders: readonly string[] = SOURCE_FOLDERS): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of sourceFiles(join(ROOT, folder))) {
      const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      const targets = new Set<string>();
      for (const ref of info.importedFiles) {
        if (!ref.fileName.startsWith(".")) continue;
        const target = resolveImport(file, ref.fileName);
        if (target !== undefined && !target.endsWith(".json")) targets.add(rel(target));
      }
      graph.set(rel(file), [...targets].sort());
    }
  }
  return graph;
}

/** The graph's cycles: one per strongly connected component of two or more files (or a file
 *  importing itself), each as the component's files, sorted. */
export function cycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Every import from one top-level folder into another, as "from -> to" file pairs. */
export function folderArrows(graph: ImportGraph): { from: string; to: string }[] {
  const top = (p: string) => p.split("/")[0]!;
  const arrows: { from: string; to: string }[] = [];
  for (const [from, targets] of graph) for (const to of targets) if (top(from) !== top(to)) arrows.push({ from, to });
  return arrows;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const found = cycles(graph);
  console.log(`${graph.size} files, ${found.length} cycle(s)`);
  for (const c of found) console.log(`  cycle: ${c.join(", ")}`);
  const pairs = new Map<string, number>();
  for (const { from, to } of folderArrows(graph)) {
    const key = `${from.split("/")[0]} -> ${to.split("/")[0]}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  for (const [k, n] of [...pairs].sort()) console.log(`  ${k}: ${n}`);
}
