// The registry of row primitives (see ./row-types.ts): sum, maximum, running sum and log-sum-exp
// of a row, each defined once. Adding a reduction or scan to the language means adding one entry
// here; the checker, IR, autodiff, plan and every printer read the entries.
//
// Rules every entry states in its eval: NaN anywhere in a row makes a reduction NaN (a scan: NaN
// from that element on, in its direction); a maximum is IEEE 754's maximum (NaN propagates, +0 is
// above -0); ties give the derivative to the first maximum.

import type { RowPrimitive, WasmRowContext } from "./row-types.ts";

const get = (x: string) => `(local.get ${x})`;
const set = (x: string, v: string) => `(local.set ${x} ${v})`;
const i32 = (n: number) => `(i32.const ${n})`;
/** Element j (a number) of the row at pointer local p. */
const load = (c: WasmRowContext, p: string, j: number) => `(${c.s}.load${j ? ` offset=${j * c.bytes}` : ""} ${get(p)})`;

/** max with NaN propagating and +0 above -0 (Math.max; f32.max / f64.max; torch.amax). */
function rowMaxOf(row: readonly number[]): number {
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  return m;
}

/** ReduceMax over the last axis with NaN propagating (onnxruntime's skips NaN). */
function onnxRowMax(x: string, g: import("./row-types.ts").OnnxRowBuilder): string {
  const max = g.node("ReduceMax", [x], { axes: { ints: [-1] }, keepdims: 1 });
  const nan = g.node("ReduceMax", [g.node("Cast", [g.op("IsNaN", [x])], { to: 1 })], { axes: { ints: [-1] }, keepdims: 1 });
  return g.op("Where", [g.op("Greater", [nan, g.const(0)]), g.op("Add", [max, g.const(NaN)]), max]);
}

