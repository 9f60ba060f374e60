// The WebAssembly backend's memory: regions of its wasm memory are found first-fit, given back and
// merged; params from createParams() stay valid (and are still read in place) after the memory
// grows for a larger tape; arrays passed in from elsewhere are copied, never aliased; without
// WebAssembly the module falls back to the TypeScript kernel it embeds, and without shared memory
// it runs as WebAssembly on one thread; a call too large for the memory is a KernelMemoryError
// that says what fits.

import { describe, expect, it } from "vitest";
import { loadCellFile } from "../driver/index.ts";
import { Heap, HeapFull, memoryError, WA } from "../backends/wasm/support/heap.ts";
import { Rng } from "./helpers/rng.ts";
import type { CellKernel } from "../abi/kernel.ts";
import { readFileSync } from "node:fs";

describe("Heap", () => {
  it("allocates aligned regions with room after them, reuses and merges what is given back", () => {
    const memory = new WA.Memory({ initial: 1, maximum: 65536, shared: true });
    const heap = new Heap(memory, 100);
    const a = heap.alloc(10);
    const b = heap.alloc(100);
    const c = heap.alloc(1000);
    expect([a % 64, b % 64, c % 64]).toEqual([0, 0, 0]);
    expect(b - a).toBeGreaterThanOrEqual(10 + 16);
    expect(c - b).toBeGreaterThanOrEqual(100 + 16);
    heap.release(b, 100);
    expect(heap.alloc(50)).toBe(b); // first fit
    heap.release(a, 10);
    heap.release(b, 50);
    expect(heap.alloc(150)).toBe(a); // the two freed neighbours merged
    const used = heap.used();
    heap.release(c, 1000);
    expect(heap.used()).toBeLessThan(used); // the end goes back to the top
    // Growing: a region past the first page grows the memory; earlier views stay valid.
    const view = new Float32Array(heap.buffer() as ArrayBuffer, a, 4);
    view.set([1, 2, 3, 4]);
    const big = heap.alloc(8 << 20);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big + (8 << 20));
    expect(Array.from(view)).toEqual([1, 2, 3, 4]);
    expect(heap.owns(view)).toBe(true);
    expect(heap.owns(new Float32Array(4))).toBe(false);
  });
});

describe("a full memory", () => {
  it("a region past the memory's limit is a HeapFull saying the largest region that fits, and allocates nothing", () => {
    const memory = new WA.Memory({ initial: 1, maximum: 65536, shared: true });
    const heap = new Heap(memory, 0, 4 * 65536);
    heap.alloc(100_000); // 100,032 bytes with its room, aligned to 64
    let full: unknown;
    try {
      heap.alloc(200_000);
    } catch (e) {
      full = e;
    }
    expect(full).toBeInstanceOf(HeapFull);
    // 262,144 - 100,032 = 162,112 bytes, less the 16 of room after a region.
    expect([(full as HeapFull).bytes, (full as HeapFull).largest]).toEqual([200_000, 162_096]);
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(4 * 65536);
    heap.alloc(162_096); // fits exactly
    expect(() => heap.alloc(1)).toThrow(HeapFull);
  });

  it("memoryError says what fits at the call's B, counting what the call holds (backward's tape), or the B that fits at T=1", () => {
    const training = [{ label: "forward and backward", bytes: (t: number, b: number) => 2000 * t * b }];
    // 20,000 free and 30,000 held: 2000·T·4 ≤ 50,000 up to T = 6.
    const e = memoryError("k.backward", "its adjoints", 10, 4, new HeapFull(40_000, 20_000), training, 30_000);
    expect(e.message).toBe(
      "k.backward: out of WebAssembly memory: its adjoints at T=10, B=4 needs 40.00 kB (40,000 bytes), but 20.00 kB (20,000 bytes) is free (a module's memory holds at most 4 GiB, 4.29 GB). At B=4 the most that fits is T=6 (T·B = 24) for forward and backward",
    );
    expect([e.name, e.bytes, e.available, e.maxSteps, e instanceof RangeError]).toEqual(["KernelMemoryError", 40_000, 20_000, 24, true]);
    const alone = [{ label: "forward alone", bytes: (t: number, b: number) => 1000 * t * b }];
    expect(memoryError("k.forward", "its tape", 3, 100, new HeapFull(300_000, 20_000), alone).message).toMatch(/At B=100 the most that fits is not even T=1 for forward alone \(at T=1, B up to 20\)$/);
  });
});

