// WebAssembly SIMD yardsticks for the wasm backend: the f32x4 peak of this machine (independent
// multiply-add chains in registers, no memory traffic: what no GEMM can beat) and the backend's own
// GEMM functions (backends/wasm/gemm.ts, the code its kernels call) at the benchmark's shapes, so
// "GEMM efficiency" is the kernel GEMM's GFLOP/s over the measured peak.

import { gemmFunction } from "../../backends/wasm/gemm.ts";
import { assemble } from "../../backends/wasm/module.ts";
import { WA } from "../../backends/wasm/support/heap.ts";
import { F32, madd, type Elem } from "../../backends/wasm/wat.ts";
import { packFunction } from "../../backends/wasm/body.ts";
import { dwScratchBytes, dwTiles, gemmPanels } from "../../backends/wasm/gemm.ts";
import type { GemmMeasurement } from "./gemm.ts";

/** Times `fn` (one call = `flops`), median of `runs` samples of at least 50 ms each. */
function time(label: string, m: number, n: number, k: number, flops: number, fn: () => void, runs = 7): GemmMeasurement {
  for (let w = 0; w < 3; w++) fn();
  const t0 = performance.now();
  fn();
  const reps = Math.max(1, Math.ceil(50 / Math.max(performance.now() - t0, 0.001)));
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    times.push((performance.now() - w0) / reps);
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1000 / reps);
  }
  const mid = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ms = mid(times);
  const cpuMs = mid(cpu);
  return { label, m, n, k, ms, cpuMs, gflops: flops / (ms * 1e6), cpuGflops: flops / (cpuMs * 1e6), runs };
}

/** The element type of the yardsticks: f32x4, with fused multiply-add (relaxed_madd) or without. */
const elem = (fma: boolean): Elem => (fma ? { ...F32, fma: true } : F32);

/** 12 independent chains acc += x·b (f32x4.mul, f32x4.add; with `fma`, f32x4.relaxed_madd), 4
 *  rounds per loop iteration. Two b vectors, alternating between the chains, so 15 v128 values are
 *  live (12 accumulators, x, two b), as many as V8 allocates on x64: with a b per chain (25 live)
 *  accumulators spilled to the stack inside the loop, which understated the FMA peak by ~12% (45
 *  against 51 GFLOP/s by CPU time on the benchmark machine). In the plain build the products are
 *  loop-invariant and may be hoisted, leaving the adds: still a bound, since a plain GEMM needs a
 *  multiply and an add per step and x64 has as many multiply as add pipes. */
function peakWat(fma = false): string {
  const n = 12;
  const L = ['(func (export "peak") (param $n i32) (result f32)', "(local $x v128) (local $b0 v128) (local $b1 v128)"];
  for (let i = 0; i < n; i++) L.push(`(local $a${i} v128)`);
  L.push("(local.set $x (v128.const f32x4 1.0001 1.0001 1.0001 1.0001))");
  L.push("(local.set $b0 (v128.const f32x4 1 0.5 0.25 0.125))", "(local.set $b1 (v128.const f32x4 2 0.75 0.375 0.0625))");
  L.push("(loop $l");
  for (let u = 0; u < 4; u++) for (let i = 0; i < n; i++) L.push(`(local.set $a${i} ${madd(elem(fma), "(local.get $x)", `(local.get $b${i % 2})`, `(local.get $a${i})`)})`);
  L.push("(local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))");
  let s = "(local.get $a0)";
  for (let i = 1; i < n; i++) s = `(f32x4.add ${s} (local.get $a${i}))`;
  L.push(`(f32x4.extract_lane 0 ${s}))`);
  return L.join("\n");
}

export async function measureWasmPeak(fma = false): Promise<GemmMeasurement> {
  const bytes = await assemble(`(module ${peakWat(fma)})`, "peak", fma);
  const peak = new WA.Instance(new WA.Module(bytes), {}).exports.peak as (n: number) => number;
  const iters = 100_000;
  const label = fma ? "f32x4 FMA peak (12 relaxed_madd chains in registers)" : "f32x4 peak (12 mul+add chains in registers)";
  return time(label, 0, 0, 0, iters * 4 * 12 * 8, () => peak(iters));
}

/** The backend's GEMM for C[m, n] = A[m, k] · W, as the kernels call it: W already packed into
 *  column panels (the packing runs once per kernel call, not per product, so it is not timed). */
export async function measureWasmGemm(label: string, m: number, n: number, k: number, fma = false): Promise<GemmMeasurement> {
  const E = 4;
  const wat = `(module (import "env" "memory" (memory 1 65536 shared))\n${gemmFunction(elem(fma), { fn: "g", doc: [label], M: null, N: n, K: k, ai: k * E, ak: E, ldb: n * E, cs: n * E, accumulate: false, packed: true })}\n(export "g" (func $g)))`;
  const bytes = await assemble(wat, "gemm", fma);
  const a = 1024;
  const b = a + m * k * E + 64;
  const c = b + k * (Math.ceil(n / 16) * 16) * E + 64;
  const pages = Math.ceil((c + m * n * E + 64) / 65536);
  const memory = new WA.Memory({ initial: pages, maximum: 65536, shared: true });
  const g = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports.g as (n: number, a: number, b: number, c: number, j0: number, j1: number) => void;
  const f = new Float32Array(memory.buffer as ArrayBuffer);
  for (let i = 0; i < m * k; i++) f[a / E + i] = Math.sin(i);
  for (let i = 0; i < k * n; i++) f[b / E + i] = Math.cos(i);
  return time(`wasm${fma ? " FMA" : ""} ${label}`, m, n, k, 2 * m * n * k, () => g(m, a, b, c, 0, gemmPanels(F32, n)));
}

/** The backend's weight-gradient product G[m, n] += Σ_r D[r, m] · X[r, n] over `rows` rows, as the
 *  kernels call it (its blocks of rows packed into scratch inside the call, so that is timed). */
export async function measureWasmDwGemm(label: string, m: number, n: number, rows: number, fma = false): Promise<GemmMeasurement> {
  const E = 4;
  const wat = `(module (import "env" "memory" (memory 1 65536 shared))\n${gemmFunction(elem(fma), { fn: "g", doc: [label], M: m, N: n, K: null, ai: E, ak: m * E, ldb: n * E, cs: n * E, accumulate: true })}\n${packFunction(F32)}\n(export "g" (func $g)))`;
  const bytes = await assemble(wat, "dw", fma);
  const d = 1024;
  const x = d + rows * m * E + 64;
  const g = x + rows * n * E + 64;
  const s = g + m * n * E + 64;
  const memory = new WA.Memory({ initial: Math.ceil((s + dwScratchBytes(F32, n) + 64) / 65536), maximum: 65536, shared: true });
  const fn = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports.g as (n: number, a: number, b: number, c: number, i0: number, i1: number, s: number) => void;
  const f = new Float32Array(memory.buffer as ArrayBuffer);
  for (let i = 0; i < rows * m; i++) f[d / E + i] = Math.sin(i) * 1e-3;
  for (let i = 0; i < rows * n; i++) f[x / E + i] = Math.cos(i) * 1e-3;
  return time(`wasm${fma ? " FMA" : ""} ${label}`, m, n, rows, 2 * m * n * rows, () => fn(rows, d, x, g, 0, dwTiles(m), s));
}
