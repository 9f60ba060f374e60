// Where the docs' runnable blocks run: a fresh directory that depends on cellc as a user's app
// does, `import "cellc/runtime"` and `npx cellc` resolving to the package's built dist/. This is
// the one place that decides what "the app" is; pointing the doc runner at an app installed from
// the packed tarball (test/installed/) means changing docsApp() alone.
//
// Today: `npm run build` once per test process, then a copy of the package (package.json, dist/,
// README.md) as the app's node_modules/cellc, so a later rebuild of dist/ cannot change it under
// a running block; its dependencies, and the repository's other packages (onnxruntime-node, ...
// that a doc tells the reader to install), are links to the repository's node_modules. The app
// also gets a copy of examples/specs and examples/cellc.config.json, the files the docs' commands
// name.

import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./doc-blocks.ts";

export interface DocApp {
  /** The app's directory: blocks run with it as the working directory. */
  dir: string;
  /** The environment a block runs with (PATH finds the app's `cellc` first). */
  env: NodeJS.ProcessEnv;
}

let built: Promise<void> | undefined;

function buildOnce(): Promise<void> {
  built ??= Promise.resolve().then(() => {
    execFileSync(process.execPath, [join(repoRoot, "scripts/build-dist.mjs")], { cwd: repoRoot, stdio: "pipe" });
  });
  return built;
}

/** A fresh app directory for one doc's blocks. */
export async function docsApp(): Promise<DocApp> {
  await buildOnce();
  const dir = mkdtempSync(join(tmpdir(), "cellc-docs-"));
  const modules = join(dir, "node_modules");
  const pkg = join(modules, "cellc");
  mkdirSync(pkg, { recursive: true });
  for (const f of ["package.json", "README.md", "dist"]) cpSync(join(repoRoot, f), join(pkg, f), { recursive: true });
  const repoModules = join(repoRoot, "node_modules");
  symlinkSync(repoModules, join(pkg, "node_modules"), "dir");
  for (const name of readdirSync(repoModules)) {
    if (name === ".bin" || name === "cellc" || name.startsWith(".")) continue;
    symlinkSync(join(repoModules, name), join(modules, name), "dir");
  }
  mkdirSync(join(modules, ".bin"));
  symlinkSync("../cellc/dist/cli/bin/cellc.js", join(modules, ".bin", "cellc"));
  symlinkSync("../cellc/dist/editor/server/bin.js", join(modules, ".bin", "cellc-language-server"));
  cpSync(join(repoRoot, "examples/specs"), join(dir, "examples/specs"), { recursive: true });
  cpSync(join(repoRoot, "examples/cellc.config.json"), join(dir, "examples/cellc.config.json"));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(modules, ".bin")}:${process.env.PATH ?? ""}`, NO_COLOR: "1" };
  delete env.NODE_OPTIONS; // plain node: no tsx loader inherited from the test runner
  return { dir, env };
}
