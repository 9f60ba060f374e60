// The package as a user gets it: `npm pack` (which builds dist/), installed from the tarball into
// a fresh project offline (the npm cache holds its dependencies), `npx cellc build` from a
// config there, a consumer importing a built kernel, `cellc`, `cellc/runtime` and `cellc/jit`
// type-checked at tsc --init's settings plus every further strictness flag (the package's own
// declarations included: skipLibCheck off), then run under plain node, no tsx. Its training
// numbers must equal the same training run from this repository's sources; checking a spec
// loads none of the kernel printer's heavy dependencies; the installed language server answers.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver-protocol/node";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dense, recurrent, sequential, sgd, tensor } from "../runtime/index.ts";
import { buildFile } from "../compiler/index.ts";
import { importModule } from "../compiler/index.ts";
import type { CellKernel } from "../abi/kernel.ts";

const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cellc-pkg-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });

// A spec of the project's own, not one of cellc's examples: a minimal gated cell.
const spec = `cell mgu(I, H) {
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

/** The training every run does: 3 epochs of SGD on a fixed sequence task, the loss per epoch. */
const training = `
  const B = 8, T = 5;
  const x = new Float32Array(B * T * 3), y = new Float32Array(B);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7) * 0.5;
  for (let b = 0; b < B; b++) y[b] = Math.cos(b) * 0.5;
  const model = sequential([recurrent({ kernel }), dense(1)], { seed: 7 });
  model.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: "mse" });
  const h = await model.fit(tensor(x, [B, T, 3]), tensor(y, [B, 1]), { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
  const losses = h.history["loss"] ?? [];
`;

const consumer = `/// <reference types="cellc/client" />
import * as kernel from "./kernels/mgu_I3_H8.js";
import * as wasmKernel from "./wasm/mgu_I3_H8.js";
import { check } from "cellc";
import type { CellKernel } from "cellc/abi";
import { dense, recurrent, sequential, sgd, tensor } from "cellc/runtime";
import { gru } from "cellc/jit";

const typed: CellKernel = kernel;
const typedWasm: CellKernel = wasmKernel;
// What a bundler import of the spec is typed as, through cellc/client (type-only: node runs no bundler).
export type Bundled = typeof import("../specs/mgu.cell?I=3&H=8&kernel");
export const asKernel = (k: Bundled): CellKernel => k;
const diagnostics = check(${JSON.stringify(spec)}).diagnostics.length;
${training}
// cellc/jit compiles a shipped example spec in this process.
const jitModel = sequential([gru(4), dense(1)], { seed: 1 });
jitModel.compile({ optimizer: "adam", loss: "mse" });
const jit = await jitModel.fit(tensor(x, [B, T, 3]), tensor(y, [B, 1]), { epochs: 1, batchSize: 8, verbose: 0 });
// The WebAssembly module trains the same way (float32 sums in another order: close, not equal).
const wasmModel = sequential([recurrent({ kernel: typedWasm }), dense(1)], { seed: 7 });
wasmModel.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: "mse" });
const wasmFit = await wasmModel.fit(tensor(x, [B, T, 3]), tensor(y, [B, 1]), { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
console.log(JSON.stringify({ name: typed.meta.name, diagnostics, losses, jitLoss: jit.history["loss"]?.[0], wasmBackend: typedWasm.meta.backend, wasmLosses: wasmFit.history["loss"] ?? [] }));
`;

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** A lock file for the consumer project: cellc from ./cellc.tgz and what it depends on, as pinned here. */
function appLock(): { name: string; lockfileVersion: number; requires: boolean; packages: Record<string, LockEntry> } {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
  const types = lock.packages["node_modules/@types/node"]!;
  const packages: Record<string, LockEntry> = {
    "": { name: "app", dependencies: { cellc: "file:cellc.tgz", "@types/node": types.version! } },
    "node_modules/cellc": { version: "0.2.0", resolved: "file:cellc.tgz", dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  // Each tarball's address (this lock file records none): npm then finds it in its cache by its
  // integrity without asking the registry for the package's metadata.
  const registry = execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim().replace(/\/?$/, "/");
  for (const [path, entry] of Object.entries(lock.packages)) {
    const forConsumer = path === "node_modules/@types/node" || path === "node_modules/undici-types";
    if (path === "" || ((entry.dev || entry.devOptional) && !forConsumer)) continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    const resolved = `${registry}${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
    packages[path] = { resolved, ...rest };
  }
  return { name: "app", lockfileVersion: 3, requires: true, packages };
}

describe("the npm package", () => {
  it("packs, installs offline, builds kernels with its bin, type-checks strictly and trains under plain node", async () => {
    const t0 = performance.now();
    // npm pack runs prepack: `npm run build`, a fresh dist/.
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], root)) as { filename: string; size: number; files: { path: string }[] }[];
    const tarball = join(work, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain("dist/cli/bin/cellc.js");
    expect(files).toContain("dist/backends/ts/support/gemm.ts");
    expect(files).toContain("dist/backends/wasm/support/kernel.ts");
    expect(files).toContain("dist/cellc.config.schema.json");
    expect(files.filter((f) => !f.startsWith("dist/") && f !== "package.json" && f !== "README.md")).toEqual([]);
    expect(files.some((f) => f.includes("test/") || f.startsWith(".ci"))).toBe(false);
    const tPack = performance.now();

    const app = join(work, "app");
    mkdirSync(join(app, "specs"), { recursive: true });
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    writeFileSync(join(app, "specs/mgu.cell"), spec);
    writeFileSync(
      join(app, "cellc.config.json"),
      JSON.stringify({ $schema: "./node_modules/cellc/dist/cellc.config.schema.json", out: "src/kernels", entries: [{ spec: "specs/mgu.cell", dims: { I: 3, H: 8 } }, { spec: "specs/mgu.cell", dims: { I: 3, H: 8 }, out: "src/wasm", target: "wasm" }] }),
    );
    // Offline: the tarball, and its dependencies from the npm cache, which `npm ci` of this
    // repository filled. Resolving version ranges offline needs registry metadata the cache may
    // not hold, so the project gets a lock file: cellc from the tarball, and cellc's production
    // dependencies at the versions this repository's lock file pins (plus @types/node for the
    // consumer's own needs, as any Node project has).
    copyFileSync(tarball, join(app, "cellc.tgz"));
    writeFileSync(join(app, "package-lock.json"), JSON.stringify(appLock()));
    const appPkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(app, "package.json"), JSON.stringify({ ...appPkg, dependencies: appLock().packages[""]!.dependencies }));
    npm(["ci", "--offline", "--ignore-scripts"], app);
    const tInstall = performance.now();

    const bin = join(app, "node_modules/.bin/cellc");
    expect(execFileSync(bin, ["--version"], { cwd: app, encoding: "utf8" }).trim()).toBe("cellc 0.2.0");
    // No tsx anywhere: the bin runs compiled JavaScript.
    expect(existsSync(join(app, "node_modules/tsx"))).toBe(false);
    const built = execFileSync("npx", ["--offline", "cellc", "build"], { cwd: app, encoding: "utf8" });
    expect(built).toMatch(/wrote src\/kernels\/mgu_I3_H8\.ts \(mgu, I=3 H=8, 192 params/);
    const kernelCode = readFileSync(join(app, "src/kernels/mgu_I3_H8.ts"), "utf8");
    expect(kernelCode).toBe((await buildFile(join(app, "specs/mgu.cell"), { dims: { I: 3, H: 8 } })).modules[0]!.code);
    // The WebAssembly target from the installed package (wabt a dependency, its support text shipped).
    expect(built).toMatch(/wrote src\/wasm\/mgu_I3_H8\.ts \(mgu, I=3 H=8, 192 params/);
    const wasmCode = readFileSync(join(app, "src/wasm/mgu_I3_H8.ts"), "utf8");
    expect(wasmCode).toBe((await buildFile(join(app, "specs/mgu.cell"), { dims: { I: 3, H: 8 }, target: "wasm" })).modules[0]!.code);

    writeFileSync(join(app, "src/main.ts"), consumer);
    execFileSync(join(app, "node_modules/.bin/tsc"), ["--init"], { cwd: app, stdio: "ignore" });
    writeFileSync(
      join(app, "tsconfig.strictest.json"),
      JSON.stringify({
        extends: "./tsconfig.json",
        compilerOptions: {
          rootDir: "src",
          outDir: "build",
          types: ["node"],
          lib: ["es2022"],
          skipLibCheck: false,
          noUnusedLocals: true,
          noUnusedParameters: true,
          noImplicitReturns: true,
          noImplicitOverride: true,
          noFallthroughCasesInSwitch: true,
          noPropertyAccessFromIndexSignature: true,
        },
        include: ["src"],
      }),
    );
    let tscOut = "";
    try {
      execFileSync(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.strictest.json"], { cwd: app, encoding: "utf8" });
    } catch (e) {
      tscOut = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(tscOut).toBe("");
    const tTsc = performance.now();

    const run = JSON.parse(execFileSync(process.execPath, ["build/main.js"], { cwd: app, encoding: "utf8" })) as {
      name: string;
      diagnostics: number;
      losses: number[];
      jitLoss: number;
      wasmBackend: string;
      wasmLosses: number[];
    };
    expect(run.name).toBe("mgu");
    expect(run.diagnostics).toBe(0);
    expect(run.losses).toHaveLength(3);
    expect(run.losses[2]!).toBeLessThan(run.losses[0]!);
    expect(Number.isFinite(run.jitLoss)).toBe(true);
    expect(run.wasmBackend).toBe("wasm");
    expect(run.wasmLosses).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(Math.abs(run.wasmLosses[i]! - run.losses[i]!)).toBeLessThan(1e-5 * Math.max(1, run.losses[i]!));

    // Checking a spec (and importing the runtime and the plugin) loads neither prettier, ts-morph
    // nor TypeScript: a resolve hook lists every module the process asks for.
    writeFileSync(join(app, "hook.mjs"), `export async function resolve(s, c, next) { if (/^(prettier|ts-morph|typescript)/.test(s)) process.stderr.write("heavy " + s + "\\n"); return next(s, c); }`);
    writeFileSync(join(app, "register.mjs"), `import { register } from "node:module";\nregister(new URL("./hook.mjs", import.meta.url));\n`);
    writeFileSync(
      join(app, "light.mjs"),
      `import { check } from "cellc";\nimport "cellc/runtime";\nimport "cellc/plugin";\nconsole.log(check(${JSON.stringify(spec)}).diagnostics.length);\n`,
    );
    const light = spawnSync(process.execPath, ["--import", "./register.mjs", "light.mjs"], { cwd: app, encoding: "utf8" });
    expect({ out: light.stdout.trim(), err: light.stderr }).toEqual({ out: "0", err: "" });

    // The installed language server answers an editor.
    const lsp = spawn(join(app, "node_modules/.bin/cellc-language-server"), ["--stdio"], { cwd: app, stdio: ["pipe", "pipe", "inherit"] });
    const conn = createProtocolConnection(new StreamMessageReader(lsp.stdout), new StreamMessageWriter(lsp.stdin));
    conn.listen();
    try {
      await conn.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
      const uri = pathToFileURL(join(app, "specs/mgu.cell")).href;
      await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "cell", version: 1, text: spec } });
      const hover = (await conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line: 3, character: 9 } })) as { contents: { value: string } };
      expect(hover.contents.value).toContain("param W_f: [H, I]");
    } finally {
      conn.dispose();
      lsp.kill();
    }

    // The reference: the same training from the repository's sources gives the same numbers.
    const kernel = (await importModule(kernelCode)) as CellKernel;
    const reference = await new Function("kernel", "sequential", "recurrent", "dense", "sgd", "tensor", `return (async () => { ${training}; return losses; })();`)(
      kernel,
      sequential,
      recurrent,
      dense,
      sgd,
      tensor,
    );
    expect(run.losses).toEqual(reference);
    const tEnd = performance.now();
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(
      `package test: pack+build ${s(t0, tPack)} s, install ${s(tPack, tInstall)} s, cellc build + tsc ${s(tInstall, tTsc)} s, run ${s(tTsc, tEnd)} s; ` +
        `tarball ${(statSync(tarball).size / 1024).toFixed(0)} kB, ${files.length} files`,
    );
    expect(readdirSync(join(app, "src/kernels"))).toEqual(["mgu_I3_H8.ts"]);
  }, 300_000);
});
