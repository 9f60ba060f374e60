// The registry of structural primitives (see ./structural-types.ts): a matrix product per row, a
// transpose per row, and the sum over rows that makes a vector parameter's gradient, each defined
// once. Adding one means adding an entry here (and, for a new IR equation, its form in ../ir.ts);
// the plan, its verifier, autodiff and every printer read the entries.
//
// Rules every entry states in its eval: a product sums over k in order from 0 in float64 and is
// rounded once; a gradient sum adds row after row, in row order, each add rounded to the kernel's
// number type; NaN propagates as IEEE 754 arithmetic makes it (no entry here compares).

import type { StructAttrs, StructuralPrimitive, WasmStructContext } from "./structural-types.ts";

const get = (x: string) => `(local.get ${x})`;
const set = (x: string, v: string) => `(local.set ${x} ${v})`;
const i32 = (n: number) => `(i32.const ${n})`;
/** i·a + j (i32 expressions of locals i, j; a a number). */
const index = (i: string, a: number, j: string) => `(i32.add (i32.mul ${get(i)} ${i32(a)}) ${get(j)})`;

/** Typed attributes in, the registry's shared type out (the one cast of the table). */
const define = <A extends StructAttrs>(p: StructuralPrimitive<A>): StructuralPrimitive => p as unknown as StructuralPrimitive;

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface BmmAttrs extends StructAttrs {
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
}

interface TransposeAttrs extends StructAttrs {
  m: number;
  n: number;
}

interface ColsumAttrs extends StructAttrs {
  n: number;
}