const list = [
  {
    op: "rowsum",
    kind: "reduce",
    surface: "sum",
    doc: "Σ v, [n] → [1]",
    eval: (row) => [row.reduce((s, x) => s + x, 0)],
    // WebAssembly adds lanes of float32 vectors: another order, so not exact.
    exact: false,
    grad: ({ dy, x }, b) => b.bcast(dy, b.shape(x)),
    ts: {
      fn: "rowSum",
      source: `/** dst[dof + r·ds] = Σ_j src[so + r·ss + j] for r < R, j < N, summed in order in float64. */
function rowSum(R: number, N: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number): void {
  for (let r = 0; r < R; r++) {
    const o = so + r * ss;
    let s = 0;
    for (let j = 0; j < N; j++) s += src[o + j]!;
    dst[dof + r * ds] = s;
  }
}`,
    },
    wasm: (c) => {
      // Whole vectors added lane-wise, the lanes added, then the tail.
      const acc = c.local("racc", "v128");
      const sum = c.local(`rsum_${c.s}`, c.s);
      const full = Math.floor(c.n / c.lanes);
      c.emit(set(acc, "(v128.const i64x2 0 0)"));
      for (let k = 0; k < full; k++) c.emit(set(acc, `(${c.v}.add ${get(acc)} (v128.load offset=${k * 16} ${get(c.src)}))`));
      let s = `(${c.v}.extract_lane 0 ${get(acc)})`;
      for (let l = 1; l < c.lanes; l++) s = `(${c.s}.add ${s} (${c.v}.extract_lane ${l} ${get(acc)}))`;
      c.emit(set(sum, s));
      for (let j = full * c.lanes; j < c.n; j++) c.emit(set(sum, `(${c.s}.add ${get(sum)} ${load(c, c.src, j)})`));
      c.emit(`(${c.s}.store ${get(c.dst)} ${get(sum)})`);
    },
    onnx: (x, _r, g) => g.node("ReduceSum", [x, g.ints([-1])], { keepdims: 1 }),
    torch: (x) => `${x}.sum(-1, keepdim=True)`,
    wgsl: (n, _r, src, dst) => [`var s = 0.0;`, `for (var j = 0u; j < ${n}u; j++) { s = s + ${src("j")}; }`, `${dst("0u")} = s;`],
  },
  {
    op: "rowmax",
    kind: "reduce",
    surface: "max",
    doc: "max_j x[j]: NaN if any is NaN, +0 above -0",
    eval: (row) => [rowMaxOf(row)],
    exact: true,
    // The subgradient goes to the first element equal to the maximum: eq marks the maxima, and
    // the first is where their running count is 1 (counts of 0/1 flags are exact).
    grad: ({ dy, y, x }, b) => {
      const eq = b.sub(1, b.heaviside(b.sub(y, x)));
      const first = b.mul(eq, b.sub(1, b.heaviside(b.sub(b.row("rowscan", eq, false), 1))));
      return b.mul(dy, first);
    },
    ts: {
      fn: "rowMax",
      source: `/** dst[dof + r·ds] = max_j src[so + r·ss + j] for r < R, j < N: NaN when any of the row is NaN, +0 above -0. */
function rowMax(R: number, N: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number): void {
  for (let r = 0; r < R; r++) {
    const o = so + r * ss;
    let s = src[o]!;
    for (let j = 1; j < N; j++) s = Math.max(s, src[o + j]!);
    dst[dof + r * ds] = s;
  }
}`,
    },
    wasm: (c) => {
      const m = c.local(`rmax_${c.s}`, c.s);
      c.emit(set(m, load(c, c.src, 0)));
      for (let j = 1; j < c.n; j++) c.emit(set(m, `(${c.s}.max ${get(m)} ${load(c, c.src, j)})`));
      c.emit(`(${c.s}.store ${get(c.dst)} ${get(m)})`);
    },
    onnx: (x, _r, g) => onnxRowMax(x, g),
    torch: (x) => `torch.amax(${x}, -1, keepdim=True)`,
    // WGSL's max() may drop a NaN: a NaN makes the row NaN explicitly (as far as the GPU keeps NaNs).
    wgsl: (n, _r, src, dst) => [`var s = ${src("0u")};`, `for (var j = 1u; j < ${n}u; j++) { let x = ${src("j")}; s = select(max(s, x), s + x, s != s || x != x); }`, `${dst("0u")} = s;`],
  },
  {
    op: "rowscan",
    kind: "scan",
    surface: "cumsum",
    doc: "running sum, [n] → [n]; cumsum(softmax(v)) is ON-LSTM's cumax",
    eval: (row, reverse) => {
      const out = new Array<number>(row.length);
      let s = 0;
      if (reverse) for (let j = row.length - 1; j >= 0; j--) out[j] = s += row[j]!;
      else for (let j = 0; j < row.length; j++) out[j] = s += row[j]!;
      return out;
    },
    // Exact in TypeScript and WebAssembly (float64 sums in order); onnxruntime adds in float32.
    exact: true,
    grad: ({ dy, reverse }, b) => b.row("rowscan", dy, !reverse),
    ts: {
      fn: "rowScan",
      directed: true,
      source: `/** Running sums of each row in float64: dst[j] = Σ_{i ≤ j} src[i], or with reverse Σ_{i ≥ j} src[i]. */
function rowScan(R: number, N: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number, reverse: boolean): void {
  for (let r = 0; r < R; r++) {
    const s0 = so + r * ss;
    const d0 = dof + r * ds;
    let s = 0;
    if (reverse) {
      for (let j = N - 1; j >= 0; j--) dst[d0 + j] = s += src[s0 + j]!;
    } else {
      for (let j = 0; j < N; j++) dst[d0 + j] = s += src[s0 + j]!;
    }
  }
}`,
    },
    wasm: (c) => {
      const acc = c.local("racc64", "f64");
      const x = c.local("rj", "i32");
      c.emit(set(acc, "(f64.const 0)"), set(x, i32(c.reverse ? c.n - 1 : 0)));
      c.nest("(loop $scan", () => {
        c.emit(set(acc, `(f64.add ${get(acc)} ${c.wide(`(${c.s}.load ${c.at(c.src, get(x))})`)})`));
        c.emit(`(${c.s}.store ${c.at(c.dst, get(x))} ${c.narrow(get(acc))})`);
        if (c.reverse) c.emit(set(x, `(i32.sub ${get(x)} (i32.const 1))`), `(br_if $scan (i32.ge_s ${get(x)} (i32.const 0)))`);
        else c.emit(set(x, `(i32.add ${get(x)} (i32.const 1))`), `(br_if $scan (i32.lt_u ${get(x)} ${i32(c.n)}))`);
      });
    },
    onnx: (x, reverse, g) => g.node("CumSum", [x, g.ints([-1])], reverse ? { reverse: 1 } : {}),
    torch: (x, reverse) => (reverse ? `torch.flip(torch.cumsum(torch.flip(${x}, [-1]), -1), [-1])` : `torch.cumsum(${x}, -1)`),
    wgsl: (n, reverse, src, dst) => [`var s = 0.0;`, `for (var q = 0u; q < ${n}u; q++) { let j = ${reverse ? `${n - 1}u - q` : "q"}; s = s + ${src("j")}; ${dst("j")} = s; }`],
  },
  {
    op: "logsumexp",
    kind: "reduce",
    surface: "logsumexp",
    doc: "log Σ e^v, [n] → [1], shifted by max(v) so large inputs do not overflow (max(v) itself when that is ±∞; NaN if any is)",
    eval: (row) => {
      const m = rowMaxOf(row);
      let s = 0;
      for (const x of row) s += Math.exp(x - m);
      return [m === Infinity || m === -Infinity ? m : m + Math.log(s)];
    },
    // In float64 from the float32 inputs, with the host's exp and log, rounded once.
    exact: true,
    // d/dx_j = e^(x_j - y) (softmax(x)_j).
    grad: ({ dy, y, x }, b) => b.mul(dy, b.call("exp", b.sub(x, y))),
    ts: {
      fn: "rowLogSumExp",
      source: `/** dst[dof + r·ds] = log Σ_j e^src[so + r·ss + j], shifted by the row's maximum m (m itself when ±∞), in float64. */
function rowLogSumExp(R: number, N: number, src: Float32Array, so: number, ss: number, dst: Float32Array, dof: number, ds: number): void {
  for (let r = 0; r < R; r++) {
    const o = so + r * ss;
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, src[o + j]!);
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp(src[o + j]! - m);
    dst[dof + r * ds] = m === Infinity || m === -Infinity ? m : m + Math.log(s);
  }
}`,
    },
    wasm: (c) => {
      // As rowLogSumExp computes it: float64 throughout, the host's exp and log.
      const m = c.local("lse_m", "f64");
      const s = c.local("lse_s", "f64");
      const x = (j: number) => c.wide(load(c, c.src, j));
      c.emit(set(m, "(f64.const -inf)"));
      for (let j = 0; j < c.n; j++) c.emit(set(m, `(f64.max ${get(m)} ${x(j)})`));
      c.emit(set(s, "(f64.const 0)"));
      for (let j = 0; j < c.n; j++) c.emit(set(s, `(f64.add ${get(s)} ${c.host("exp", `(f64.sub ${x(j)} ${get(m)})`)})`));
      const y = `(select ${get(m)} (f64.add ${get(m)} ${c.host("log", get(s))}) (f64.eq (f64.abs ${get(m)}) (f64.const inf)))`;
      c.emit(`(${c.s}.store ${get(c.dst)} ${c.narrow(y)})`);
    },
    onnx: (x, _r, g) => {
      const m = onnxRowMax(x, g);
      const y = g.op("Add", [m, g.op("Log", [g.node("ReduceSum", [g.op("Exp", [g.op("Sub", [x, m])]), g.ints([-1])], { keepdims: 1 })])]);
      return g.op("Where", [g.op("IsInf", [m]), m, y]);
    },
    torch: (x) => `torch.logsumexp(${x}, -1, keepdim=True)`,
    wgsl: (n, _r, src, dst) => [
      `var m = ${src("0u")};`,
      `for (var j = 1u; j < ${n}u; j++) { m = max(m, ${src("j")}); }`,
      `var s = 0.0;`,
      `for (var j = 0u; j < ${n}u; j++) { s = s + exp(${src("j")} - m); }`,
      // An infinite maximum is the result itself (exp(inf - inf) would be NaN); w_pinf: +inf's bits, in every shader.
      `${dst("0u")} = select(m + log(s), m, abs(m) == bitcast<f32>(w_pinf));`,
    ],
  },
] as const satisfies readonly RowPrimitive[];

/** The name of a row primitive (an IR function, a plan op). */
export type RowOpName = (typeof list)[number]["op"];

export const ROW_PRIMITIVES: ReadonlyMap<RowOpName, RowPrimitive> = new Map(list.map((p) => [p.op, p]));

/** Whether `op` names a row primitive. */
export const isRowOpName = (op: string): op is RowOpName => ROW_PRIMITIVES.has(op as RowOpName);

/** The row primitive named `op` (an IR function or plan op), or undefined. */
export function rowPrimitive(op: string): RowPrimitive | undefined {
  return ROW_PRIMITIVES.get(op as RowOpName);
}

/** The row primitive a spec calls as `name(v)` with one vector, or undefined. */
export function surfaceRow(name: string): RowPrimitive | undefined {
  return [...ROW_PRIMITIVES.values()].find((p) => p.surface === name);
}
