// The code blocks of the user docs (README.md, docs/*.md) that claim to run, with where they are.
// The convention, also stated in docs/contributing.md:
//
//   ```js run / ```ts run     a module: run in a fresh `node` process in an app that depends on
//                             cellc (TypeScript is stripped of its types first)
//   ```sh run                 `$ command` lines run by a shell in that app; the lines after a
//                             command are its expected output (timings such as `283 ms` aside),
//                             and a last line `(exit status N)` its status (default 0)
//   <!-- file: PATH -->       on the line before a block of any language: the block is written
//                             to PATH in the app before the blocks after it run
//
// Blocks of one doc run in order in one app, so a block may use what an earlier one wrote. Any
// other block is illustration and is not run.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export const repoRoot = join(import.meta.dirname, "..", "..");

export interface ShellCommand {
  command: string;
  /** Expected output lines; empty: the output is not compared. */
  expected: string[];
  status: number;
}

export type DocBlock =
  | { kind: "module"; file: string; line: number; lang: "js" | "ts"; code: string }
  | { kind: "shell"; file: string; line: number; commands: ShellCommand[] }
  | { kind: "file"; file: string; line: number; path: string; code: string };

/** README.md and every docs/*.md, as paths relative to the repository. */
export function docFiles(root = repoRoot): string[] {
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort();
  return ["README.md", ...docs.map((f) => join("docs", f))];
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;
const FILE_MARK = /^<!--\s*file:\s*(\S+)\s*-->$/;

/** The runnable and file blocks of one Markdown text, in order; `line` is the opening fence's. */
export function parseDocBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    if (fence.startsWith("`") && info.includes("`")) continue; // inline code such as ```` ```js run ````, not a fence (CommonMark)
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]!);
      if (close && close[2]!.startsWith(fence) && close[3]!.trim() === "") break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: code block never closed`);
    const words = info.trim().split(/\s+/);
    const code = body.join("\n") + "\n";
    const line = i + 1;
    const mark = i > 0 ? FILE_MARK.exec(lines[i - 1]!.trim()) : null;
    if (mark) blocks.push({ kind: "file", file, line, path: mark[1]!, code });
    else if (words.includes("run")) {
      const lang = words[0]!;
      if (lang === "js" || lang === "ts") blocks.push({ kind: "module", file, line, lang, code });
      else if (lang === "sh") blocks.push({ kind: "shell", file, line, commands: shellCommands(file, line, body) });
      else throw new Error(`${file}:${line}: a runnable block must be js, ts or sh, not '${lang}'`);
    }
    i = j;
  }
  return blocks;
}

const STATUS = /^\(exit status (\d+)\)$/;

function shellCommands(file: string, line: number, body: readonly string[]): ShellCommand[] {
  const commands: ShellCommand[] = [];
  for (const l of body) {
    const last = commands[commands.length - 1];
    const status = STATUS.exec(l.trim());
    if (l.startsWith("$ ")) commands.push({ command: l.slice(2), expected: [], status: 0 });
    else if (last === undefined) throw new Error(`${file}:${line}: a 'sh run' block starts with a '$ ' command line`);
    else if (status) last.status = Number(status[1]);
    else last.expected.push(l);
  }
  return commands;
}

/** Every doc's blocks, by doc. */
export function docBlocks(root = repoRoot): Map<string, DocBlock[]> {
  return new Map(docFiles(root).map((f) => [f, parseDocBlocks(f, readFileSync(join(root, f), "utf8"))]));
}

/** Output as compared: its lines without trailing blanks, and timings (`283 ms`, `1.9 s`), which
 *  do not repeat from run to run, as `<time>`. */
export function normalizeOutput(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\b\d+(\.\d+)? ?(ms|s)\b/g, "<time>").trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function where(b: DocBlock, root = repoRoot): string {
  return `${relative(root, join(root, b.file))}:${b.line}`;
}
