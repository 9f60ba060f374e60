// Row operations of TypeScript kernels, inlined into a module only when its plan uses them: a
// small matrix product per row (outer products, per-sample matrices times vectors or matrices)
// and a transpose per row (the row primitives' functions are in compiler/primitives/rows.ts).
// Each works on R rows of a strided array: row r of an operand starts at its offset + r × its row
// stride, and a stride of 0 reads the same numbers for every row (a weight).

// ---- inline from here
/** Per row: C (m × n) = op(A) · op(B), A read as [m, k] (or [k, m] transposed when ta), B as
 *  [k, n] (or [n, k] transposed when tb), summed over k in order. */
export function bmm(
  R: number, m: number, k: number, n: number, ta: boolean, tb: boolean,
  A: Float32Array, ao: number, ar: number, B: Float32Array, bo: number, br: number,
  C: Float32Array, co: number, cr: number,
): void {
  // A(i, p) = A[a0 + i·ai + p·ap], B(p, j) = B[b0 + p·bp + j·bj]
  const ai = ta ? 1 : k;
  const ap = ta ? m : 1;
  const bp = tb ? 1 : n;
  const bj = tb ? k : 1;
  for (let r = 0; r < R; r++) {
    const a0 = ao + r * ar;
    const b0 = bo + r * br;
    const c0 = co + r * cr;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let a = a0 + i * ai;
        let b = b0 + j * bj;
        for (let p = 0; p < k; p++, a += ap, b += bp) s += A[a]! * B[b]!;
        C[c0 + i * n + j] = s;
      }
    }
  }
}

/** Per row: dst (n × m) = srcᵀ for src read as [m, n]. */
export function transposeRows(R: number, m: number, n: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number): void {
  for (let r = 0; r < R; r++) {
    const s0 = so + r * ss;
    const d0 = dof + r * ds;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) dst[d0 + j * m + i] = src[s0 + i * n + j]!;
  }
}