const bmm = define<BmmAttrs>({
  op: "bmm",
  ir: "bmm",
  doc: "per row, C [m, n] = op(A) · op(B): op(A) is A [m, k] or, with ta, Aᵀ of A stored [k, m]; likewise B [k, n] or Bᵀ of B stored [n, k]",
  into: "view",
  attrs: (e) => ({ m: e.m as number, k: e.k as number, n: e.n as number, ta: e.ta as boolean, tb: e.tb as boolean }),
  fields: (a) => ({ ...a }),
  widths: ({ m, k, n }) => ({ src: [m * k, k * n], dst: m * n }),
  show: ({ m, k, n, ta, tb }) => `${m}×${k}·${k}×${n}${ta ? " ta" : ""}${tb ? " tb" : ""}`,
  eval: ([A, B], { m, k, n, ta, tb }) => {
    const out = new Array<number>(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A![ta ? p * m + i : i * k + p]! * B![tb ? j * k + p : p * n + j]!;
        out[i * n + j] = s;
      }
    }
    return out;
  },
  // A float32 product of float32 numbers is exact in float64: the sum is the only rounding.
  rounding: "once",
  // C = op(A) op(B): d op(A) = dC op(B)ᵀ, d op(B) = op(A)ᵀ dC; each stored as its operand is.
  grad: ({ dy, x: [A, B], attrs: { m, k, n, ta, tb } }, b) => {
    const mm = (x: typeof A, y: typeof A, m2: number, k2: number, n2: number, ta2: boolean, tb2: boolean, shape: number[]) =>
      b.struct("bmm", [x!, y!], { m: m2, k: k2, n: n2, ta: ta2, tb: tb2 }, shape);
    const [shapeA, shapeB] = [b.shape(A!), b.shape(B!)];
    const dA = ta ? mm(B, dy, k, n, m, tb, true, shapeA) : mm(dy, B, m, n, k, false, !tb, shapeA);
    const dB = tb ? mm(dy, A, n, m, k, true, ta, shapeB) : mm(A, dy, k, m, n, !ta, false, shapeB);
    return [dA, dB];
  },
  ts: {
    fn: "bmm",
    args: ({ m, k, n, ta, tb }) => [m, k, n, ta, tb],
    source: `/** Per row: C (m × n) = op(A) · op(B), A read as [m, k] (or [k, m] transposed when ta), B as
 *  [k, n] (or [n, k] transposed when tb), summed over k in order. */
function bmm(
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
}`,
  },
  wasm: (c, { m, k, n, ta, tb }) => {
    // A(i, q) = A[i·ai + q·aq], B(q, j) = B[q·bq + j·bj], summed over q in order in f64.
    const [ai, aq] = ta ? [1, m] : [k, 1];
    const [bq, bj] = tb ? [1, k] : [n, 1];
    const [A, B] = c.src as [string, string];
    const acc = c.local("racc64", "f64");
    const pa = c.local("bm_a", "i32");
    const pb = c.local("bm_b", "i32");
    const load = (p: string) => c.wide(`(${c.s}.load ${get(p)})`);
    c.count("bi", m, (ii) =>
      c.count("bj", n, (jj) => {
        c.emit(set(acc, "(f64.const 0)"));
        c.emit(set(pa, c.at(A, `(i32.mul ${get(ii)} ${i32(ai)})`)), set(pb, c.at(B, `(i32.mul ${get(jj)} ${i32(bj)})`)));
        c.count("bq", k, () => {
          c.emit(set(acc, `(f64.add ${get(acc)} (f64.mul ${load(pa)} ${load(pb)}))`));
          c.emit(set(pa, `(i32.add ${get(pa)} ${i32(aq * c.bytes)})`), set(pb, `(i32.add ${get(pb)} ${i32(bq * c.bytes)})`));
        });
        c.emit(`(${c.s}.store ${c.at(c.dst, index(ii, n, jj))} ${c.narrow(get(acc))})`);
      }),
    );
  },
  onnx: (g, { m, k, n, ta, tb }) => {
    const A = g.matrix(0, ta ? k : m, ta ? m : k, ta);
    const B = g.matrix(1, tb ? n : k, tb ? k : n, tb);
    // A rowless factor broadcasts over the other's rows.
    return g.flat(g.op("MatMul", [A, B]), m * n);
  },
  torch: (c, { m, k, n, ta, tb }) => {
    const A = c.matrix(0, ta ? k : m, ta ? m : k);
    const B = c.matrix(1, tb ? n : k, tb ? k : n);
    return `torch.matmul(${ta ? `${A}.transpose(-1, -2)` : A}, ${tb ? `${B}.transpose(-1, -2)` : B}).reshape(${c.lead}${m * n})`;
  },
  wgsl: ({ m, k, n, ta, tb }, src, dst) => {
    const a = ta ? `q * ${m}u + x` : `x * ${k}u + q`;
    const b = tb ? `y * ${k}u + q` : `q * ${n}u + y`;
    return {
      over: "elements",
      width: m * n,
      body: [
        `let b = i / ${m * n}u;`,
        `let x = (i % ${m * n}u) / ${n}u;`,
        `let y = i % ${n}u;`,
        `var s = 0.0;`,
        `for (var q = 0u; q < ${k}u; q++) { s = s + ${src(0, "b", a)} * ${src(1, "b", b)}; }`,
        `${dst("b", `x * ${n}u + y`)} = s;`,
      ],
    };
  },
});

