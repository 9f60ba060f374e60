// The runtime in a browser: the cellc Vite plugin bundles a page that imports a spec at its sizes
// (`./mgu.cell?I=2&H=6&kernel`) and the browser runtime, headless Chromium (Debian's package,
// driven by puppeteer-core) trains it, saves the model to IndexedDB and loads it back. The loss
// must fall, and equal, epoch by epoch, the same training run in Node from the same sources; the
// WebAssembly backend's module of the spec trains in the same page (cross-origin isolated, so with
// shared memory) and equals its own Node run. On a page served without COOP/COEP (no shared
// memory) the plugin's `target=wasm` kernel runs as WebAssembly on one thread and agrees with the
// TypeScript kernel. The browser entry's import graph holds no `node:` module. Without Chromium
// (`.ci/run` installs it) the browser part is skipped, named with the reason.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile, importModule, loadCell } from "../driver/index.ts";
import type { CellKernel } from "../abi/kernel.ts";
import * as runtime from "../runtime/index.ts";
import { serveStatic } from "./helpers/static-server.ts";

const root = new URL("..", import.meta.url).pathname;
/** CHROMIUM_PATH, when set, is the only browser tried (set it to a missing file to see the skip). */
const chromiumPath = process.env["CHROMIUM_PATH"];
const chromium = (chromiumPath !== undefined ? [chromiumPath] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"]).find((p) => p && existsSync(p));
const noChromium = chromiumPath !== undefined ? `no Chromium at CHROMIUM_PATH=${chromiumPath}` : "no Chromium found; install Debian's chromium package, or set CHROMIUM_PATH";
const work = mkdtempSync(join(tmpdir(), "cellc-browser-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

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

/** The training both sides run (`kernel` and the runtime's names in scope): the sign of a
 *  sequence's sum, 6 epochs of Adam; then save, load into a fresh model, predict with both. */
const training = `
  const B = 16, T = 6;
  const x = new Float32Array(B * T * 2), y = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) for (let j = 0; j < 2; j++) { const v = Math.sin(1.3 * b + 0.7 * t + j); x[(b * T + t) * 2 + j] = v; s += v; }
    y[b] = s > 0 ? 1 : 0;
  }
  const make = () => sequential([recurrent({ kernel }), dense(1, { activation: "sigmoid" })], { seed: 3 });
  const model = make();
  model.compile({ optimizer: adam({ learningRate: 0.05 }), loss: "binaryCrossentropy" });
  const h = await model.fit(tensor(x, [B, T, 2]), tensor(y, [B, 1]), { epochs: 6, batchSize: 8, shuffle: false, verbose: 0 });
  const losses = h.history["loss"];
  await model.save("models/mgu");
  const copy = make();
  await copy.build([T, 2]);
  await copy.load("models/mgu");
  const same = Array.from(model.predict(tensor(x, [B, T, 2])).data).every((v, i) => v === copy.predict(tensor(x, [B, T, 2])).data[i]);
`;

/** Every module runtime/browser.ts reaches through relative imports, and the bare ones it names. */
function importGraph(entry: string): { files: string[]; bare: string[] } {
  const files: string[] = [];
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/gm)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare: [...bare] };
}

/** Serves the built page in `dir` on loopback (with COOP/COEP headers when `isolated`), opens it
 *  in headless Chromium and returns what the page left in globalThis.result; no page error. */
async function pageResult(dir: string, isolated: boolean): Promise<unknown> {
  const headers: Record<string, string> = isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
  const server = await serveStatic(dir, { headers });
  const puppeteer = await import("puppeteer-core");
  const browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(String(e)));
    await tab.goto(server.url);
    await tab.waitForFunction("globalThis.result !== undefined", { timeout: 120_000 });
    const result = await tab.evaluate("globalThis.result");
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser.close();
    await server.close();
  }
}

