// The bundler plugin (plugin/, on unplugin) in each bundler: Vite, Rollup, esbuild and webpack
// build a module that imports `./mgu.cell?I=3&H=4&kernel`; the bundled kernel must compute what
// the compiler's own module computes. A spec error fails each build with its code frame; a bad
// query names the size; Rollup's watch mode rebuilds when a file the spec imports changes; the
// declaration module (plugin/client.d.ts) types such imports under strict settings.

import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadCell } from "../driver/index.ts";
import type { CellKernel } from "../abi/kernel.ts";
import cellcEsbuild from "../plugin/esbuild.ts";
import cellcRollup from "../plugin/rollup.ts";
import { relaxedSimdSupported } from "../backends/wasm/support/heap.ts";
import cellcVite from "../plugin/vite.ts";
import cellcWebpack from "../plugin/webpack.ts";

const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cellc-plugin-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const gate = `cell gate(I, H) {
  input x: [I]
  state h: [H]
  param W: [H, I], U: [H, H], b: [H] = ones
  h' = sigmoid(W @ x + U @ h + b)
  output h'
}
`;
const mgu = `import { gate } from "./gate.cell"

cell mgu(I, H) {
  input x: [I]
  state h: [H]
  param W_f: [H, I], U_f: [H, H], b_f: [H] = ones
  param W_h: [H, I], U_h: [H, H], b_h: [H]
  f = sigmoid(W_f @ x + U_f @ h + b_f)
  n = tanh(W_h @ x + U_h @ (f * h) + b_h)
  h' = (1 - f) * h + f * n
  output h'
}

stack two(I, H) {
  layer gate(I, H)
  layer mgu(H, H)
}
`;

