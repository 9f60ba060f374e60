// Plain JavaScript out: `cellc build --format js` (or a JavaScript project's default, or "format"
// in a config) writes what tsc emits for a kernel module, a .js a fresh plain `node` (no tsx)
// imports and runs to the same numbers as the .ts kernel, and a .d.ts a strict tsc checks a
// consumer against; bad formats are usage or config errors naming the flag or the field.

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellKernel } from "../abi/kernel.ts";
import { detectFormat } from "../cli/format.ts";
import { ConfigError, parseConfig } from "../cli/config.ts";
import { buildFile, loadCellFile } from "../driver/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "cli/bin/cellc.mjs");
const lstm = join(root, "examples/specs/lstm.cell");
const dims = { I: 3, H: 4 };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd, timeout: BUILD_TIMEOUT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}
const cellc = (args: string[], cwd: string) => run(bin, args, cwd);

/** What the probe computes, for one kernel: outputs, final state and parameter gradients. */
function probe(k: Pick<CellKernel, "createParams" | "forward" | "backward" | "meta">): Record<string, number[]> {
  const params = k.createParams({ seed: 5 });
  const x = new Float32Array(3 * 2 * 3).map((_, i) => Math.sin(i + 1));
  const r = k.forward(params, { x }, { batchSize: 2 });
  const g = k.backward(params, r.tape, { h: new Float32Array(r.outputs["h"]!.length).fill(1) });
  const out: Record<string, number[]> = { backend: [k.meta.backend === "wasm" ? 1 : 0] };
  for (const [name, v] of Object.entries(r.outputs)) out[`out.${name}`] = Array.from(v);
  for (const [name, v] of Object.entries(r.finalState)) out[`final.${name}`] = Array.from(v);
  for (const [name, v] of Object.entries(g.params)) out[`d.${name}`] = Array.from(v);
  return out;
}

/** The probe as a plain-node script over the module at `path` (its text is probe's own). */
const probeScript = (path: string) => `import * as k from ${JSON.stringify(path)};
${probe.toString()}
process.stdout.write(JSON.stringify(probe(k)));
`;

