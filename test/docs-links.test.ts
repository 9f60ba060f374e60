// Every relative link of the user docs (README.md, docs/*.md) leads to a file of the repository
// and, with a #fragment, to a heading of that file, as GitHub renders the docs.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { docFiles, repoRoot } from "./helpers/doc-blocks.ts";

/** The lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split(/\r?\n/).filter((l) => {
    if (/^\s*(`{3,}[^`]*|~{3,}.*)$/.test(l)) fenced = !fenced; // a fence (inline code such as ```` ```js ```` is not one)
    return !fenced;
  });
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as '-',
 *  a repeated heading suffixed -1, -2, ... */
function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\p{M}\- _]/gu, "").replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe("links in the docs", () => {
  for (const file of docFiles()) {
    it(`${file}: every relative link resolves`, () => {
      const text = readFileSync(join(repoRoot, file), "utf8");
      const broken: string[] = [];
      for (const line of prose(text)) {
        for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/.test(target!)) continue;
          const [path, fragment] = target!.split("#") as [string, string | undefined];
          const resolved = path === "" ? file : normalize(join(dirname(file), path));
          if (!existsSync(join(repoRoot, resolved))) broken.push(`${target}: no file ${resolved}`);
          else if (fragment && resolved.endsWith(".md") && !headingAnchors(readFileSync(join(repoRoot, resolved), "utf8")).has(fragment)) {
            broken.push(`${target}: no heading #${fragment} in ${resolved}`);
          }
        }
      }
      expect(broken, file).toEqual([]);
    });
  }

  it("anchors are made as GitHub makes them", () => {
    expect([...headingAnchors("# Translation: an encoder–decoder\n## The `cellc` command line\n## Results\n## Results\n")]).toEqual([
      "translation-an-encoderdecoder",
      "the-cellc-command-line",
      "results",
      "results-1",
    ]);
  });
});