function project(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const entryText = `import * as kernel from "./mgu.cell?I=3&H=4&cell=mgu&kernel";
export default kernel;
`;

/** Runs the kernel on fixed params and inputs: its outputs and final state, as numbers. */
function probe(k: CellKernel): number[] {
  const params = k.createParams();
  let s = 0.1;
  for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
  const B = 2, T = 3;
  const x = new Float32Array(T * B * 3).map((_, i) => Math.cos(i));
  const r = k.forward(params, { x }, { batchSize: B });
  return [...Object.values(r.outputs).flatMap((a) => [...a]), ...Object.values(r.finalState).flatMap((a) => [...a])];
}

type Bundle = (dir: string, entry: string) => Promise<string>;

const bundlers: Record<string, Bundle> = {
  async vite(dir, entry) {
    const { build } = await import("vite");
    const out = (await build({
      root: dir,
      configFile: false,
      logLevel: "silent",
      plugins: [cellcVite()],
      build: { write: false, minify: false, lib: { entry: join(dir, entry), formats: ["es"], fileName: "out" } },
    })) as { output: { type: string; code?: string }[] }[];
    return out[0]!.output.find((o) => o.type === "chunk")!.code!;
  },
  async rollup(dir, entry) {
    const { rollup } = await import("rollup");
    const b = await rollup({ input: join(dir, entry), plugins: [cellcRollup()], logLevel: "silent" });
    return (await b.generate({ format: "es" })).output[0].code;
  },
  async esbuild(dir, entry) {
    const esbuild = await import("esbuild");
    const r = await esbuild.build({ entryPoints: [join(dir, entry)], bundle: true, write: false, format: "esm", logLevel: "silent", plugins: [cellcEsbuild()] });
    return r.outputFiles[0]!.text;
  },
  async webpack(dir, entry) {
    const { default: webpack } = await import("webpack");
    const outDir = join(dir, `webpack-${entry}`);
    await new Promise<void>((resolve, reject) =>
      webpack(
        {
          mode: "none",
          context: dir,
          entry: join(dir, entry),
          output: { path: outDir, filename: "out.mjs", module: true, library: { type: "module" } },
          experiments: { outputModule: true },
          plugins: [cellcWebpack()],
          infrastructureLogging: { level: "none" },
        },
        (err, stats) => (err ? reject(err) : stats?.hasErrors() ? reject(new Error(stats.toString("errors-only"))) : resolve()),
      ),
    );
    return readFileSync(join(outDir, "out.mjs"), "utf8");
  },
};

async function importBundle(code: string, name: string): Promise<CellKernel> {
  const file = join(work, `${name}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code);
  return ((await import(pathToFileURL(file).href)) as { default: CellKernel }).default;
}

describe("the cellc bundler plugin", () => {
  const reference = loadCell(mgu.replace(/^import .*$/m, "").replace(/stack two[\s\S]*$/, ""), { dims: { I: 3, H: 4 }, cell: "mgu" });

  for (const [name, bundle] of Object.entries(bundlers)) {
    it(`${name}: bundles the kernel of a .cell import at the query's sizes, computing what the compiler's module computes`, async () => {
      const dir = project(`ok-${name}`, { "gate.cell": gate, "mgu.cell": mgu, "entry.js": entryText });
      const k = await importBundle(await bundle(dir, "entry.js"), name);
      expect(k.meta.name).toBe("mgu");
      expect(k.meta.dims).toEqual({ I: 3, H: 4 });
      const want = probe(await reference);
      expect(probe(k)).toEqual(want);
    });

    it(`${name}: a spec error fails the build with the diagnostic and its code frame`, async () => {
      const broken = mgu.replace("U_f @ h +", "U_f @ hh +");
      const dir = project(`bad-${name}`, { "gate.cell": gate, "mgu.cell": broken, "entry.js": entryText });
      const err = await bundle(dir, "entry.js").then(
        () => undefined,
        (e: unknown) => e as Error & { errors?: { text: string }[] },
      );
      expect(err).toBeDefined();
      const text = [err!.message, ...(err!.errors ?? []).map((e) => e.text)].join("\n");
      expect(text).toContain("error CE203: unknown name 'hh'");
      expect(text).toContain("  f = sigmoid(W_f @ x + U_f @ hh + b_f)");
      expect(text).toMatch(/\|\s+\^\^/); // the caret line under 'hh'
    });
  }

  it("names a bad size in the query", async () => {
    const dir = project("query", { "gate.cell": gate, "mgu.cell": mgu, "entry.js": `import * as k from "./mgu.cell?I=3&H=four";\nexport default k;\n` });
    await expect(bundlers["rollup"]!(dir, "entry.js")).rejects.toThrow(/size H must be a positive integer, got 'four'/);
  });

  it("rollup --watch rebuilds when a file the spec imports changes", async () => {
    const dir = project("watch", { "gate.cell": gate, "mgu.cell": mgu, "entry.js": `import * as k from "./mgu.cell?I=3&H=4&cell=two";\nexport default k;\n` });
    const { watch } = await import("rollup");
    const outFile = join(dir, "out.mjs");
    const watcher = watch({ input: join(dir, "entry.js"), plugins: [cellcRollup()], output: { file: outFile, format: "es" }, logLevel: "silent", watch: { buildDelay: 50 } });
    const built: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        watcher.on("event", (e) => {
          if (e.code === "ERROR") reject(e.error);
          if (e.code !== "BUNDLE_END") return;
          void e.result.close();
          built.push(readFileSync(outFile, "utf8"));
          // After the first build, edit the imported spec: the gate layer gets a second bias.
          if (built.length === 1) setTimeout(() => writeFileSync(join(dir, "gate.cell"), gate.replace("b: [H] = ones", "b: [H] = ones, c: [H]").replace("+ b)", "+ b + c)")), 300);
          if (built.length === 2) resolve();
        });
      });
    } finally {
      await watcher.close();
    }
    const count = (code: string) => Number(/"paramCount":\s*(\d+)/.exec(code)?.[1]);
    // two(3, 4): gate 4·3 + 4·4 + 4 = 32, mgu(4, 4) 2·(16 + 16 + 4) = 72; then gate gains c: [4].
    expect([count(built[0]!), count(built[1]!)]).toEqual([104, 108]);
  });

  it("types .cell imports through the declaration module under strict settings", () => {
    const dir = project("types", {
      "main.ts": `/// <reference path="${join(root, "plugin/client.d.ts")}" />
import * as lstm from "./mgu.cell?I=3&H=4&kernel";
import * as plain from "./mgu.cell";
import type { CellKernel } from "cellc/abi";
const k: CellKernel = lstm;
const p = plain.createParams();
const r = k.forward(p, { x: new Float32Array(12) }, { batchSize: 4 });
export const n: number = r.tape.timeSteps + plain.meta.paramCount;
`,
      "tsconfig.json": JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          noUnusedLocals: true,
          verbatimModuleSyntax: true,
          module: "esnext",
          moduleResolution: "bundler",
          target: "es2022",
          lib: ["es2022"],
          types: [],
          noEmit: true,
          allowImportingTsExtensions: true,
          paths: { "cellc/abi": [join(root, "abi/kernel.ts")] },
        },
        files: ["main.ts"],
      }),
      "package.json": JSON.stringify({ type: "module" }),
    });
    let out = "";
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out).toBe("");
  });
});

describe("the plugin's target", () => {
  /** Forward and backward on fixed params and inputs (`k` a kernel module): outputs, final state
   *  and parameter gradients, as numbers. JavaScript source, run here and in a child process. */
  const probeSource = `
    const params = k.createParams();
    let s = 0.1;
    for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
    const B = 5, T = 4;
    const x = new Float32Array(T * B * 3).map((_, i) => Math.cos(i));
    const r = k.forward(params, { x }, { batchSize: B, threads: 2 });
    const g = k.backward(params, r.tape, { h: new Float32Array(T * B * 4).fill(0.5) });
    const numbers = [r.outputs, r.finalState, g.params].flatMap((o) => Object.values(o).flatMap((a) => [...a]));
    return { backend: k.meta.backend, threads: k.meta.threads ?? null, used: k.threadsUsed ? k.threadsUsed() : null, numbers };`;
  type Probe = { backend: string; threads: number | null; used: number | null; numbers: number[] };
  const probeHere = (k: unknown) => new Function("k", probeSource)(k) as Probe;
  /** The bundle run by plain node without SharedArrayBuffer, as on a page that is not
   *  cross-origin isolated. */
  const probeWithoutSharedMemory = (code: string) => {
    const file = join(work, `no-sab-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, code);
    const script = `delete globalThis.SharedArrayBuffer;
const k = (await import(${JSON.stringify(pathToFileURL(file).href)})).default;
console.log(JSON.stringify((() => {${probeSource}})()));`;
    return new Promise<Probe>((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Probe))),
    );
  };
  /** Agreement within float32 rounding (sums in another order, f32x4 activations). */
  const close = (a: number[], b: number[]) => {
    expect(a.length).toBe(b.length);
    const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / (1 + Math.abs(b[i]!))), 0);
    expect(worst).toBeLessThan(1e-5);
  };

  it("target: \"wasm\" (vite) and target=wasm in the query (rollup, esbuild, webpack) bundle the WebAssembly kernel; without shared memory it runs as WebAssembly on one thread", async () => {
    const reference = probeHere(await loadCell(mgu.replace(/^import .*$/m, "").replace(/stack two[\s\S]*$/, ""), { dims: { I: 3, H: 4 }, cell: "mgu" }));
    expect(reference.backend).toBe("ts");
    const dir = project("target", {
      "gate.cell": gate,
      "mgu.cell": mgu,
      "query.js": `import * as k from "./mgu.cell?I=3&H=4&cell=mgu&target=wasm&kernel";\nexport default k;\n`,
      "option.js": entryText,
    });
    const { build } = await import("vite");
    const out = (await build({
      root: dir,
      configFile: false,
      logLevel: "silent",
      plugins: [cellcVite({ target: "wasm" })],
      build: { write: false, minify: false, lib: { entry: join(dir, "option.js"), formats: ["es"], fileName: "out" } },
    })) as { output: { type: string; code?: string }[] }[];
    const bundles: Record<string, string> = { "vite, option": out[0]!.output.find((o) => o.type === "chunk")!.code! };
    for (const name of ["rollup", "esbuild", "webpack"]) bundles[`${name}, query`] = await bundlers[name]!(dir, "query.js");
    for (const [how, code] of Object.entries(bundles)) {
      const here = probeHere(await importBundle(code, `target-${how.replace(/\W+/g, "-")}`));
      expect([how, here.backend, here.threads, here.used]).toEqual([how, "wasm", 1, 2]);
      close(here.numbers, reference.numbers);
      const alone = await probeWithoutSharedMemory(code);
      expect([how, alone.backend, alone.threads, alone.used]).toEqual([how, "wasm", null, 1]);
      close(alone.numbers, reference.numbers);
    }
  });

  it("a bad target is named: in the query, and in the plugin's options", async () => {
    const dir = project("bad-target", { "gate.cell": gate, "mgu.cell": mgu, "entry.js": `import * as k from "./mgu.cell?I=3&H=4&target=gpu";\nexport default k;\n` });
    await expect(bundlers["rollup"]!(dir, "entry.js")).rejects.toThrow("'target=gpu' is not a target: write target=ts or target=wasm");
    expect(() => cellcRollup({ target: "gpu" as "ts" })).toThrow('cellc plugin: target must be "ts" or "wasm", got "gpu"');
  });

  it("fma: \"off\" and \"on\" bundle one WebAssembly binary each (\"auto\" both), which meta.fma names (this Node has no relaxed SIMD: \"on\" runs the TypeScript kernel); a bad value is named", async () => {
    const dir = project("fma", { "gate.cell": gate, "mgu.cell": mgu, "entry.js": `import * as k from "./mgu.cell?I=3&H=4";\nexport default k;\n` });
    const { rollup } = await import("rollup");
    const bundle = async (fma: "on" | "off" | "auto") => {
      const b = await rollup({ input: join(dir, "entry.js"), plugins: [cellcRollup({ target: "wasm", fma })], logLevel: "silent" });
      return (await b.generate({ format: "es" })).output[0].code;
    };
    const [off, on, auto] = [await bundle("off"), await bundle("on"), await bundle("auto")];
    expect([off.includes("WASM_FMA"), on.includes("WASM_FMA"), auto.includes("WASM_FMA")]).toEqual([false, false, true]);
    const [koff, kon] = [await importBundle(off, "fma-off"), await importBundle(on, "fma-on")];
    const fmaOf = (k: CellKernel) => (k.meta as { fma?: boolean }).fma;
    expect([koff.meta.backend, fmaOf(koff)]).toEqual(["wasm", false]);
    expect([kon.meta.backend, fmaOf(kon)]).toEqual([relaxedSimdSupported() ? "wasm" : "ts", relaxedSimdSupported() ? true : undefined]);
    expect(() => cellcRollup({ fma: "fast" as "on" })).toThrow('cellc plugin: fma must be "auto", "on" or "off", got "fast"');
  });

  it("vite: the error's header gives the diagnostic's line and column", async () => {
    const broken = mgu.replace("U_f @ h +", "U_f @ hh +");
    const dir = project("vite-column", { "gate.cell": gate, "mgu.cell": broken, "entry.js": entryText });
    const err = (await bundlers["vite"]!(dir, "entry.js").then(
      () => undefined,
      (e: unknown) => e as Error,
    ))!;
    expect(err).toBeDefined();
    const header = /\[plugin cellc\] \S*mgu\.cell:(\d+):(\d+)\n/.exec(err.message);
    const diagnostic = /mgu\.cell:(\d+):(\d+) error CE203/.exec(err.message);
    expect(header, err.message).not.toBeNull();
    expect(diagnostic!.slice(1)).toEqual(["8", "31"]); // the 'hh' on line 8 of mgu.cell
    expect(header!.slice(1)).toEqual(diagnostic!.slice(1));
  });
});
