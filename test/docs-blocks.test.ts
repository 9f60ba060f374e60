// Every code block of the user docs that claims to run (```js run, ```ts run, ```sh run; see
// test/helpers/doc-blocks.ts for the convention) runs here as a user would run it: in a fresh
// process under plain node, in an app that depends on the built package (test/helpers/doc-app.ts).
// A failure names the doc's file and line.

import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docsApp, type DocApp } from "./helpers/doc-app.ts";
import { docBlocks, normalizeOutput, where, type DocBlock } from "./helpers/doc-blocks.ts";

interface Ran {
  status: number;
  output: string;
}

/** A block's own limit, below the test's: a hung block is killed and reported, not left running. */
const BLOCK_LIMIT_MS = 280_000;

/** Runs a program to its exit; stdout and stderr together, in order of arrival. */
function run(file: string, args: readonly string[], app: DocApp): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { cwd: app.dir, env: app.env, maxBuffer: 64 * 1024 * 1024, timeout: BLOCK_LIMIT_MS }, () => {});
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code, signal) => {
      if (signal) output += `\n[killed by ${signal}${signal === "SIGTERM" ? `: still running after ${BLOCK_LIMIT_MS / 1000} s` : ""}]`;
      resolve({ status: code ?? 128, output });
    });
  });
}

function moduleSource(b: Extract<DocBlock, { kind: "module" }>): string {
  if (b.lang === "js") return b.code;
  return ts.transpileModule(b.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: "block.ts",
  }).outputText;
}

async function runBlock(b: DocBlock, app: DocApp): Promise<void> {
  if (b.kind === "file") {
    const path = join(app.dir, b.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, b.code);
    return;
  }
  if (b.kind === "module") {
    const script = join(app.dir, `doc-block-${b.file.replace(/\W/g, "_")}-${b.line}.mjs`);
    writeFileSync(script, moduleSource(b));
    const r = await run(process.execPath, [script], app);
    if (r.status !== 0) expect.fail(`${where(b)}: the block exited with status ${r.status}:\n${r.output}`);
    return;
  }
  for (const c of b.commands) {
    const r = await run("/bin/sh", ["-c", c.command], app);
    if (r.status !== c.status) expect.fail(`${where(b)}: '${c.command}' exited with status ${r.status}, not ${c.status}:\n${r.output}`);
    if (c.expected.length > 0) {
      expect(normalizeOutput(r.output), `${where(b)}: the output of '${c.command}'`).toEqual(normalizeOutput(c.expected.join("\n")));
    }
  }
}

const docs = [...docBlocks()].filter(([, blocks]) => blocks.some((b) => b.kind !== "file"));

describe("runnable blocks of the docs", () => {
  it("the README's walk-through is among them", () => {
    const readme = docs.find(([f]) => f === "README.md")?.[1] ?? [];
    expect(readme.filter((b) => b.kind === "module").length).toBeGreaterThanOrEqual(2);
    expect(readme.filter((b) => b.kind === "file").map((b) => (b.kind === "file" ? b.path : ""))).toContain("mgu.cell");
  });

  for (const [file, blocks] of docs) {
    describe(file, () => {
      let app: DocApp;
      beforeAll(async () => {
        app = await docsApp();
      }, 300_000);
      afterAll(() => {
        if (app) rmSync(app.dir, { recursive: true, force: true });
      });
      for (const b of blocks) it(`${where(b)} (${b.kind === "module" ? b.lang : b.kind})`, () => runBlock(b, app), BLOCK_LIMIT_MS + 20_000);
    });
  }
});
