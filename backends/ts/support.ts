// The support code every generated TypeScript module carries, read from the real, type-checked
// and tested files in ./support/ and inlined: everything after a file's `// ---- inline from here`
// line (or the whole file after its header comment), with `export` removed. Two support files
// build on the abi/ leaf, whose files of the same name (the kernel contract's facts that are code,
// its initializers) import nothing and are inlined the same way, ahead of them: abi/ is their one
// home, and a module carries their text as it carries the support code's.

import { assetText, type RuntimeAssets } from "../assets.ts";

/** The files this module reads (declared in the backend registry, shipped by the package build). */
export const tsSupportAssets: RuntimeAssets = { dir: "backends/ts/support", extension: ".ts" };

/** The abi/ files inlined with the support code (ABI_PARTS), read as runtime assets too. */
export const abiSupportAssets: RuntimeAssets = { dir: "abi", extension: ".ts" };

/** The files of ./support/ (entry and arrays: the entry runtime). */
export const SUPPORT_FILES = ["gemm", "fastmath", "checks", "weights", "special", "init", "entry", "arrays"] as const;
export type SupportFile = (typeof SUPPORT_FILES)[number];

/** The support files whose text follows that of the abi/ file of the same name. */
export const ABI_PARTS: readonly SupportFile[] = ["checks", "init"];

const cache = new Map<string, string>();

/** The inlinable part of a support file's text: after its marker line, exports dropped. */
function inlinable(raw: string): string {
  const marker = raw.indexOf("// ---- inline from here");
  const body = marker >= 0 ? raw.slice(raw.indexOf("\n", marker) + 1) : raw.replace(/^(\/\/.*\n)+\n?/, "");
  return body.replace(/^export (?=(async )?function |const |let |interface |type |class )/gm, "").trim();
}

/** The inlinable text of ./support/<name>.ts (preceded by abi/<name>.ts's for ABI_PARTS). */
export function supportText(name: SupportFile): string {
  let text = cache.get(name);
  if (text === undefined) {
    const own = inlinable(assetText(tsSupportAssets, name));
    text = ABI_PARTS.includes(name) ? `${inlinable(assetText(abiSupportAssets, name))}\n\n${own}` : own;
    cache.set(name, text);
  }
  return text;
}

// ts-morph's bundled TypeScript (the printer has it loaded already).
type TypeScript = typeof import("ts-morph").ts;

/** Every identifier written in `node`'s subtree, but for property names (`{ pack: 1 }`, `a.pack`,
 *  `{ pack: number }`), which name no declaration. */
function identifiers(ts: TypeScript, node: import("ts-morph").ts.Node, into = new Set<string>()): Set<string> {
  if (ts.isIdentifier(node)) {
    const p = node.parent;
    const property = p !== undefined && (ts.isPropertyAssignment(p) || ts.isPropertyAccessExpression(p) || ts.isPropertySignature(p)) && p.name === node;
    if (!property) into.add(node.text);
  }
  node.forEachChild((c) => void identifiers(ts, c, into));
  return into;
}

/**
 * The part of the support code `support` that `code` uses: its top-level declarations named in
 * `code`, and those they use in turn, in their order (a statement that declares nothing, such as
 * a table's filling loop, goes with the names it touches). A module then declares nothing it
 * never reads, so it compiles under noUnusedLocals.
 */
export function usedSupport(ts: TypeScript, support: string, code: string): string {
  const parse = (text: string) => ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest, true);
  const statements = parse(support).statements.map((s) => ({
    text: s.getFullText(),
    declares: declaredNames(ts, s),
    uses: identifiers(ts, s),
  }));
  const wanted = identifiers(ts, parse(code));
  const kept = new Set<number>();
  const keptNames = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    statements.forEach((s, i) => {
      if (kept.has(i)) return;
      const needed = s.declares.length > 0 ? s.declares.some((n) => wanted.has(n)) : [...s.uses].some((n) => keptNames.has(n));
      if (!needed) return;
      kept.add(i);
      for (const n of s.declares) keptNames.add(n);
      for (const n of s.uses) wanted.add(n);
      grew = true;
    });
  }
  return statements.filter((_, i) => kept.has(i)).map((s) => s.text).join("").trim();
}

function declaredNames(ts: TypeScript, s: import("ts-morph").ts.Statement): string[] {
  if (ts.isVariableStatement(s)) return s.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  if (ts.isFunctionDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isClassDeclaration(s)) {
    return s.name ? [s.name.text] : [];
  }
  return [];
}