/** Builds in child processes, a tsc run and plain-node runs: minutes on a loaded 2-core machine. */
const BUILD_TIMEOUT = 600_000;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cellc-format-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("cellc build --format js", () => {
  it("a JavaScript project gets .js and .d.ts by default; plain node runs them to the .ts kernel's numbers, ts and wasm", async () => {
    const app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    const [auto, wasm] = await Promise.all([
      cellc(["build", lstm, "--dims", "I=3,H=4", "--out", "kernels"], app),
      cellc(["build", lstm, "--dims", "I=3,H=4", "--out", "wasm", "--target", "wasm", "--format", "js"], app),
    ]);
    expect(auto.stderr).toBe("");
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain(`format: js (package.json has no TypeScript dependency and there is no tsconfig.json; choose with --format or "format")`);
    expect(auto.stdout).toMatch(/wrote kernels\/lstm_I3_H4\.js and kernels\/lstm_I3_H4\.d\.ts \(lstm, I=3 H=4, 128 params/);
    expect({ code: wasm.code, stderr: wasm.stderr }).toEqual({ code: 0, stderr: "" });
    expect(wasm.stdout).not.toContain("format:"); // asked for, not chosen
    expect(readdirSync(join(app, "kernels")).sort()).toEqual(["lstm_I3_H4.d.ts", "lstm_I3_H4.js"]);
    expect(readdirSync(join(app, "wasm")).sort()).toEqual(["lstm_I3_H4.d.ts", "lstm_I3_H4.js"]);
    // What the compile API gives for moduleFormat "js" is what was written.
    const api = (await buildFile(lstm, { dims, moduleFormat: "js" })).modules[0]!;
    expect(api.fileName).toBe("lstm_I3_H4.js");
    expect(readFileSync(join(app, "kernels/lstm_I3_H4.js"), "utf8")).toBe(api.code);
    expect(readFileSync(join(app, "kernels/lstm_I3_H4.d.ts"), "utf8")).toBe(api.declaration!.code);

    for (const [dir, target] of [["kernels", "ts"], ["wasm", "wasm"]] as const) {
      writeFileSync(join(app, `probe-${target}.mjs`), probeScript(`./${dir}/lstm_I3_H4.js`));
      // A fresh node, no loader: the .js runs as it is.
      const r = await run(join(app, `probe-${target}.mjs`), [], app);
      expect(r.stderr).toBe("");
      const got = JSON.parse(r.stdout) as Record<string, number[]>;
      const reference = probe(await loadCellFile(lstm, { dims, target }));
      expect(got).toEqual(reference);
      expect(got["out.h"]!.some((v) => v !== 0)).toBe(true);
    }

    // A strict TypeScript consumer of the declarations: types are the module's, not `any`.
    writeFileSync(
      join(app, "consumer.ts"),
      `import { createParams, forward, meta, type Params, type ForwardOptions } from "./kernels/lstm_I3_H4.js";
import * as wasm from "./wasm/lstm_I3_H4.js";
const p: Params = createParams({ seed: 1 });
const o: ForwardOptions = { batchSize: 2 };
const h: Float32Array = forward(p, { x: new Float32Array(12) }, o).outputs.h;
const name: "lstm" = meta.name;
const backend: "wasm" | "ts" = wasm.meta.backend;
// @ts-expect-error: batchSize is required
forward(p, { x: new Float32Array(12) }, {});
// @ts-expect-error: not an input of this cell
forward(p, { y: new Float32Array(12) }, o);
// @ts-expect-error: the seed is a number
createParams({ seed: "1" });
export const used = [h, name, backend, wasm.createParams({ zeros: true })];
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: [], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true },
        files: ["consumer.ts"],
      }),
    );
    let out = "";
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out).toBe("");
  }, BUILD_TIMEOUT);

  it("a config's \"format\" (top level or per entry) and --watch write JavaScript too", async () => {
    const dir = join(work, "config");
    mkdirSync(dir);
    writeFileSync(join(dir, "tsconfig.json"), "{}"); // a TypeScript project: the config's "format" decides
    writeFileSync(
      join(dir, "cellc.config.json"),
      JSON.stringify({ out: "gen", format: "js", entries: [{ spec: lstm, dims }, { spec: lstm, dims, out: "ts", format: "ts" }, { spec: lstm, dims, out: "one.js" }] }),
    );
    const child = spawn(process.execPath, [bin, "build", "--watch"], { cwd: dir });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      // The first build is done when the watch says what it watches.
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", () => /watching \d+ files? for changes/.test(stdout) && resolve());
        child.on("exit", () => reject(new Error(`the watch exited; stdout:\n${stdout}\nstderr:\n${stderr}`)));
      });
      expect(stderr).toBe("");
      expect(stdout).not.toContain("format:");
      expect(readdirSync(join(dir, "gen")).sort()).toEqual(["lstm_I3_H4.d.ts", "lstm_I3_H4.js"]);
      expect(readdirSync(join(dir, "ts"))).toEqual(["lstm_I3_H4.ts"]);
      expect(existsSync(join(dir, "one.js")) && existsSync(join(dir, "one.d.ts"))).toBe(true);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  }, BUILD_TIMEOUT);

  it("a bad --format is a usage error (help, exit 2), as is --format with a target that prints no TypeScript", async () => {
    const [bad, torch, clash] = await Promise.all([
      cellc(["build", lstm, "--out", "x", "--format", "javascript"], work),
      cellc(["build", lstm, "--out", "x", "--target", "torch", "--format", "js"], work),
      cellc(["build", lstm, "--out", "k.ts", "--format", "js"], work),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^cellc: --format must be ts or js, got 'javascript'\n\nUsage: cellc build/);
    expect(bad.stderr).toContain("--format ts|js");
    expect(torch.code).toBe(2);
    expect(torch.stderr).toMatch(/^cellc: --format is for targets that print TypeScript modules \(ts, wasm\), not 'torch'\n\nUsage: cellc build/);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/^cellc: --out k\.ts names a \.ts file but --format is js/);
    expect(existsSync(join(work, "x")) || existsSync(join(work, "k.ts"))).toBe(false);
  });

  it("a bad \"format\" in a config is a ConfigError naming the field", () => {
    const file = join(work, "cellc.config.json");
    writeFileSync(join(work, "a.cell"), "cell a(H) { state h: [H]\n h' = h\n output h' }\n");
    const bad: [unknown, string][] = [
      [{ out: "g", entries: [{ spec: "a.cell", format: "bad" }] }, 'entries[0].format: must be "ts" or "js", got "bad"'],
      [{ out: "g", format: 1, entries: [{ spec: "a.cell" }] }, '"format": must be "ts" or "js", got 1'],
      [{ out: "g", entries: [{ spec: "a.cell", target: "torch", format: "js" }] }, 'entries[0].format: is for targets that print TypeScript modules (ts, wasm); this entry\'s target is "torch"'],
      [{ entries: [{ spec: "a.cell", out: "k.js", format: "ts" }] }, "entries[0].out: names a .js file ('k.js') but \"format\" is \"ts\"; name a .ts file or set \"format\": \"js\""],
    ];
    for (const [json, message] of bad) {
      let error: unknown;
      try {
        parseConfig(JSON.stringify(json), file, "cellc.config.json");
      } catch (e) {
        error = e;
      }
      expect(error, message).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(`cellc.config.json: ${message}`);
    }
    // The top-level "format" is for the entries that print TypeScript; a torch entry has none.
    const mixed = parseConfig(JSON.stringify({ out: "g", format: "js", entries: [{ spec: "a.cell" }, { spec: "a.cell", target: "torch" }, { spec: "a.cell", out: "one.js" }] }), file);
    expect(mixed.entries.map((e) => [e.format, e.out.kind])).toEqual([["js", "dir"], [undefined, "dir"], ["js", "file"]]);
  });
});

describe("the compile API's moduleFormat", () => {
  it("\"js\" on a target that prints no TypeScript is CE408, naming the targets that do", async () => {
    const r = await buildFile(lstm, { dims, target: "torch", moduleFormat: "js" });
    expect(r.modules).toEqual([]);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE408", "format 'js' is for targets that print a TypeScript module (ts, wasm, webgpu); target 'torch' writes .py files"]]);
  });
});

describe("the default format", () => {
  it("is ts in a project with a tsconfig.json or a TypeScript dependency, or without a package.json; js in another package", () => {
    const base = join(work, "detect");
    const project = (name: string, files: Record<string, string>) => {
      const dir = join(base, name);
      mkdirSync(join(dir, "src"), { recursive: true });
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      return join(dir, "src", "kernels"); // not created yet: the walk starts where it will be
    };
    const pkg = (deps: object) => JSON.stringify({ name: "p", ...deps });
    expect(detectFormat(project("js", { "package.json": pkg({ dependencies: { cellc: "*" } }) }), false).format).toBe("js");
    expect(detectFormat(project("dep", { "package.json": pkg({ devDependencies: { typescript: "*" } }) }), false)).toMatchObject({ format: "ts", reason: expect.stringMatching(/package\.json depends on typescript$/) });
    expect(detectFormat(project("types", { "package.json": pkg({ dependencies: { "@types/node": "*" } }) }), false).format).toBe("ts");
    expect(detectFormat(project("tsconfig", { "package.json": pkg({}), "tsconfig.json": "{}" }), false)).toMatchObject({ format: "ts", reason: expect.stringMatching(/tsconfig\.json is there$/) });
    expect(detectFormat(join(project("file", { "package.json": pkg({}) }), "lstm.js"), true).format).toBe("js");
    // /tmp has no package.json above it (the suite's temp directory is the "no project" case).
    expect(detectFormat(join(base, "loose", "out"), false)).toEqual({ format: "ts", reason: "no package.json above the output" });
  });
});
