// Features of today's CLI and plugins, as installed: `cellc build` in a plain JavaScript project
// writes .js + .d.ts (and --format says which), the .js kernels plain node runs compute what the
// sources' kernel computes, and a strict tsc checks a consumer of the .d.ts; the esbuild plugin's
// target=wasm / target: "wasm" bundle runs as WebAssembly on one thread where there is no
// SharedArrayBuffer; a call too large for WebAssembly memory is a KernelMemoryError naming T and
// B; `cellc help` lists every command; a spec file name with ESC and BEL reaches the terminal only
// as escapes; a torch module built from a file name holding `"""` and __import__ imports in
// python3 without running it.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCell } from "../../driver/index.ts";
import { findTorch } from "../helpers/torch.ts";
import { appFolder, cellc, installedApp, mguSpec, node, run, type Ran } from "./app.ts";

const root = new URL("../..", import.meta.url).pathname;

/** A JavaScript project: a package.json without TypeScript, no tsconfig.json. */
let dir: string;
/** The kernels the tests run, built at once (independent processes, mostly start-up). */
let builds: Promise<Record<"auto" | "ts" | "wasm" | "big", Ran>>;
beforeAll(() => {
  dir = appFolder("cli-features", {
    "package.json": JSON.stringify({ name: "js-app", private: true, type: "module" }),
    "specs/mgu.cell": mguSpec,
  });
  const build = (...args: string[]) => cellc(["build", "specs/mgu.cell", ...args], dir);
  builds = Promise.all([
    build("--dims", "I=3,H=4", "--out", "auto"),
    build("--dims", "I=3,H=4", "--out", "ts", "--format", "ts"),
    build("--dims", "I=3,H=4", "--out", "wasm", "--target", "wasm", "--format", "js"),
    build("--dims", "I=1,H=64", "--out", "big", "--target", "wasm", "--format", "js"),
  ]).then(([auto, ts, wasm, big]) => ({ auto, ts, wasm, big }));
  // A failed build fails the test that uses it, not the hook.
  builds.catch(() => undefined);
});

/** The probe every kernel runs: fixed params, forward at T = 4, B = 2; the output h. */
const probeSource = `(k) => {
  const params = k.createParams();
  let s = 0.1;
  for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
  const x = new Float32Array(4 * 2 * 3).map((_, i) => Math.cos(i));
  return [...k.forward(params, { x }, { batchSize: 2 }).outputs.h];
}`;
/** The probe on the sources' TypeScript kernel of mgu (I = 3, H = 4): the reference. */
const reference = async () => (new Function(`return ${probeSource}`)() as (k: unknown) => number[])(await loadCell(mguSpec, { dims: { I: 3, H: 4 } }));

const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  expect(want.some((v) => Math.abs(v) > 1e-2)).toBe(true);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThan(1e-5);
};

