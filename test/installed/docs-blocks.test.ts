// Every code block of the user docs that claims to run (```js run, ```ts run, ```sh run; see
// test/helpers/doc-blocks.ts for the convention) runs here as a reader would run it: against the
// package installed from the packed tarball (./setup.ts packs and installs it once per run; nothing
// here builds dist/), each block in a fresh process under plain node or sh. A failure names the
// doc's file and line.
//
// Each doc gets a folder of its own in the installed app (`docs-README.md`, `docs-docs_cli.md`,
// ...), holding a copy of examples/specs and examples/cellc.config.json, the files the docs'
// commands name. `import "cellc/..."` there resolves to the app's node_modules/cellc and `npx
// cellc` to its bin. The packages a doc tells the reader to install beside cellc (READER_INSTALLS)
// are linked into the folder's own node_modules from the repository's, so the app itself stays as
// the tarball's install made it for the other installed tests.

import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { docBlocks, normalizeOutput, repoRoot, where, type DocBlock } from "../helpers/doc-blocks.ts";
import { appFolder, installedApp, run } from "./app.ts";

/** What the docs tell the reader to `npm install` beside cellc ("Serve it with onnxruntime"). */
const READER_INSTALLS = ["onnxruntime-node"];

interface DocFolder {
  dir: string;
  env: NodeJS.ProcessEnv;
}

function docFolder(doc: string): DocFolder {
  const dir = appFolder(`docs-${doc.replace(/\W/g, "_")}`);
  cpSync(join(repoRoot, "examples/specs"), join(dir, "examples/specs"), { recursive: true });
  cpSync(join(repoRoot, "examples/cellc.config.json"), join(dir, "examples/cellc.config.json"));
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  for (const name of READER_INSTALLS) symlinkSync(join(repoRoot, "node_modules", name), join(dir, "node_modules", name), "dir");
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(installedApp(), "node_modules/.bin")}:${process.env.PATH ?? ""}`, NO_COLOR: "1" };
  delete env.NODE_OPTIONS; // plain node: no loader inherited from the test runner
  return { dir, env };
}

function moduleSource(b: Extract<DocBlock, { kind: "module" }>): string {
  if (b.lang === "js") return b.code;
  return ts.transpileModule(b.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: "block.ts",
  }).outputText;
}

/** Runs one block in the doc's folder; stdout and stderr together, in the order written. */
async function runBlock(b: DocBlock, folder: DocFolder): Promise<void> {
  const { dir, env } = folder;
  if (b.kind === "file") {
    const path = join(dir, b.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, b.code);
    return;
  }
  if (b.kind === "module") {
    const script = join(dir, `doc-block-${b.line}.mjs`);
    writeFileSync(script, moduleSource(b));
    const r = await run("/bin/sh", ["-c", 'exec 2>&1; exec "$0" "$1"', process.execPath, script], { cwd: dir, env });
    if (r.code !== 0) expect.fail(`${where(b)}: the block exited with ${r.code ?? r.signal}:\n${r.stdout}`);
    return;
  }
  for (const c of b.commands) {
    const r = await run("/bin/sh", ["-c", `exec 2>&1\n${c.command}`], { cwd: dir, env });
    if (r.code !== c.status) expect.fail(`${where(b)}: '${c.command}' exited with ${r.code ?? r.signal}, not ${c.status}:\n${r.stdout}`);
    if (c.expected.length > 0) {
      expect(normalizeOutput(r.stdout), `${where(b)}: the output of '${c.command}'`).toEqual(normalizeOutput(c.expected.join("\n")));
    }
  }
}

const docs = [...docBlocks()].filter(([, blocks]) => blocks.some((b) => b.kind !== "file"));

describe("runnable blocks of the docs, against the installed package", () => {
  it("the README's walk-through is among them", () => {
    const readme = docs.find(([f]) => f === "README.md")?.[1] ?? [];
    expect(readme.filter((b) => b.kind === "module").length).toBeGreaterThanOrEqual(2);
    expect(readme.filter((b) => b.kind === "file").map((b) => (b.kind === "file" ? b.path : ""))).toContain("mgu.cell");
  });

  it("a block's `cellc/...` imports resolve to the installed package, and `npx cellc` runs its bin", async () => {
    const { dir, env } = docFolder("resolution check");
    const r = await run(process.execPath, ["--input-type=module", "-e", `console.log(import.meta.resolve("cellc/runtime"))`], { cwd: dir, env });
    expect(r.stdout.trim()).toBe(pathToFileURL(join(installedApp(), "node_modules/cellc/dist/runtime/index.js")).href);
    const bin = await run("/bin/sh", ["-c", "npx cellc --version"], { cwd: dir, env });
    expect({ code: bin.code, stdout: bin.stdout }).toEqual({ code: 0, stdout: `cellc ${JSON.parse(readFileSync(join(installedApp(), "node_modules/cellc/package.json"), "utf8")).version}\n` });
  });

  for (const [file, blocks] of docs) {
    describe(file, () => {
      let folder: DocFolder | undefined;
      for (const b of blocks) {
        it(`${where(b)} (${b.kind === "module" ? b.lang : b.kind})`, () => runBlock(b, (folder ??= docFolder(file))));
      }
    });
  }
});