const transpose = define<TransposeAttrs>({
  op: "transpose",
  ir: "transpose",
  doc: "per row, the transpose [n, m] of a matrix [m, n]",
  into: "view",
  attrs: (_e, [x]) => ({ m: x![0]!, n: x![1]! }),
  fields: () => ({}),
  widths: ({ m, n }) => ({ src: [m * n], dst: m * n }),
  show: ({ m, n }) => `${m}×${n}`,
  eval: ([x], { m, n }) => {
    const out = new Array<number>(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = x![i * n + j]!;
    return out;
  },
  rounding: "once",
  grad: ({ dy, attrs: { m, n } }, b) => [b.struct("transpose", [dy], { m: n, n: m }, [m, n])],
  ts: {
    fn: "transposeRows",
    args: ({ m, n }) => [m, n],
    source: `/** Per row: dst (n × m) = srcᵀ for src read as [m, n]. */
function transposeRows(R: number, m: number, n: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number): void {
  for (let r = 0; r < R; r++) {
    const s0 = so + r * ss;
    const d0 = dof + r * ds;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) dst[d0 + j * m + i] = src[s0 + i * n + j]!;
  }
}`,
  },
  wasm: (c, { m, n }) => {
    // dst[j·m + i] = src[i·n + j]
    const [s] = c.src as [string];
    c.count("ti", m, (ii) => c.count("tj", n, (jj) => c.emit(`(${c.s}.store ${c.at(c.dst, index(jj, m, ii))} (${c.s}.load ${c.at(s, index(ii, n, jj))}))`)));
  },
  onnx: (g, { m, n }) => g.flat(g.matrix(0, m, n, true), m * n),
  torch: (c, { m, n }) => `${c.matrix(0, m, n)}.transpose(-1, -2).reshape(${c.lead}${m * n})`,
  wgsl: ({ m, n }, src, dst) => ({
    over: "elements",
    width: m * n,
    body: [`let b = i / ${m * n}u;`, `let x = (i % ${m * n}u) / ${n}u;`, `let y = i % ${n}u;`, `${dst("b", `y * ${m}u + x`)} = ${src(0, "b", `x * ${n}u + y`)};`],
  }),
});

/** dst[j] += src[j] for one row of n numbers: whole vectors, then the tail number by number. */
function addInto(c: WasmStructContext, n: number): void {
  const [src] = c.src as [string];
  const full = Math.floor(n / c.lanes);
  const vec = (p: string, x: string) => `(i32.add ${get(p)} (i32.shl ${get(x)} (i32.const 4)))`;
  if (full > 0) c.count("cs", full, (x) => c.emit(`(v128.store ${vec(c.dst, x)} (${c.v}.add (v128.load ${vec(c.dst, x)}) (v128.load ${vec(src, x)})))`));
  for (let j = full * c.lanes; j < n; j++) {
    const off = j ? ` offset=${j * c.bytes}` : "";
    c.emit(`(${c.s}.store${off} ${get(c.dst)} (${c.s}.add (${c.s}.load${off} ${get(c.dst)}) (${c.s}.load${off} ${get(src)})))`);
  }
}

const colsum = define<ColsumAttrs>({
  op: "colsum",
  ir: "acc",
  doc: "a parameter's gradient += Σ over rows of the adjoint (the gradient of a parameter used as it is in every row)",
  into: "grad",
  attrs: (_e, [x]) => ({ n: count(x!) }),
  fields: () => ({}),
  widths: ({ n }) => ({ src: [n], dst: n }),
  show: ({ n }) => `${n}`,
  eval: ([x]) => [...x!],
  rounding: "each",
  ts: {
    fn: "colSum",
    args: ({ n }) => [n],
    source: `/** g[j] += Σ_r U[uo + r·us + j] for r < R, j < N. */
function colSum(R: number, N: number, U: Float32Array, uo: number, us: number, g: Float32Array): void {
  for (let r = 0; r < R; r++) {
    const o = uo + r * us;
    for (let j = 0; j < N; j++) g[j] = g[j]! + U[o + j]!;
  }
}`,
  },
  wasm: (c, { n }) => addInto(c, n),
  torch: (c, { n }) => `${c.arg(0)}.reshape(-1, ${n}).sum(0)`,
  wgsl: ({ n }, src, dst) => ({
    over: "columns",
    width: n,
    body: [`var s = 0.0;`, `for (var r = 0u; r < u.R; r++) { s = s + ${src(0, "r", "i")}; }`, `${dst("0u", "i")} = ${dst("0u", "i")} + s;`],
  }),
});

// In this order their TypeScript functions are inlined into a module (the gradient sum first, where
// it sat in the GEMM support file before the registry, so modules kept their layout).
const list = [colsum, bmm, transpose] as const;

/** The name of a structural primitive (a plan op). */
export type StructOpName = "bmm" | "transpose" | "colsum";

export const STRUCTURAL_PRIMITIVES: ReadonlyMap<StructOpName, StructuralPrimitive> = new Map(list.map((p) => [p.op as StructOpName, p]));

/** Whether `op` names a structural primitive's plan op. */
export const isStructOpName = (op: string): op is StructOpName => STRUCTURAL_PRIMITIVES.has(op as StructOpName);

/** The structural primitive named `op` (a plan op), or undefined. */
export function structuralPrimitive(op: string): StructuralPrimitive | undefined {
  return STRUCTURAL_PRIMITIVES.get(op as StructOpName);
}

/** The structural primitive that plans the IR equation `op` ("bmm", "transpose", "acc"), or undefined. */
export function structuralOfIr(op: string): StructuralPrimitive | undefined {
  return list.find((p) => p.ir === op);
}