describe("cellc build in a plain JavaScript project", () => {
  it("defaults to .js + .d.ts, --format ts|js says otherwise; plain node runs the .js to the sources' numbers; strict tsc checks a consumer", async () => {
    const { auto, ts, wasm } = await builds;
    expect({ code: auto.code, stderr: auto.stderr }).toEqual({ code: 0, stderr: "" });
    expect(auto.stdout).toContain("format: js (package.json has no TypeScript dependency and there is no tsconfig.json; choose with --format or \"format\")");
    for (const r of [ts, wasm]) expect({ code: r.code, stderr: r.stderr, chosen: r.stdout.includes("format:") }).toEqual({ code: 0, stderr: "", chosen: false });
    expect(readdirSync(join(dir, "auto")).sort()).toEqual(["mgu_I3_H4.d.ts", "mgu_I3_H4.js"]);
    expect(readdirSync(join(dir, "ts"))).toEqual(["mgu_I3_H4.ts"]);
    expect(readdirSync(join(dir, "wasm")).sort()).toEqual(["mgu_I3_H4.d.ts", "mgu_I3_H4.js"]);

    appFolder("cli-features", {
      "probe.mjs": `import * as js from "./auto/mgu_I3_H4.js";
import * as wasm from "./wasm/mgu_I3_H4.js";
const probe = ${probeSource};
console.log(JSON.stringify({ backends: [js.meta.backend, wasm.meta.backend], js: probe(js), wasm: probe(wasm) }));
`,
    });
    const r = await node("probe.mjs", dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout) as { backends: string[]; js: number[]; wasm: number[] };
    expect(out.backends).toEqual(["ts", "wasm"]);
    // The .ts the installed bin wrote, run through the installed package's jit, computes the same.
    appFolder("cli-features", {
      "probe-ts.mjs": `import { readFileSync } from "node:fs";
import { importModule } from "cellc";
const k = await importModule(readFileSync("ts/mgu_I3_H4.ts", "utf8"));
console.log(JSON.stringify((${probeSource})(k)));
`,
    });
    const viaJit = await node("probe-ts.mjs", dir);
    expect({ code: viaJit.code, stderr: viaJit.stderr }).toEqual({ code: 0, stderr: "" });
    const want = await reference();
    expect(out.js).toEqual(want);
    expect(JSON.parse(viaJit.stdout)).toEqual(want);
    close(out.wasm, want);

    // A strict TypeScript consumer of the declarations (tsc from the app's install).
    const typed = appFolder("cli-features/typed", {
      "consumer.ts": `import { createParams, forward, meta, type ForwardOptions, type Params } from "../auto/mgu_I3_H4.js";
import * as wasm from "../wasm/mgu_I3_H4.js";
const p: Params = createParams({ seed: 1 });
const o: ForwardOptions = { batchSize: 2 };
const h: Float32Array = forward(p, { x: new Float32Array(12) }, o).outputs.h;
const name: "mgu" = meta.name;
const backend: "ts" | "wasm" = wasm.meta.backend;
// @ts-expect-error: not an input of this cell
forward(p, { y: new Float32Array(12) }, o);
// @ts-expect-error: the seed is a number
createParams({ seed: "1" });
export const used = [h, name, backend];
`,
      "tsconfig.json": JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: [], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false },
        files: ["consumer.ts"],
      }),
    });
    const tsc = await run(join(installedApp(), "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: typed });
    expect({ code: tsc.code, out: tsc.stdout + tsc.stderr }).toEqual({ code: 0, out: "" });
  });

  it("a call too large for WebAssembly memory is a KernelMemoryError naming T and B; the kernel runs on", async () => {
    const r = (await builds).big;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    appFolder("cli-features", {
      "big.mjs": `import * as k from "./big/mgu_I1_H64.js";
const params = k.createParams({ seed: 1 });
const T = 100000, B = 64;
let e;
try { k.forward(params, { x: new Float32Array(T * B) }, { batchSize: B }); } catch (err) { e = err; }
// The kernel runs on after the refusal.
const after = k.forward(params, { x: new Float32Array(2).fill(0.5) }, { batchSize: 2 }).outputs.h.length;
console.log(JSON.stringify({ name: e?.name, range: e instanceof RangeError, message: e?.message, after }));
`,
    });
    const ran = await node("big.mjs", dir);
    expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(ran.stdout) as { name: string; range: boolean; message: string; after: number };
    expect([out.name, out.range, out.after]).toEqual(["KernelMemoryError", true, 128]);
    expect(out.message).toMatch(/^mgu\.forward: out of WebAssembly memory: its tape at T=100000, B=64 needs [\d.]+ GB/);
  });
});