describe("wasm kernel memory", () => {
  it("createParams views survive growth of the memory and are still read in place", async () => {
    const k = await loadCellFile("examples/specs/lstm.cell", { dims: { I: 3, H: 4 }, target: "wasm" });
    const rng = new Rng(4);
    const own = k.createParams();
    for (const p of k.meta.params) for (let i = 0; i < p.size; i++) own[p.name]![i] = rng.normal() * 0.4;
    const copies = Object.fromEntries(Object.entries(own).map(([n, a]) => [n, Float32Array.from(a)]));
    const x = new Float32Array(5 * 2 * 3).map(() => rng.normal());
    const before = Array.from(k.forward(own, { x }, { batchSize: 2 }).outputs.h!);
    // A tape of several megabytes grows the memory past where the params were made.
    const T = 2000;
    const B = 64;
    k.forward(own, { x: new Float32Array(T * B * 3) }, { batchSize: B });
    expect(own.W_i!.length).toBe(12);
    expect(Array.from(k.forward(own, { x }, { batchSize: 2 }).outputs.h!)).toEqual(before);
    // In place: a change to the view is seen; the copies (separate arrays) give the old result.
    own.U_f!.fill(0.9);
    const changed = Array.from(k.forward(own, { x }, { batchSize: 2 }).outputs.h!);
    expect(changed).not.toEqual(before);
    expect(Array.from(k.forward(copies, { x }, { batchSize: 2 }).outputs.h!)).toEqual(before);
  });
});

