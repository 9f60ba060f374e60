// What a test of the as-installed suite uses: the app with cellc installed from the packed
// tarball (./setup.ts makes it once per run), a folder of its own in it, and the installed
// package's commands run in fresh processes under plain node. Another test file can write any
// script into its folder and run it: `import ... from "cellc/..."` there resolves to the
// installed package.

import { spawn, type SpawnOptions } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";

/** The app directory: package.json, node_modules/cellc (installed from the tarball), .bin/cellc. */
export function installedApp(): string {
  return inject("installedApp");
}

/** A fresh folder `name` inside the app, holding `files` (path relative to it -> text). */
export function appFolder(name: string, files: Record<string, string> = {}): string {
  const dir = join(installedApp(), name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` to its exit (an event, not a clock; vitest's test timeout bounds a hang). */
export function run(command: string, args: readonly string[], options: SpawnOptions & { input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A child that exits without reading its input (EPIPE) is for its exit status to report.
    child.stdin?.on("error", () => undefined).end(options.input);
  });
}

/** The installed `cellc` bin (node_modules/.bin/cellc, its #!/usr/bin/env node line), run in `cwd`. */
export function cellc(args: readonly string[], cwd: string): Promise<Ran> {
  return run(join(installedApp(), "node_modules/.bin/cellc"), args, { cwd });
}

/** `node file` in `cwd` (plain node: no loader, no tsx). */
export function node(file: string, cwd: string, args: readonly string[] = []): Promise<Ran> {
  return run(process.execPath, [file, ...args], { cwd });
}

/** A minimal gated cell: the project's own spec, not one of cellc's examples. */
export const mguSpec = `cell mgu(I, H) {
  input x: [I]
  state h: [H]
  param W_f: [H, I], U_f: [H, H], b_f: [H] = ones
  param W_h: [H, I], U_h: [H, H], b_h: [H]
  f = sigmoid(W_f @ x + U_f @ h + b_f)
  n = tanh(W_h @ x + U_h @ (f * h) + b_h)
  h' = (1 - f) * h + f * n
  output h'
}
`;
