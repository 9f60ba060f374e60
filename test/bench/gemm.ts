// A reference GEMM for the benchmark: register-blocked scalar TypeScript with packed operands.
// It serves two purposes. Its measured GFLOP/s is the ceiling a plain TypeScript kernel can hope
// for on this machine (the yardstick for cellc's emitted GEMMs), and it is the matmul the
// hand-written LSTM peer uses, so that peer is an honest, reasonably efficient baseline.
//
// Computes C[m, n] (+)= op(A)[m, k] · op(B)[n, k]ᵀ, i.e. C[i][j] = Σ_p A(i, p) · B(j, p),
// where each operand may be stored either way round:
//   A: transA false -> stored [m, k] row-major; true -> stored [k, m].
//   B: transB false -> stored [n, k] row-major (a weight matrix W[out, in]); true -> stored [k, n].
// Operands are packed per cache block into micro-panels (MR rows of A, NR columns of B,
// k-interleaved), so the 4x4 micro-kernel reads both with unit stride whatever the layout.

export type FloatArray = Float32Array | Float64Array;

export interface GemmCall {
  m: number;
  n: number;
  k: number;
  a: FloatArray;
  aOffset?: number;
  transA?: boolean;
  b: FloatArray;
  bOffset?: number;
  transB?: boolean;
  c: FloatArray;
  cOffset?: number;
  /** Add into C (true) or overwrite it (false, the default). */
  accumulate?: boolean;
}

const MR = 4; // rows of the micro-tile
const NR = 4; // columns of the micro-tile
const KC = 256; // depth of one packed block
const MC = 64; // rows of A per packed block
const NC = 512; // columns of B per packed block

/** Packing buffers, reused across calls. One per thread of use; not shared between array types. */
export class GemmWorkspace {
  readonly packA = new Float64Array(MC * KC);
  readonly packB = new Float64Array(NC * KC);
}

const defaultWorkspace = new GemmWorkspace();

export function gemm(call: GemmCall, ws: GemmWorkspace = defaultWorkspace): void {
  const { m, n, k, a, b, c } = call;
  const aOff = call.aOffset ?? 0;
  const bOff = call.bOffset ?? 0;
  const cOff = call.cOffset ?? 0;
  const transA = call.transA ?? false;
  const transB = call.transB ?? false;
  if (m <= 0 || n <= 0) return;
  if (!call.accumulate) c.fill(0, cOff, cOff + m * n);
  if (k <= 0) return;
  if (m < MR) {
    // A row or three (a batch of one): packing B would cost as much as the product itself.
    smallM(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff);
    return;
  }
  const { packA, packB } = ws;

  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanels(b, bOff, transB, n, k, jc, nc, pc, kc, NR, packB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanels(a, aOff, transA, m, k, ic, mc, pc, kc, MR, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const bPanel = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            const aPanel = (ir / MR) * kc * MR;
            microKernel4x4(
              kc, packA, aPanel, packB, bPanel, c,
              cOff + (ic + ir) * n + jc + jr, n,
              Math.min(MR, mc - ir), Math.min(NR, nc - jr),
            );
          }
        }
      }
    }
  }
}

/**
 * Packs rows [r0, r0+rows) x depth [p0, p0+kc) of an operand whose logical shape is [R, K]
 * (stored [R, K] when !trans, [K, R] when trans) into panels of `w` rows, each panel laid out
 * depth-major: dst[panel*kc*w + p*w + r]. Rows past the edge are zero-padded.
 */
function packPanels(
  src: FloatArray, off: number, trans: boolean, R: number, K: number,
  r0: number, rows: number, p0: number, kc: number, w: number, dst: Float64Array,
): void {
  let d = 0;
  for (let rp = 0; rp < rows; rp += w) {
    const live = Math.min(w, rows - rp);
    if (!trans) {
      // Row r of the operand is contiguous in depth.
      for (let p = 0; p < kc; p++) {
        const base = off + (r0 + rp) * K + p0 + p;
        let rr = 0;
        for (; rr < live; rr++) dst[d + rr] = src[base + rr * K];
        for (; rr < w; rr++) dst[d + rr] = 0;
        d += w;
      }
    } else {
      // Depth p of the operand is a contiguous row over r.
      for (let p = 0; p < kc; p++) {
        const base = off + (p0 + p) * R + r0 + rp;
        let rr = 0;
        for (; rr < live; rr++) dst[d + rr] = src[base + rr];
        for (; rr < w; rr++) dst[d + rr] = 0;
        d += w;
      }
    }
  }
}