describe("without shared memory", () => {
  it("the module runs as WebAssembly on one thread (plain node, SharedArrayBuffer deleted): params are arrays of their own, calls that grow the memory compute as with shared memory", async () => {
    const { compile } = await import("../driver/index.ts");
    const { default: ts } = await import("typescript");
    const { execFile } = await import("node:child_process");
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const built = await compile(readFileSync("examples/specs/lstm.cell", "utf8"), { file: "lstm.cell", dims: { I: 8, H: 32 }, target: "wasm", format: false });
    const js = ts.transpileModule(built.module!.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    const dir = mkdtempSync(join(tmpdir(), "cellc-unshared-"));
    try {
      writeFileSync(join(dir, "lstm.mjs"), js);
      // T·B = 3200 rows: the tape and adjoints grow the memory from one page to several MB.
      const probe = `
        const params = k.createParams();
        let s = 0.1;
        for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = 0.3 * Math.sin((s += 0.37));
        const B = 16, T = 200;
        const x = new Float32Array(T * B * 8).map((_, i) => Math.cos(i));
        const r = k.forward(params, { x }, { batchSize: B, threads: 2 });
        const g = k.backward(params, r.tape, { h: new Float32Array(T * B * 32).fill(0.01) });
        const numbers = [r.finalState, g.params, g.initialState].flatMap((o) => Object.values(o).flatMap((a) => [...a]));
        return { backend: k.meta.backend, threads: k.meta.threads ?? null, used: k.threadsUsed(), shared: params.W_i.buffer instanceof ArrayBuffer ? "own" : "view", numbers };`;
      const script = `delete globalThis.SharedArrayBuffer;
const k = await import(${JSON.stringify(join(dir, "lstm.mjs"))});
console.log(JSON.stringify((() => {${probe}})()));`;
      type Probe = { backend: string; threads: number | null; used: number; shared: string; numbers: number[] };
      const alone = await new Promise<Probe>((resolve, reject) =>
        execFile(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 1 << 26 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Probe))),
      );
      expect([alone.backend, alone.threads, alone.used, alone.shared]).toEqual(["wasm", null, 1, "own"]);
      // The same module with shared memory, on two threads here: the same numbers, bit for bit.
      const here = new Function("k", probe)(await import(join(dir, "lstm.mjs"))) as Probe;
      expect([here.backend, here.threads, here.used, here.shared]).toEqual(["wasm", 1, 2, "view"]);
      expect(alone.numbers.length).toBe(here.numbers.length);
      expect(alone.numbers.every((v, i) => Object.is(v, here.numbers[i]))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fallback", () => {
  it("without WebAssembly the module runs its embedded TypeScript kernel and says so in meta", async () => {
    const { compile, importModule } = await import("../driver/index.ts");
    const source = readFileSync("examples/specs/gru.cell", "utf8");
    const built = await compile(source, { file: "gru.cell", dims: { I: 3, H: 5 }, target: "wasm", format: false });
    const g = globalThis as unknown as { WebAssembly: unknown };
    const saved = g.WebAssembly;
    let k: CellKernel;
    try {
      g.WebAssembly = undefined;
      // A text of its own: modules are cached by their text, and this one ran without WebAssembly.
      k = (await importModule(`${built.module!.code}\n// fallback test\n`)) as CellKernel;
    } finally {
      g.WebAssembly = saved;
    }
    expect(k.meta.backend).toBe("ts");
    const wasm = await loadCellFile("examples/specs/gru.cell", { dims: { I: 3, H: 5 }, target: "wasm" });
    expect(wasm.meta.backend).toBe("wasm");
    const rng = new Rng(12);
    const p = k.createParams();
    for (const q of k.meta.params) for (let i = 0; i < q.size; i++) p[q.name]![i] = rng.normal() * 0.5;
    const pw = Object.fromEntries(Object.entries(p).map(([n, a]) => [n, Float32Array.from(a)]));
    const x = new Float32Array(4 * 2 * 3).map(() => rng.normal());
    const a = k.forward(p, { x }, { batchSize: 2 }).outputs.h!;
    const b = wasm.forward(pw, { x }, { batchSize: 2 }).outputs.h!;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeGreaterThan(0); // two different implementations...
    expect(worst).toBeLessThan(1e-6); // ...of the same plan
  });
});

describe("out of memory", () => {
  it("a call larger than a module's 4 GiB memory is a KernelMemoryError naming the kernel, T, B, the bytes and the largest T·B that fits; the kernel runs on", async () => {
    const { planKernel } = await import("../driver/index.ts");
    const spec = "examples/specs/lstm.cell";
    const dims = { I: 1, H: 64 };
    const k = await loadCellFile(spec, { dims, target: "wasm" });
    const params = k.createParams();
    const x = new Float32Array(6).fill(0.5);
    const before = Array.from(k.forward(params, { x }, { batchSize: 2 }).outputs.h!);
    const T = 100_000;
    const B = 64;
    let err: (Error & { bytes?: number; available?: number; maxSteps?: number }) | undefined;
    try {
      k.forward(params, { x: new Float32Array(T * B) }, { batchSize: B });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err).toBeInstanceOf(RangeError);
    expect(err!.name).toBe("KernelMemoryError");
    // The independent reference: the tape's forward buffers from the plan, row by row (the
    // kernel pads each buffer to a cache line).
    const { plan } = planKernel(readFileSync(spec, "utf8"), { file: spec, dims });
    const forwardBufs = plan!.buffers.filter((b) => b.entry === "forward");
    const rows = (r: string, t: number) => (r === "seq" ? t * B : r === "carry" ? (t + 1) * B : r === "batch" ? B : 1);
    const exact = (t: number) => forwardBufs.reduce((s, b) => s + rows(b.rows, t) * b.width * 4, 0);
    const m = /^lstm\.forward: out of WebAssembly memory: its tape at T=100000, B=64 needs [\d.]+ GB \(([\d,]+) bytes\), but [\d.]+ GB \(([\d,]+) bytes\) is free \(a module's memory holds at most 4 GiB, 4.29 GB\)\. At B=64 the most that fits is T=(\d+) \(T·B = (\d+)\) for forward alone, T=(\d+) \(T·B = (\d+)\) for forward and backward$/.exec(err!.message);
    expect(m, err!.message).not.toBeNull();
    const [needed, free, most, mostTB, train, trainTB] = m!.slice(1).map((v) => Number(v.replace(/,/g, "")));
    expect(needed).toBeGreaterThanOrEqual(exact(T));
    expect(needed).toBeLessThanOrEqual(exact(T) + forwardBufs.length * 80);
    // Free: 4 GiB less the params, the small tape above and the kernel's own regions (a few MB).
    expect(free).toBeLessThan(2 ** 32 - 4 * k.meta.paramCount);
    expect(free).toBeGreaterThan(2 ** 32 - 32e6);
    // Padding is under one step's bytes, so the largest T is the exact one or one less.
    const perStep = exact(1) - exact(0);
    const estimate = Math.floor((free - exact(0)) / perStep);
    expect(most).toBeGreaterThanOrEqual(estimate - 1);
    expect(most).toBeLessThanOrEqual(estimate);
    expect(mostTB).toBe(most! * B);
    expect(train).toBeLessThan(most!); // backward's adjoints need room too
    expect(train).toBeGreaterThan(0);
    expect(trainTB).toBe(train! * B);
    expect([err!.bytes, err!.available, err!.maxSteps]).toEqual([needed, free, trainTB]);
    // Nothing was lost: the kernel computes as before, and the same call fails the same way.
    expect(() => k.forward(params, { x: new Float32Array(T * B) }, { batchSize: B })).toThrow(err!.message);
    expect(Array.from(k.forward(params, { x }, { batchSize: 2 }).outputs.h!)).toEqual(before);
  });
});
