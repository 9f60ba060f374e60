// The GEMM every generated TypeScript module carries (modules import nothing, so the printer
// inlines this file's text into each; tests import it directly). One strided core serves every
// product a kernel needs without transposing in memory:
//
//   C[i, j] (+)= Σ_k A(i, k) · B(j, k),   A(i, k) = A[ao + i·ai + k·ak],  B(j, k) = B[bo + j·bj + k·bk]
//
// Operands are packed per block of depth KC into panels of four rows interleaved by k, so the 4×4
// register-blocked micro-kernel reads both with unit stride; products with fewer than four rows
// (a batch of one) skip packing. `gemm` is what kernels call: a descriptor names the product's
// form and shape once per module, and a call passes only the rows and the arrays.

/** How a kernel's product reads its operands (one constant per product in a module). */
export interface Gemm {
  /** xwT: C[r, n] (+)= Σ_k X[r, k]·W[n, k];  xw: C[r, n] (+)= Σ_k X[r, k]·W[k, n];
   *  dw: G[n, k] += Σ_r D[r, n]·X[r, k] (a weight gradient, summed over the rows). */
  readonly form: "xwT" | "xw" | "dw";
  readonly n: number;
  readonly k: number;
  /** Row stride of A (X, or D for dw). */
  readonly as: number;
  /** Row stride of B for dw (X); W is dense for xwT and xw. */
  readonly bs?: number;
  /** Row stride of C for xwT and xw; a gradient is dense. */
  readonly cs?: number;
  /** Add to C instead of overwriting it (dw always adds). */
  readonly accumulate?: boolean;
  /** A panel slot: W's packing is kept until invalidatePanels() (weights used at every step). */
  readonly slot?: number;
}

/** The product `d` over R rows: A and C row operands start at ao and co; for dw, B (X) starts at bo. */
export function gemm(d: Gemm, R: number, A: Float32Array, ao: number, B: Float32Array, bo: number, C: Float32Array, co: number): void {
  const acc = d.accumulate ?? false;
  const slot = d.slot ?? -1;
  if (d.form === "xwT") gemmCore(R, d.n, d.k, A, ao, d.as, 1, B, bo, d.k, 1, C, co, d.cs ?? d.n, acc, slot);
  else if (d.form === "xw") gemmCore(R, d.n, d.k, A, ao, d.as, 1, B, bo, 1, d.n, C, co, d.cs ?? d.n, acc, slot);
  else gemmCore(d.n, d.k, R, A, ao, 1, d.as, B, bo, 1, d.bs ?? d.k, C, co, d.k, true, -1);
}

export const KC = 256;
export const MC = 64;
export let panelA = new Float64Array(MC * KC);
export let panelB = new Float64Array(1024 * KC);

/** Copies rows [r0, r0 + rows) of X(i, k) = X[xo + i·xi + k·xk], depth [k0, k0 + kc), into panels
 *  of four rows interleaved by k, from P[po] on (zero past the last row). */
export function pack(
  X: Float32Array, xo: number, xi: number, xk: number,
  r0: number, rows: number, k0: number, kc: number, P: Float64Array, po: number,
): void {
  const panels = (rows + 3) >> 2;
  for (let p = 0; p < panels; p++) {
    const base = po + p * kc * 4;
    for (let q = 0; q < 4; q++) {
      const i = p * 4 + q;
      if (i >= rows) {
        for (let k = 0; k < kc; k++) P[base + k * 4 + q] = 0;
        continue;
      }
      let at = xo + (r0 + i) * xi + k0 * xk;
      for (let k = 0; k < kc; k++, at += xk) P[base + k * 4 + q] = X[at]!;
    }
  }
}

// Packed panels of B operands that stay fixed during one kernel call (weights used at every step):
// packed on first use in the call, reused until invalidatePanels() at the start of the next call.
const slotPanels: Float64Array[] = [];
const slotValid: boolean[] = [];

export function invalidatePanels(): void {
  slotValid.fill(false);
}

/** C[i·cs + j] (+)= Σ_k A(i, k) · B(j, k) for i < M, j < N. With slot ≥ 0, B is the same for every
 *  call with that slot until invalidatePanels(), so its packing is kept. */
