// `TILES=4x2,2x4 node --experimental-wasm-relaxed-simd --import tsx test/bench/gemm-tiles.ts [--fma]`
// (TILES: rows x vectors of 4 lanes, and /N for N rows a block: MC, and KC in dw): the wasm
// backend's GEMM at the S3 shapes the goals name (GRU's recurrent product, LSTM's weight gradient,
// LSTM's input and recurrent products) for several register tiles (rows × vectors, GemmSpec.tile),
// each as a share of the measured peak (the FMA peak with --fma), the variants interleaved round by
// round so machine load falls on all alike. Medians of CPU time. For choosing TILE_ROWS and NV.
// The header gives each tile's live v128 values per k step: V8 schedules a step's multiply-adds
// after all its loads, so the MR broadcasts of A, the NV vectors of B and the MR·NV accumulators
// are live at once (a plain build adds one for the product); x64 V8 allocates 15 XMM registers,
// and a tile over that spills accumulators inside the k loop (6×8, 5×8, 4×12: 40-50% of peak).

import { gemmFunction, dwScratchBytes, dwTiles } from "../../backends/wasm/gemm.ts";
import { packFunction } from "../../backends/wasm/body.ts";
import { assemble } from "../../backends/wasm/module.ts";
import { WA } from "../../backends/wasm/support/heap.ts";
import { F32, type Elem } from "../../backends/wasm/wat.ts";
import { measureWasmPeak } from "./wasm-gemm.ts";
import { median } from "./script.ts";

const fma = process.argv.includes("--fma");
const E = 4;
const elem: Elem = fma ? { ...F32, fma: true } : F32;
type Tile = { mr: number; nv: number; u: number; mc?: number; kc?: number };
const TILES: Tile[] = (process.env["TILES"] ?? "4x2,2x4,2x3,3x2,1x4")
  .split(",")
  .map((t) => t.split(/[x/]/).map(Number))
  .map(([mr, nv, mc]) => ({ mr: mr!, nv: nv!, u: 1, ...(mc ? { mc, kc: mc } : {}) }));

async function packed(m: number, n: number, k: number, tile: Tile): Promise<() => void> {
  const wat = `(module (import "env" "memory" (memory 1 65536 shared))\n${gemmFunction(elem, { fn: "g", doc: [], M: null, N: n, K: k, ai: k * E, ak: E, ldb: n * E, cs: n * E, accumulate: false, packed: true, tile })}\n(export "g" (func $g)))`;
  const bytes = await assemble(wat, "gemm", fma);
  const a = 1024;
  const b = a + m * k * E + 64;
  const c = b + k * (Math.ceil(n / 16) * 16) * E + 64;
  const memory = new WA.Memory({ initial: Math.ceil((c + m * n * E + 64) / 65536), maximum: 65536, shared: true });
  const g = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports.g as (n: number, a: number, b: number, c: number, j0: number, j1: number) => void;
  const f = new Float32Array(memory.buffer as ArrayBuffer);
  for (let i = 0; i < m * k; i++) f[a / E + i] = Math.sin(i);
  for (let i = 0; i < k * n; i++) f[b / E + i] = Math.cos(i);
  // Every column panel of this tile's width (j1 past the last: the call clamps it).
  return () => g(m, a, b, c, 0, 1 << 20);
}

async function dw(m: number, n: number, rows: number, tile: Tile): Promise<() => void> {
  const wat = `(module (import "env" "memory" (memory 1 65536 shared))\n${gemmFunction(elem, { fn: "g", doc: [], M: m, N: n, K: null, ai: E, ak: m * E, ldb: n * E, cs: n * E, accumulate: true, tile })}\n${packFunction(F32)}\n(export "g" (func $g)))`;
  const bytes = await assemble(wat, "dw", fma);
  const d = 1024;
  const x = d + rows * m * E + 64;
  const g = x + rows * n * E + 64;
  const s = g + m * n * E + 64;
  const memory = new WA.Memory({ initial: Math.ceil((s + dwScratchBytes(F32, n, tile) + 64) / 65536), maximum: 65536, shared: true });
  const fn = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports.g as (n: number, a: number, b: number, c: number, i0: number, i1: number, s: number) => void;
  const f = new Float32Array(memory.buffer as ArrayBuffer);
  for (let i = 0; i < rows * m; i++) f[d / E + i] = Math.sin(i) * 1e-3;
  for (let i = 0; i < rows * n; i++) f[x / E + i] = Math.cos(i) * 1e-3;
  return () => fn(rows, d, x, g, 0, dwTiles(m, tile.mr), s);
}

const cpu = (f: () => void, reps: number): number => {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
};

const SHAPES = [
  { label: "S3 gru recurrent [64, 256]·[768, 256]ᵀ", kind: "packed", m: 64, n: 768, k: 256 },
  // gru.cell's step runs its recurrent product as two: U_z, U_r with h, then U_n with r·h.
  { label: "S3 gru step: U_z, U_r [64, 256]·[512, 256]ᵀ", kind: "packed", m: 64, n: 512, k: 256 },
  { label: "S3 gru step: U_n [64, 256]·[256, 256]ᵀ", kind: "packed", m: 64, n: 256, k: 256 },
  { label: "S3 lstm recurrent [64, 256]·[1024, 256]ᵀ", kind: "packed", m: 64, n: 1024, k: 256 },
  { label: "S3 lstm input [6400, 256]·[1024, 256]ᵀ", kind: "packed", m: 6400, n: 1024, k: 256 },
  { label: "S3 lstm dW [1024, 256] over 6400 rows", kind: "dw", m: 1024, n: 256, k: 6400 },
] as const;

const peak = await measureWasmPeak(fma);
console.log(`${peak.label}: ${peak.cpuGflops.toFixed(2)} GFLOP/s (CPU time)\n`);
const live = (t: Tile) => t.mr * t.nv + t.mr + t.nv + (fma ? 0 : 1);
console.log(`| shape | ${TILES.map((t) => `${t.mr}×${t.nv * 4}${t.mc ? `, ${t.mc} rows a block` : ""} (${live(t)} v128)`).join(" | ")} |\n| --- | ${TILES.map(() => "---:").join(" | ")} |`);
for (const s of SHAPES) {
  const fns = await Promise.all(TILES.map((t) => (s.kind === "packed" ? packed(s.m, s.n, s.k, t) : dw(s.m, s.n, s.k, t))));
  const flops = 2 * s.m * s.n * s.k;
  const once = cpu(fns[0]!, 1);
  const reps = Math.max(1, Math.round(40 / Math.max(once, 0.01)));
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < 9; r++) fns.forEach((f, i) => times[i]!.push(cpu(f, reps)));
  const cells = times.map((t) => `${((flops / (median(t) * 1e6) / peak.cpuGflops) * 100).toFixed(0)}%`);
  console.log(`| ${s.label} | ${cells.join(" | ")} |`);
}