describe("the runtime in a browser", () => {
  it("the browser entry imports no node: module (nor anything outside the runtime, the kernel contract and the data formats)", () => {
    const g = importGraph(join(root, "runtime/browser.ts"));
    expect(g.files.length).toBeGreaterThan(10);
    // onnx-proto (protobufjs-generated, browser-safe) is the one package: model.toOnnx() loads it
    // on first use.
    expect(g.bare.filter((b) => b !== "onnx-proto")).toEqual([]);
    // The kernel contract (abi/) re-exports facts whose one home is a backend's support file (code
    // every generated module inlines, importing nothing): those leaves are part of the contract.
    // formats/ (ONNX's protobuf schema, the weight names) is a leaf of pure data formats.
    const contract = (f: string) => f.startsWith(join(root, "abi")) || f.startsWith(join(root, "formats")) || /\/backends\/\w+\/support\/[^/]+\.ts$/.test(f);
    for (const f of g.files) expect(f.startsWith(join(root, "runtime")) || contract(f), f).toBe(true);
  });

  const title = "the Vite plugin bundles a page whose model trains in headless Chromium, as it does in Node";
  it.skipIf(!chromium)(chromium ? title : `${title} (skipped: ${noChromium})`, async () => {
    const t0 = performance.now();
    const page = join(work, "page");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(page, { recursive: true });
    writeFileSync(join(page, "mgu.cell"), spec);
    writeFileSync(join(page, "index.html"), `<!doctype html><title>cellc</title><script type="module" src="./main.ts"></script>\n`);
    // The WebAssembly backend's module of the same spec, built ahead (as cellc build --target wasm would).
    const wasmModule = await compile(spec, { file: "mgu.cell", dims: { I: 2, H: 6 }, format: false, target: "wasm" });
    writeFileSync(join(page, "mgu-wasm.ts"), wasmModule.module!.code);
    writeFileSync(
      join(page, "main.ts"),
      `import * as tsKernel from "./mgu.cell?I=2&H=6&kernel";
import * as wasmKernel from "./mgu-wasm.ts";
import { adam, dense, recurrent, sequential, tensor } from "cellc/runtime";
const train = async (kernel: typeof tsKernel) => {
  ${training}
  return { losses, same };
};
(async () => {
  const ts = await train(tsKernel);
  const wasm = await train(wasmKernel as unknown as typeof tsKernel);
  (globalThis as unknown as { result: unknown }).result = { ...ts, wasm, wasmBackend: wasmKernel.meta.backend, wasmFma: (wasmKernel.meta as { fma?: boolean }).fma ?? null };
})().catch((e) => { (globalThis as unknown as { result: unknown }).result = { error: String(e) }; });
`,
    );
    const { build } = await import("vite");
    const { default: cellc } = await import("../plugin/vite.ts");
    await build({
      root: page,
      configFile: false,
      logLevel: "silent",
      plugins: [cellc()],
      resolve: { alias: { "cellc/runtime": join(root, "runtime/browser.ts") } },
      build: { outDir: join(work, "dist"), emptyOutDir: true, minify: false, target: "es2022" },
    });
    const tBundle = performance.now();
    const js = readdirSync(join(work, "dist/assets")).filter((f) => f.endsWith(".js"));
    const bundled = js.map((f) => readFileSync(join(work, "dist/assets", f), "utf8")).join("\n");
    expect(bundled).not.toMatch(/(?:from\s*|import\(\s*|require\(\s*)["']node:/);
    expect(bundled).toContain("mgu"); // the kernel was compiled into the bundle

    // Cross-origin isolated, so the page has SharedArrayBuffer and the wasm module its shared memory.
    const result = (await pageResult(join(work, "dist"), true)) as { losses?: number[]; same?: boolean; error?: string; wasm?: { losses: number[]; same: boolean }; wasmBackend?: string; wasmFma?: boolean | null };
    expect(result.error).toBeUndefined();
    const losses = result.losses!;
    expect(losses).toHaveLength(6);
    expect(losses[5]!).toBeLessThan(0.8 * losses[0]!);
    expect(result.same).toBe(true); // saved to IndexedDB and loaded back exactly

    // The same training in Node, from the same sources (the plugin compiles with format off).
    const r = await compile(spec, { file: "mgu.cell", dims: { I: 2, H: 6 }, format: false });
    const kernel = (await importModule(r.module!.code)) as CellKernel;
    const fs = runtime.memoryCheckpointFs();
    const { adam, dense, recurrent, sequential, tensor } = runtime;
    const nodeRun = (await new Function("kernel", "adam", "dense", "recurrent", "sequential", "tensor", "fs", `return (async () => { ${training.replace(/save\("models\/mgu"\)/, 'save("models/mgu", { fs })').replace(/load\("models\/mgu"\)/, 'load("models/mgu", { fs })')}; return { losses, same }; })();`)(
      kernel, adam, dense, recurrent, sequential, tensor, fs,
    )) as { losses: number[]; same: boolean };
    // Equal to the last few bits: Chromium's V8 and Node's may round Math.exp and Math.log differently.
    expect(losses).toHaveLength(nodeRun.losses.length);
    losses.forEach((l, i) => expect(Math.abs(l - nodeRun.losses[i]!)).toBeLessThanOrEqual(1e-12 * Math.abs(nodeRun.losses[i]!)));
    expect(nodeRun.same).toBe(true);

    // The WebAssembly module ran as WebAssembly in the page (not its TypeScript fallback) and
    // trained as the same module does in Node; against the TypeScript kernel it differs only by
    // float32 rounding (sums in another order, f32x4 activations).
    expect(result.wasmBackend).toBe("wasm");
    const wasmKernel = (await importModule(wasmModule.module!.code)) as CellKernel;
    expect(wasmKernel.meta.backend).toBe("wasm");
    const nodeWasm = (await new Function("kernel", "adam", "dense", "recurrent", "sequential", "tensor", "fs", `return (async () => { ${training.replace(/save\("models\/mgu"\)/, 'save("models/mgu", { fs })').replace(/load\("models\/mgu"\)/, 'load("models/mgu", { fs })')}; return { losses, same }; })();`)(
      wasmKernel, adam, dense, recurrent, sequential, tensor, runtime.memoryCheckpointFs(),
    )) as { losses: number[]; same: boolean };
    const wasmLosses = result.wasm!.losses;
    expect(wasmLosses).toHaveLength(6);
    expect(result.wasm!.same).toBe(true);
    // The same binary (Chromium and Node both with or both without relaxed SIMD) trains to the
    // same losses; Chromium runs the fused multiply-add twin where Node 20 (without
    // --experimental-wasm-relaxed-simd) runs the plain one, and FMA rounds once where mul + add
    // rounds twice: then they agree to float32 rounding, as test/wasm-fma.test.ts states (2e-4).
    const nodeFma = (wasmKernel.meta as { fma?: boolean }).fma ?? null;
    const sameBinary = result.wasmFma === nodeFma;
    wasmLosses.forEach((l, i) => expect(Math.abs(l - nodeWasm.losses[i]!)).toBeLessThanOrEqual((sameBinary ? 1e-12 : 2e-4) * Math.abs(nodeWasm.losses[i]!)));
    wasmLosses.forEach((l, i) => expect(Math.abs(l - losses[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(losses[i]!)));
    console.log(`browser test: bundle ${((tBundle - t0) / 1000).toFixed(1)} s, browser run ${((performance.now() - tBundle) / 1000).toFixed(1)} s; losses ${losses.map((l) => l.toFixed(4)).join(" ")}`);
  }, 240_000);

  const plainTitle = "on a page that is not cross-origin isolated, a WebAssembly kernel (the plugin's target=wasm) runs as WebAssembly on one thread, as the TypeScript kernel computes";
  it.skipIf(!chromium)(chromium ? plainTitle : `${plainTitle} (skipped: ${noChromium})`, async () => {
    const page = join(work, "plain");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(page, { recursive: true });
    writeFileSync(join(page, "mgu.cell"), spec);
    writeFileSync(join(page, "index.html"), `<!doctype html><title>cellc</title><script type="module" src="./main.ts"></script>\n`);
    // Forward (asking for 2 threads) and backward on fixed params and inputs, on each kernel.
    writeFileSync(
      join(page, "main.ts"),
      `import * as wasm from "./mgu.cell?I=2&H=6&target=wasm&kernel";
import * as ts from "./mgu.cell?I=2&H=6&kernel";
const probe = (k: typeof ts) => {
  const params = k.createParams();
  let s = 0.1;
  for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
  const B = 5, T = 4;
  const x = new Float32Array(T * B * 2).map((_, i) => Math.cos(i));
  const r = k.forward(params, { x }, { batchSize: B, threads: 2 });
  const g = k.backward(params, r.tape, { h: new Float32Array(T * B * 6).fill(0.5) });
  return [r.outputs, r.finalState, g.params].flatMap((o) => Object.values(o).flatMap((a) => [...(a as Float32Array)]));
};
try {
  const used = (wasm as unknown as { threadsUsed(): number }).threadsUsed;
  const w = probe(wasm);
  (globalThis as unknown as { result: unknown }).result = {
    isolated: globalThis.crossOriginIsolated, shared: typeof SharedArrayBuffer, backend: wasm.meta.backend, threads: wasm.meta.threads ?? null, used: used(), wasm: w, ts: probe(ts),
  };
} catch (e) { (globalThis as unknown as { result: unknown }).result = { error: String(e) }; }
`,
    );
    const { build } = await import("vite");
    const { default: cellc } = await import("../plugin/vite.ts");
    const dist = join(work, "plain-dist");
    await build({ root: page, configFile: false, logLevel: "silent", plugins: [cellc()], build: { outDir: dist, emptyOutDir: true, minify: false, target: "es2022" } });
    // No COOP/COEP headers: no SharedArrayBuffer, no shared WebAssembly memory.
    const result = (await pageResult(dist, false)) as { isolated?: boolean; shared?: string; backend?: string; threads?: number | null; used?: number; wasm?: number[]; ts?: number[]; error?: string };
    expect(result.error).toBeUndefined();
    expect([result.isolated, result.shared]).toEqual([false, "undefined"]);
    expect([result.backend, result.threads, result.used]).toEqual(["wasm", null, 1]);
    // The independent reference: the TypeScript kernel, in the page and in Node.
    const ref = await loadCell(spec, { dims: { I: 2, H: 6 } });
    const params = ref.createParams();
    let s = 0.1;
    for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = Math.sin((s += 0.37));
    const x = new Float32Array(4 * 5 * 2).map((_, i) => Math.cos(i));
    const r = ref.forward(params, { x }, { batchSize: 5 });
    const g = ref.backward(params, r.tape, { h: new Float32Array(4 * 5 * 6).fill(0.5) });
    const node = [r.outputs, r.finalState, g.params].flatMap((o) => Object.values(o).flatMap((a) => [...a]));
    expect(result.ts!.length).toBe(node.length);
    result.ts!.forEach((v, i) => expect(Math.abs(v - node[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(node[i]!))));
    expect(result.wasm!.length).toBe(node.length);
    const worst = result.wasm!.reduce((m, v, i) => Math.max(m, Math.abs(v - node[i]!) / (1 + Math.abs(node[i]!))), 0);
    expect(worst).toBeLessThan(1e-5);
    expect(worst).toBeGreaterThan(0); // WebAssembly's sums, not the TypeScript kernel's
  }, 240_000);
});