export function gemmCore(
  M: number, N: number, K: number,
  A: Float32Array, ao: number, ai: number, ak: number,
  B: Float32Array, bo: number, bj: number, bk: number,
  C: Float32Array, co: number, cs: number, accumulate: boolean, slot: number,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, co + i * cs, co + i * cs + N);
  if (M < 4) {
    // A row or three (a batch of one): packing would cost as much as the product. Four columns
    // at a time share each load of A.
    for (let i = 0; i < M; i++) {
      const c = co + i * cs;
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let a = ao + i * ai;
        let b = bo + j * bj;
        for (let k = 0; k < K; k++, a += ak, b += bk) {
          const x = A[a]!;
          s0 += x * B[b]!;
          s1 += x * B[b + bj]!;
          s2 += x * B[b + 2 * bj]!;
          s3 += x * B[b + 3 * bj]!;
        }
        C[c + j] = C[c + j]! + s0;
        C[c + j + 1] = C[c + j + 1]! + s1;
        C[c + j + 2] = C[c + j + 2]! + s2;
        C[c + j + 3] = C[c + j + 3]! + s3;
      }
      for (; j < N; j++) {
        let s = 0;
        let a = ao + i * ai;
        let b = bo + j * bj;
        for (let k = 0; k < K; k++, a += ak, b += bk) s += A[a]! * B[b]!;
        C[c + j] = C[c + j]! + s;
      }
    }
    return;
  }
  const nPanels = (N + 3) >> 2;
  const chunk = nPanels * 4 * KC;
  let pb: Float64Array;
  let kept = false;
  if (slot >= 0) {
    const need = chunk * Math.ceil(K / KC);
    if (slotPanels[slot] === undefined || slotPanels[slot].length < need) {
      slotPanels[slot] = new Float64Array(need);
      slotValid[slot] = false;
    }
    pb = slotPanels[slot];
    kept = slotValid[slot] === true;
    slotValid[slot] = true;
  } else {
    if (panelB.length < chunk) panelB = new Float64Array(chunk);
    pb = panelB;
  }
  const pa = panelA;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    const pbo = slot >= 0 ? (k0 / KC) * chunk : 0;
    if (!kept) pack(B, bo, bj, bk, 0, N, k0, kc, pb, pbo);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = Math.min(MC, M - i0);
      pack(A, ao, ai, ak, i0, mc, k0, kc, pa, 0);
      for (let p = 0; p < mc; p += 4) {
        const aBase = (p >> 2) * kc * 4;
        const rows = Math.min(4, mc - p);
        for (let q = 0; q < nPanels; q++) {
          const bBase = pbo + q * kc * 4;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let k = 0; k < kc; k++) {
            const a = aBase + k * 4;
            const b = bBase + k * 4;
            const a0 = pa[a]!, a1 = pa[a + 1]!, a2 = pa[a + 2]!, a3 = pa[a + 3]!;
            const b0 = pb[b]!, b1 = pb[b + 1]!, b2 = pb[b + 2]!, b3 = pb[b + 3]!;
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
          }
          const cols = Math.min(4, N - q * 4);
          if (rows === 4 && cols === 4) {
            let c = co + (i0 + p) * cs + q * 4;
            C[c] = C[c]! + c00; C[c + 1] = C[c + 1]! + c01; C[c + 2] = C[c + 2]! + c02; C[c + 3] = C[c + 3]! + c03; c += cs;
            C[c] = C[c]! + c10; C[c + 1] = C[c + 1]! + c11; C[c + 2] = C[c + 2]! + c12; C[c + 3] = C[c + 3]! + c13; c += cs;
            C[c] = C[c]! + c20; C[c + 1] = C[c + 1]! + c21; C[c + 2] = C[c + 2]! + c22; C[c + 3] = C[c + 3]! + c23; c += cs;
            C[c] = C[c]! + c30; C[c + 1] = C[c + 1]! + c31; C[c + 2] = C[c + 2]! + c32; C[c + 3] = C[c + 3]! + c33;
          } else {
            // An edge tile: only its first rows × cols entries exist in C.
            for (let r = 0; r < rows; r++) {
              const c = co + (i0 + p + r) * cs + q * 4;
              C[c] = C[c]! + (r === 0 ? c00 : r === 1 ? c10 : r === 2 ? c20 : c30);
              if (cols > 1) C[c + 1] = C[c + 1]! + (r === 0 ? c01 : r === 1 ? c11 : r === 2 ? c21 : c31);
              if (cols > 2) C[c + 2] = C[c + 2]! + (r === 0 ? c02 : r === 1 ? c12 : r === 2 ? c22 : c32);
              if (cols > 3) C[c + 3] = C[c + 3]! + (r === 0 ? c03 : r === 1 ? c13 : r === 2 ? c23 : c33);
            }
          }
        }
      }
    }
  }
}