/** C[4x4 tile] += Apanel · Bpanelᵀ over kc, the sixteen sums held in locals (registers). */
function microKernel4x4(
  kc: number, ap: Float64Array, ai: number, bp: Float64Array, bi: number,
  c: FloatArray, ci: number, ldc: number, mLive: number, nLive: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ai], a1 = ap[ai + 1], a2 = ap[ai + 2], a3 = ap[ai + 3];
    const b0 = bp[bi], b1 = bp[bi + 1], b2 = bp[bi + 2], b3 = bp[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ai += 4;
    bi += 4;
  }
  if (mLive === 4 && nLive === 4) {
    let r = ci;
    c[r] += c00; c[r + 1] += c01; c[r + 2] += c02; c[r + 3] += c03;
    r += ldc;
    c[r] += c10; c[r + 1] += c11; c[r + 2] += c12; c[r + 3] += c13;
    r += ldc;
    c[r] += c20; c[r + 1] += c21; c[r + 2] += c22; c[r + 3] += c23;
    r += ldc;
    c[r] += c30; c[r + 1] += c31; c[r + 2] += c32; c[r + 3] += c33;
    return;
  }
  // Edge tile: only the live part of the 4x4 block exists in C.
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < mLive; i++) {
    for (let j = 0; j < nLive; j++) c[ci + i * ldc + j] += tile[i * 4 + j];
  }
}

/** C += op(A)·op(B)ᵀ for m < 4 rows without packing: dot products against B's rows when they are
 *  contiguous in depth (!transB), otherwise axpy sweeps over B's rows [k, n]. */
function smallM(
  m: number, n: number, k: number, a: FloatArray, aOff: number, transA: boolean,
  b: FloatArray, bOff: number, transB: boolean, c: FloatArray, cOff: number,
): void {
  for (let i = 0; i < m; i++) {
    const aBase = transA ? aOff + i : aOff + i * k;
    const aStep = transA ? m : 1;
    const cRow = cOff + i * n;
    if (!transB) {
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const r0 = bOff + j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let p = 0, ai = aBase; p < k; p++, ai += aStep) {
          const av = a[ai]!;
          s0 += av * b[r0 + p]!;
          s1 += av * b[r1 + p]!;
          s2 += av * b[r2 + p]!;
          s3 += av * b[r3 + p]!;
        }
        c[cRow + j] += s0;
        c[cRow + j + 1] += s1;
        c[cRow + j + 2] += s2;
        c[cRow + j + 3] += s3;
      }
      for (; j < n; j++) {
        const r = bOff + j * k;
        let sum = 0;
        for (let p = 0, ai = aBase; p < k; p++, ai += aStep) sum += a[ai]! * b[r + p]!;
        c[cRow + j] += sum;
      }
    } else {
      for (let p = 0, ai = aBase; p < k; p++, ai += aStep) {
        const av = a[ai]!;
        const r = bOff + p * n;
        for (let j = 0; j < n; j++) c[cRow + j] += av * b[r + j]!;
      }
    }
  }
}

/** The obvious triple loop, for tests: same semantics as gemm. */
export function naiveGemm(call: GemmCall): void {
  const { m, n, k, a, b, c } = call;
  const aOff = call.aOffset ?? 0, bOff = call.bOffset ?? 0, cOff = call.cOffset ?? 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = call.transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
        const bv = call.transB ? b[bOff + p * n + j] : b[bOff + j * k + p];
        s += av * bv;
      }
      c[cOff + i * n + j] = (call.accumulate ? c[cOff + i * n + j] : 0) + s;
    }
  }
}

export interface GemmMeasurement {
  label: string;
  m: number;
  n: number;
  k: number;
  /** Median milliseconds per call, wall clock and CPU time of the process. */
  ms: number;
  cpuMs: number;
  gflops: number;
  /** GFLOP/s by CPU time: what the GEMM reaches on a core it has to itself. */
  cpuGflops: number;
  runs: number;
}

/** Times gemm on Float32Array operands (as the kernels use) at one shape: median of `runs` after a warm-up. */
export function measureGemm(label: string, m: number, n: number, k: number, runs = 7): GemmMeasurement {
  const a = randomArray(m * k, 1);
  const b = randomArray(n * k, 2);
  const c = new Float32Array(m * n);
  const call: GemmCall = { m, n, k, a, b, c };
  // Repeat small shapes so each timed sample lasts a few milliseconds.
  const flops = 2 * m * n * k;
  const reps = Math.max(1, Math.ceil(2e7 / flops));
  for (let w = 0; w < 2; w++) for (let r = 0; r < reps; r++) gemm(call);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) gemm(call);
    times.push((performance.now() - t0) / reps);
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1000 / reps);
  }
  const mid = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ms = mid(times);
  const cpuMs = mid(cpu);
  return { label, m, n, k, ms, cpuMs, gflops: flops / (ms * 1e6), cpuGflops: flops / (cpuMs * 1e6), runs };
}

function randomArray(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    out[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return out;
}
