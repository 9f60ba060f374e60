// Every documented import of the installed package, from a user's app under plain node: a
// consumer of `cellc`, `cellc/abi`, `cellc/runtime`, `cellc/jit` and `cellc/interop` (with
// kernels the installed bin built) type-checks at tsc --init's settings plus every further
// strictness flag (the package's declarations included: skipLibCheck off) and trains to the same
// numbers as the sources; the interop functions move weights both ways; checking a spec loads
// none of the printer's heavy dependencies; each bundler plugin imports, and esbuild and Rollup
// bundle a spec through it into a kernel that computes what the compiler's module computes; the
// installed language server answers over stdio.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver-protocol/node";
import { describe, expect, it } from "vitest";
import type { CellKernel } from "../../abi/kernel.ts";
import { importModule, loadCell } from "../../driver/index.ts";
import { dense, recurrent, sequential, sgd, tensor } from "../../runtime/index.ts";
import { appFolder, cellc, installedApp, mguSpec, node, run } from "./app.ts";

const root = new URL("../..", import.meta.url).pathname;

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
import { gru, loadCellFile, specPath } from "cellc/jit";
import { exportOnnx, exportPytorch, importOnnx, importPytorch, InteropError, loadMappingForSpec, type Mapping, type StateDict } from "cellc/interop";

const typed: CellKernel = kernel;
const typedWasm: CellKernel = wasmKernel;
// What a bundler import of the spec is typed as, through cellc/client (type-only: node runs no bundler).
export type Bundled = typeof import("../specs/mgu.cell?I=3&H=8&kernel");
export const asKernel = (k: Bundled): CellKernel => k;
const diagnostics = check(${JSON.stringify(mguSpec)}).diagnostics.length;
${training}
// cellc/jit compiles a shipped example spec in this process.
const jitModel = sequential([gru(4), dense(1)], { seed: 1 });
jitModel.compile({ optimizer: "adam", loss: "mse" });
const jit = await jitModel.fit(tensor(x, [B, T, 3]), tensor(y, [B, 1]), { epochs: 1, batchSize: 8, verbose: 0 });
// The WebAssembly module trains the same way (float32 sums in another order: close, not equal).
const wasmModel = sequential([recurrent({ kernel: typedWasm }), dense(1)], { seed: 7 });
wasmModel.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: "mse" });
const wasmFit = await wasmModel.fit(tensor(x, [B, T, 3]), tensor(y, [B, 1]), { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });

// cellc/interop: a shipped LSTM's parameters out to PyTorch and ONNX layouts and back, exactly.
const lstm = await loadCellFile(specPath("lstm"), { dims: { I: 3, H: 4 } });
const mapping: Mapping = loadMappingForSpec(specPath("lstm"));
const params = lstm.createParams();
let s = 0;
for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
const stateDict: StateDict = exportPytorch(lstm.meta, mapping, params, { prefix: "rnn." });
const viaTorch = importPytorch(lstm.meta, mapping, JSON.stringify(stateDict), { prefix: "rnn." });
const viaOnnx = importOnnx(lstm.meta, mapping, exportOnnx(lstm.meta, mapping, params));
const same = (a: Record<string, Float32Array>) => Object.keys(params).every((k) => a[k]!.length === params[k]!.length && a[k]!.every((v, i) => v === params[k]![i]));
let refused = "";
try {
  importPytorch(lstm.meta, mapping, JSON.stringify({ ...stateDict, "rnn.extra": [1] }), { prefix: "rnn." });
} catch (e) {
  if (e instanceof InteropError) refused = e.message;
}
const interop = { torchKeys: Object.keys(stateDict).length, torch: same(viaTorch), onnx: same(viaOnnx), refused };
console.log(JSON.stringify({ name: typed.meta.name, diagnostics, losses, jitLoss: jit.history["loss"]?.[0], wasmBackend: typedWasm.meta.backend, wasmLosses: wasmFit.history["loss"] ?? [], interop }));
`;

describe("the installed package's imports", () => {
  it("cellc, cellc/abi, cellc/runtime, cellc/jit, cellc/interop: strict tsc, then plain node trains as the sources do", async () => {
    const dir = appFolder("consumer", { "specs/mgu.cell": mguSpec, "src/main.ts": consumer });
    const built = await cellc(["build", "specs/mgu.cell", "--dims", "I=3,H=8", "--out", "src/kernels"], dir);
    expect(built.code, built.stderr).toBe(0);
    const wasm = await cellc(["build", "specs/mgu.cell", "--dims", "I=3,H=8", "--target", "wasm", "--out", "src/wasm"], dir);
    expect(wasm.code, wasm.stderr).toBe(0);
    const tsc = join(installedApp(), "node_modules/.bin/tsc");
    expect((await run(tsc, ["--init"], { cwd: dir })).code).toBe(0);
    const strictest = {
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
    };
    appFolder("consumer", { "tsconfig.strictest.json": JSON.stringify(strictest) });
    const typecheck = await run(tsc, ["-p", "tsconfig.strictest.json"], { cwd: dir });
    expect(typecheck.stdout + typecheck.stderr).toBe("");
    expect(typecheck.code).toBe(0);

    const ran = await node("build/main.js", dir);
    expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: "" });
    const r = JSON.parse(ran.stdout) as { name: string; diagnostics: number; losses: number[]; jitLoss: number; wasmBackend: string; wasmLosses: number[]; interop: Record<string, unknown> };
    expect(r.name).toBe("mgu");
    expect(r.diagnostics).toBe(0);
    expect(r.losses).toHaveLength(3);
    expect(r.losses[2]!).toBeLessThan(r.losses[0]!);
    expect(Number.isFinite(r.jitLoss)).toBe(true);
    expect(r.wasmBackend).toBe("wasm");
    for (let i = 0; i < 3; i++) expect(Math.abs(r.wasmLosses[i]! - r.losses[i]!)).toBeLessThan(1e-5 * Math.max(1, r.losses[i]!));
    expect(r.interop).toEqual({ torchKeys: 4, torch: true, onnx: true, refused: expect.stringContaining("rnn.extra") });

    // The reference: the same training from the repository's sources gives the same numbers.
    const { readFileSync } = await import("node:fs");
    const kernel = (await importModule(readFileSync(join(dir, "src/kernels/mgu_I3_H8.ts"), "utf8"))) as CellKernel;
    const reference = await new Function("kernel", "sequential", "recurrent", "dense", "sgd", "tensor", `return (async () => { ${training}; return losses; })();`)(kernel, sequential, recurrent, dense, sgd, tensor);
    expect(r.losses).toEqual(reference);
  });

  it("checking a spec (and importing cellc/runtime and cellc/plugin) loads neither prettier, ts-morph nor TypeScript", async () => {
    const dir = appFolder("light", {
      "hook.mjs": `export async function resolve(s, c, next) { if (/^(prettier|ts-morph|typescript)/.test(s)) process.stderr.write("heavy " + s + "\\n"); return next(s, c); }`,
      "register.mjs": `import { register } from "node:module";\nregister(new URL("./hook.mjs", import.meta.url));\n`,
      "light.mjs": `import { check } from "cellc";\nimport "cellc/runtime";\nimport "cellc/plugin";\nconsole.log(check(${JSON.stringify(mguSpec)}).diagnostics.length);\n`,
    });
    const light = await run(process.execPath, ["--import", "./register.mjs", "light.mjs"], { cwd: dir });
    expect({ out: light.stdout.trim(), err: light.stderr }).toEqual({ out: "0", err: "" });
  });

  it("the bundler plugins: each imports; esbuild and Rollup bundle a .cell import into the compiler's kernel", async () => {
    const esbuild = pathToFileURL(join(root, "node_modules/esbuild/lib/main.js")).href;
    const rollup = pathToFileURL(join(root, "node_modules/rollup/dist/es/rollup.js")).href;
    // The bundlers come from this repository (a user has their own); the plugins from the package.
    const script = `