describe("the installed esbuild plugin's WebAssembly target", () => {
  it("target=wasm in the query and target: \"wasm\" in the options: without SharedArrayBuffer the bundle runs as WebAssembly on one thread, equal to the ts kernel", async () => {
    const esbuild = pathToFileURL(join(root, "node_modules/esbuild/lib/main.js")).href;
    appFolder("cli-features", {
      "query.js": `import * as k from "./specs/mgu.cell?I=3&H=4&target=wasm&kernel";\nexport default k;\n`,
      "option.js": `import * as k from "./specs/mgu.cell?I=3&H=4&kernel";\nexport default k;\n`,
      "bundle.mjs": `import { writeFileSync } from "node:fs";
import * as esbuild from ${JSON.stringify(esbuild)};
import cellcEsbuild from "cellc/plugin/esbuild";
const build = (entry, options) => esbuild.build({ entryPoints: [entry], bundle: true, write: false, format: "esm", logLevel: "silent", plugins: [cellcEsbuild(options)] });
writeFileSync("bundle-query.mjs", (await build("query.js")).outputFiles[0].text);
writeFileSync("bundle-option.mjs", (await build("option.js", { target: "wasm" })).outputFiles[0].text);
`,
      // As on a page that is not cross-origin isolated: no shared memory, so no threads.
      "no-sab.mjs": `delete globalThis.SharedArrayBuffer;
const probe = ${probeSource};
const out = [];
for (const f of ["./bundle-query.mjs", "./bundle-option.mjs"]) {
  const k = (await import(f)).default;
  const h = probe(k);
  out.push({ backend: k.meta.backend, threads: k.meta.threads ?? null, used: k.threadsUsed ? k.threadsUsed() : null, h });
}
console.log(JSON.stringify(out));
`,
    });
    const bundled = await node("bundle.mjs", dir);
    expect({ code: bundled.code, stderr: bundled.stderr }).toEqual({ code: 0, stderr: "" });
    const r = await node("no-sab.mjs", dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout) as { backend: string; threads: number | null; used: number | null; h: number[] }[];
    const want = await reference();
    for (const o of out) {
      expect([o.backend, o.threads, o.used]).toEqual(["wasm", null, 1]);
      close(o.h, want);
    }
  });
});

describe("the installed CLI's surfaces", () => {
  it("cellc help lists every command and the exit statuses", async () => {
    const r = await cellc(["help"], dir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    for (const command of ["check", "build", "export", "study", "help"]) expect(r.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(r.stdout).toContain("70 internal error (a cellc bug)");
  });

  it("cellc check on a spec whose file name holds ESC and BEL prints them as escapes, no raw control byte", async () => {
    const name = "bad\x1b]0;owned\x07.cell";
    appFolder("cli-features/hostile", { [name]: mguSpec.replace("U_f @ h", "U_f @ hh") });
    const r = await cellc(["check", name], join(dir, "hostile"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad\\x1b]0;owned\\x07.cell:6:");
    expect(r.stderr).toContain("error CE203: unknown name 'hh'");
    // eslint-disable-next-line no-control-regex
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  const torch = findTorch();
  it.skipIf(typeof torch === "string")(`cellc build --target torch of a spec named with """ and __import__: python3 imports the module without running the name${typeof torch === "string" ? ` (SKIPPED: ${torch})` : ""}`, async () => {
    const name = 'a""" if __import__("os").system("touch PWNED") else """b.cell';
    const hostile = appFolder("cli-features/torch", { [name]: mguSpec });
    const r = await cellc(["build", name, "--dims", "I=2,H=3", "--target", "torch", "--out", "."], hostile);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const script = [
      "import importlib.util, json",
      "spec = importlib.util.spec_from_file_location('mgu_I2_H3', 'mgu_I2_H3.py')",
      "m = importlib.util.module_from_spec(spec)",
      "spec.loader.exec_module(m)",
      "cell = m.Cell()",
      "print(json.dumps({'doc': m.Cell.__doc__, 'params': sum(p.numel() for p in cell.parameters())}))",
    ].join("\n");
    const py = await run((torch as { python: string }).python, ["-c", script], { cwd: hostile });
    expect({ code: py.code, stderr: py.stderr }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(join(hostile, "PWNED"))).toBe(false);
    const got = JSON.parse(py.stdout) as { doc: string; params: number };
    expect(got.doc).toContain(name);
    expect(got.params).toBe(2 * (3 * 2 + 3 * 3 + 3));
  });
});