import { writeFileSync } from "node:fs";
import * as esbuild from ${JSON.stringify(esbuild)};
import { rollup } from ${JSON.stringify(rollup)};
import cellcEsbuild from "cellc/plugin/esbuild";
import cellcRollup from "cellc/plugin/rollup";
import cellcVite from "cellc/plugin/vite";
import cellcWebpack from "cellc/plugin/webpack";
import { cellc } from "cellc/plugin";
const names = [cellc.vite().name, cellcVite().name, cellcRollup().name, cellcEsbuild().name, typeof cellcWebpack()];
const e = await esbuild.build({ entryPoints: ["entry.js"], bundle: true, write: false, format: "esm", logLevel: "silent", plugins: [cellcEsbuild()] });
writeFileSync("out-esbuild.mjs", e.outputFiles[0].text);
const b = await rollup({ input: "entry.js", plugins: [cellcRollup()], logLevel: "silent" });
writeFileSync("out-rollup.mjs", (await b.generate({ format: "es" })).output[0].code);
const probe = (k) => {
  const params = k.createParams();
  let s = 0.1;
  for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
  const x = new Float32Array(3 * 2 * 3).map((_, i) => Math.cos(i));
  return [...k.forward(params, { x }, { batchSize: 2 }).outputs.h];
};
const kernels = [(await import("./out-esbuild.mjs")).default, (await import("./out-rollup.mjs")).default];
console.log(JSON.stringify({ names, dims: kernels.map((k) => k.meta.dims), outputs: kernels.map(probe) }));
`;
    const dir = appFolder("plugins", { "mgu.cell": mguSpec, "entry.js": `import * as kernel from "./mgu.cell?I=3&H=4&kernel";\nexport default kernel;\n`, "bundle.mjs": script });
    const r = await node("bundle.mjs", dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout) as { names: string[]; dims: unknown[]; outputs: number[][] };
    expect(out.names).toEqual(["cellc", "cellc", "cellc", "cellc", "object"]);
    expect(out.dims).toEqual([{ I: 3, H: 4 }, { I: 3, H: 4 }]);
    const reference = await loadCell(mguSpec, { dims: { I: 3, H: 4 } });
    const params = reference.createParams();
    let s = 0.1;
    for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
    const x = new Float32Array(3 * 2 * 3).map((_, i) => Math.cos(i));
    const want = [...reference.forward(params, { x }, { batchSize: 2 }).outputs["h"]!];
    expect(out.outputs).toEqual([want, want]);
  });

  it("the installed language server answers an editor over stdio", async () => {
    const dir = appFolder("lsp", { "specs/mgu.cell": mguSpec });
    const lsp = spawn(join(installedApp(), "node_modules/.bin/cellc-language-server"), ["--stdio"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
    const conn = createProtocolConnection(new StreamMessageReader(lsp.stdout), new StreamMessageWriter(lsp.stdin));
    conn.listen();
    try {
      await conn.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
      const uri = pathToFileURL(join(dir, "specs/mgu.cell")).href;
      await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "cell", version: 1, text: mguSpec } });
      const hover = (await conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line: 3, character: 9 } })) as { contents: { value: string } };
      expect(hover.contents.value).toContain("param W_f: [H, I]");
    } finally {
      conn.dispose();
      lsp.kill();
    }
  });
});
