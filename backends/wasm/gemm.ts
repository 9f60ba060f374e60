// GEMM micro-kernels in WebAssembly SIMD, one specialised function per product of a plan. Every
// product is read as
//
//   C(i, j) (+)= Σ_k A(i, k) · B(j, k)    A(i, k) = A[a + i·ai + k·ak]   B(j, k) = B[b + k·ldb + j]
//
// with B's columns contiguous (a weight in [K, N] layout: xw reads W as it is, xwT reads the
// transposed copy packed once per call, dw reads the rows X) and A read one element at a time,
// broadcast to every lane (v128.load32_splat). A tile of MR rows × NV vectors of C lives in
// registers for the whole reduction: per k it costs NV loads of B, MR broadcasts of A and
// MR·NV multiplies and adds, the XNNPACK "loadsplat" structure. Shapes and strides are constants
// of the function (the plan fixed them), so every address is a pointer plus an immediate offset;
// only the row count (xwT, xw) or the reduction length (dw: the rows) is a parameter. Blocking:
// MC rows of A stay in cache while the column panels sweep them; dw sums over rows in blocks of KC
// so a block of X stays in cache across the tiles of G. In a module built with FMA (Elem.fma, relaxed
// SIMD) each multiply and add is one f32x4.relaxed_madd: one rounding, and half the instructions.

import { Fn, get, i32, set, addI, madd, type Elem } from "./wat.ts";

export interface GemmSpec {
  /** Function name (without $). */
  fn: string;
  /** Lines for the function's comment. */
  doc: string[];
  /** Rows of C: a constant, or null for the runtime parameter $n. */
  M: number | null;
  N: number;
  /** Reduction length: a constant, or null for the runtime parameter $n. */
  K: number | null;
  /** Byte strides of A along i and k. */
  ai: number;
  ak: number;
  /** Bytes between consecutive k of B (unpacked B: dw's rows X). */
  ldb: number;
  /** B is packed into column panels (see packedPanels): each panel's k rows contiguous. */
  packed?: boolean;
  /** Bytes between rows of C. */
  cs: number;
  accumulate: boolean;
  /** Tile rows, tile vectors, k unrolling, dw's rows per block and the rows of A per block
   *  (defaults MR, NV, U, KC, MC; for experiments: test/bench/gemm-tiles.ts). */
  tile?: { mr: number; nv: number; u: number; kc?: number; mc?: number };
}

/** Tile shape: MR rows of C by NV vectors. V8 schedules a k step's multiply-adds after all of its
 *  loads, so MR broadcasts, NV vectors of B and MR·NV accumulators are live at once (one more for a
 *  plain build's product): 4×2 keeps 14 of x64 V8's 15 XMM registers; 5×2, 6×2 and 4×3 spill
 *  accumulators inside the k loop and run at 40-50% of the peak, and 3×3 (15) is no faster
 *  (test/bench/gemm-tiles.ts). With FMA the 4×2 tile runs at the speed of 8 independent
 *  relaxed_madd chains, ~90% of 12 (the measured peak). */
export const TILE_ROWS = 4;
export const NV = 2;
/** Rows of A per block (a multiple of MR), and rows summed per block in dw. */
export const MC = 64;
export const KC = 256;
/** Unrolling of the k loop: none. Measured on the S2/S3 product shapes (test/bench/wasm-gemm.ts's
 *  GEMM with the tile option), a 4×8 tile makes 34-36 GFLOP/s with the loop as written and 20-23
 *  unrolled twice: V8 hoists the unrolled step's loads ahead of its arithmetic and spills. */
const UNROLL = 1;

interface TileArgs {
  mr: number;
  nv: number;
  /** Bytes between consecutive k of this tile's B. */
  ldb: number;
  /** Valid lanes in the last vector (lanes when full). */
  last: number;
  /** Static reduction length, or the local holding it. */
  k: number | string;
}

/** One tile: accumulators over the reduction from $pa / $pb, then added or stored at $pc. */
function tile(f: Fn, e: Elem, s: GemmSpec, t: TileArgs): void {
  const U = s.tile?.u ?? UNROLL;
  const acc = (i: number, v: number) => f.local(`c${i}_${v}`, "v128");
  const qa = f.local("qa", "i32");
  const qb = f.local("qb", "i32");
  const bv = (v: number) => f.local(`b${v}`, "v128");
  const av = f.local("av", "v128");
  const splat = e.bits === "32" ? "v128.load32_splat" : "v128.load64_splat";
  f.comment(`tile ${t.mr}×${t.nv * e.lanes}${t.last < e.lanes ? ` (last vector ${t.last} of ${e.lanes} lanes)` : ""}`);
  f.emit(set(qa, get("$pa")), set(qb, get("$pb")));
  for (let i = 0; i < t.mr; i++) for (let v = 0; v < t.nv; v++) f.emit(set(acc(i, v), "(v128.const i64x2 0 0)"));
  const step = (u: number) => {
    for (let v = 0; v < t.nv; v++) f.emit(set(bv(v), `(v128.load offset=${u * t.ldb + v * 16} ${get(qb)})`));
    for (let i = 0; i < t.mr; i++) {
      f.emit(set(av, `(${splat} offset=${i * s.ai + u * s.ak} ${get(qa)})`));
      for (let v = 0; v < t.nv; v++) f.emit(set(acc(i, v), madd(e, get(av), get(bv(v)), get(acc(i, v)))));
    }
  };
  const advance = (n: number) => f.emit(set(qa, addI(get(qa), n * s.ak)), set(qb, addI(get(qb), n * t.ldb)));
  if (typeof t.k === "number") {
    const full = Math.floor(t.k / U);
    if (full > 0) {
      const k = f.local("k", "i32");
      f.emit(set(k, i32(full)));
      f.nest("(loop $kloop", () => {
        for (let u = 0; u < U; u++) step(u);
        advance(U);
        f.emit(set(k, `(i32.sub ${get(k)} (i32.const 1))`), `(br_if $kloop ${get(k)})`);
      });
    }
    for (let u = 0; u < t.k % U; u++) step(u);
  } else if (U === 1) {
    // A runtime length, at least 1 (a weight gradient's block has a row): a do-while.
    const k = f.local("k", "i32");
    f.emit(set(k, get(t.k)));
    f.nest("(loop $kloop", () => {
      step(0);
      advance(1);
      f.emit(set(k, `(i32.sub ${get(k)} (i32.const 1))`), `(br_if $kloop ${get(k)})`);
    });
  } else {
    const k = f.local("k", "i32");
    f.emit(set(k, get(t.k)));
    f.nest("(block $kdone", () => {
      f.nest("(loop $kloop", () => {
        f.emit(`(br_if $kdone (i32.lt_u ${get(k)} ${i32(U)}))`);
        for (let u = 0; u < U; u++) step(u);
        advance(U);
        f.emit(set(k, `(i32.sub ${get(k)} ${i32(U)})`), "(br $kloop)");
      });
    });
    // The last k % U steps (none when the loop is not unrolled).
    if (U === 2) f.nest(`(if ${get(k)}`, () => f.nest("(then", () => step(0)));
    else if (U > 2)
      f.nest("(block $kdone1", () =>
        f.nest("(loop $kloop1", () => {
          f.emit(`(br_if $kdone1 (i32.eqz ${get(k)}))`);
          step(0);
          advance(1);
          f.emit(set(k, `(i32.sub ${get(k)} (i32.const 1))`), "(br $kloop1)");
        }),
      );
  }
  // Epilogue: C += acc or C = acc, lane by lane in a partial last vector.
  for (let i = 0; i < t.mr; i++) {
    for (let v = 0; v < t.nv; v++) {
      const off = i * s.cs + v * 16;
      const lanes = v === t.nv - 1 ? t.last : e.lanes;
      if (lanes === e.lanes) {
        const val = s.accumulate ? `(${e.v}.add (v128.load offset=${off} (local.get $pc)) ${get(acc(i, v))})` : get(acc(i, v));
        f.emit(`(v128.store offset=${off} (local.get $pc) ${val})`);
      } else {
        for (let l = 0; l < lanes; l++) {
          const lo = off + l * e.bytes;
          const x = `(${e.v}.extract_lane ${l} ${get(acc(i, v))})`;
          const val = s.accumulate ? `(${e.s}.add (${e.s}.load offset=${lo} (local.get $pc)) ${x})` : x;
          f.emit(`(${e.s}.store offset=${lo} (local.get $pc) ${val})`);
        }
      }
    }
  }
}

/** Column tiles: NV-vector tiles over the full panels, then one tile for the static remainder. */
function columnTiles(e: Elem, N: number, nv: number): { start: number; count: number; nv: number; last: number }[] {
  const NR = nv * e.lanes;
  const out = [];
  const full = Math.floor(N / NR);
  if (full > 0) out.push({ start: 0, count: full, nv, last: e.lanes });
  const rest = N - full * NR;
  if (rest > 0) out.push({ start: full * NR, count: 1, nv: Math.ceil(rest / e.lanes), last: rest % e.lanes || e.lanes });
  return out;
}

/** Vectors per tile for the last r < MR rows: fewer rows leave registers for more columns, and
 *  more independent accumulators (a batch of one would otherwise wait on two addition chains). */
const remainderVectors = (r: number, nv: number) => (r <= 2 ? Math.max(nv, 4) : nv);

/** The function for a product whose row count is the runtime parameter $n (xwT, xw). */
function rowsGemm(f: Fn, e: Elem, s: GemmSpec, tile: (t: TileArgs) => void): void {
  const K = s.K!;
  const MR = s.tile?.mr ?? TILE_ROWS;
  const NVt = s.tile?.nv ?? NV;
  const mc = s.tile?.mc ?? MC;
  const ic = f.local("ic", "i32");
  const iend = f.local("iend", "i32");
  const i = f.local("i", "i32");
  const jb = f.local("jb", "i32");
  const rem = f.local("rem", "i32");
  f.local("pa", "i32");
  f.local("pb", "i32");
  f.local("pc", "i32");
  const origin = (col: { c: string; b: string }) => [
    set("$pa", addI(get("$a"), `(i32.mul ${get(i)} ${i32(s.ai)})`)),
    set("$pb", addI(get("$b"), col.b)),
    set("$pc", addI(addI(get("$c"), `(i32.mul ${get(i)} ${i32(s.cs)})`), col.c)),
  ];
  /** `body(col)` for every column tile of width nv (a loop over the full ones, then the rest);
   *  col.c is the tile's byte offset in C's rows, col.b in B (a panel's start when packed). */
  // Only the column panels [j0, j1) of this call (all of them on one thread; see gemmPanels).
  const full = Math.floor(s.N / (NVt * e.lanes));
  const jend = f.local("jend", "i32");
  f.emit(set(jend, `(select ${get("$j1")} ${i32(full)} (i32.lt_u ${get("$j1")} ${i32(full)}))`));
  const columns = (nv: number, body: (col: { c: string; b: string }, ct: { nv: number; last: number; ldb: number }) => void) => {
    for (const ct of columnTiles(e, s.N, nv)) {
      const panelBytes = K * ct.nv * 16;
      const ldb = s.packed ? ct.nv * 16 : s.ldb;
      if (full > 0 && ct.start === 0 && nv === NVt) {
        // The full panels in the range.
        f.emit(set(jb, get("$j0")));
        f.nest("(block $cols_done", () =>
          f.nest("(loop $cols", () => {
            f.emit(`(br_if $cols_done (i32.ge_u ${get(jb)} ${get(jend)}))`);
            const c = `(i32.mul ${get(jb)} ${i32(ct.nv * 16)})`;
            body({ c, b: s.packed ? `(i32.mul ${get(jb)} ${i32(panelBytes)})` : c }, { ...ct, ldb });
            f.emit(set(jb, `(i32.add ${get(jb)} (i32.const 1))`), "(br $cols)");
          }),
        );
      } else if (ct.count > 1) {
        // Narrower tiles of an unpacked B's last rows (whole range only).
        f.emit(set(jb, i32(0)));
        f.nest("(loop $cols", () => {
          const c = `(i32.mul ${get(jb)} ${i32(ct.nv * 16)})`;
          body({ c, b: c }, { ...ct, ldb });
          f.emit(set(jb, `(i32.add ${get(jb)} (i32.const 1))`), `(br_if $cols (i32.lt_u ${get(jb)} ${i32(ct.count)}))`);
        });
      } else {
        // The last, partial panel: computed by the call whose range holds it.
        const c = i32(ct.start * e.bytes);
        const one = () => body({ c, b: s.packed ? i32((ct.start / (nv * e.lanes)) * K * nv * 16) : c }, { ...ct, ldb });
        if (ct.start === full * NVt * e.lanes && nv === NVt) {
          f.nest(`(if (i32.and (i32.le_u ${get("$j0")} ${i32(full)}) (i32.gt_u ${get("$j1")} ${i32(full)}))`, () => f.nest("(then", one));
        } else one();
      }
    }
  };
  f.emit(set(ic, i32(0)));
  f.nest("(block $blocks_done", () =>
    f.nest("(loop $blocks", () => {
      f.emit(`(br_if $blocks_done (i32.ge_u ${get(ic)} ${get("$n")}))`);
      f.emit(set(iend, `(select (i32.add ${get(ic)} ${i32(mc)}) ${get("$n")} (i32.lt_u (i32.add ${get(ic)} ${i32(mc)}) ${get("$n")}))`));
      // Full tiles of MR rows: each column panel sweeps the block's rows while it is in cache.
      columns(NVt, (col, ct) => {
        f.emit(set(i, get(ic)));
        f.nest("(block $rows_done", () =>
          f.nest("(loop $rows", () => {
            f.emit(`(br_if $rows_done (i32.gt_u (i32.add ${get(i)} ${i32(MR)}) ${get(iend)}))`);
            f.emit(...origin(col));
            tile({ mr: MR, nv: ct.nv, last: ct.last, ldb: ct.ldb, k: K });
            f.emit(set(i, `(i32.add ${get(i)} ${i32(MR)})`), "(br $rows)");
          }),
        );
      });
      // The last 1..MR-1 rows (only in the last block), with wider tiles.
      f.emit(set(i, `(i32.sub ${get(iend)} (i32.rem_u (i32.sub ${get(iend)} ${get(ic)}) ${i32(MR)}))`));
      f.emit(set(rem, `(i32.sub ${get(iend)} ${get(i)})`));
      f.nest("(block $r0", () =>
        remainder(f, MR - 1, rem, (r) =>
          // Packed panels have one width: the last rows use it too.
          columns(s.packed ? NVt : remainderVectors(r, NVt), (col, ct) => {
            f.emit(...origin(col));
            tile({ mr: r, nv: ct.nv, last: ct.last, ldb: ct.ldb, k: K });
          }),
        ),
      );
      f.emit(set(ic, `(i32.add ${get(ic)} ${i32(mc)})`), "(br $blocks)");
    }),
  );
}

/** The remainder rows 1..top of a block, inside an enclosing `(block $r0`: blocks $r{top} (outer)
 *  .. $r1 (inner) around a br_table on `rem`; after block $rk closes, `body(k)` runs and leaves
 *  $r0, so exactly the tile for rem rows runs (none for 0). */
function remainder(f: Fn, top: number, rem: string, body: (r: number) => void): void {
  const labels = Array.from({ length: top + 1 }, (_, r) => `$r${r}`).join(" ");
  const chain = (r: number): void => {
    if (r === 0) {
      f.emit(`(br_table ${labels} $r0 ${get(rem)})`);
      return;
    }
    f.nest(`(block $r${r}`, () => chain(r - 1));
    body(r);
    if (r !== top) f.emit("(br $r0)");
  };
  chain(top);
}

/** Scratch bytes a weight gradient's function needs per worker (see rowsReduceGemm): a block of
 *  X's rows packed into column panels, and a row tile's columns of D packed by rows. */
export function dwScratchBytes(e: Elem, N: number, tile?: GemmSpec["tile"]): number {
  const kc = tile?.kc ?? KC;
  const width = columnTiles(e, N, tile?.nv ?? NV).reduce((w, ct) => w + ct.count * ct.nv * e.lanes, 0);
  return Math.ceil(((width + (tile?.mr ?? TILE_ROWS)) * kc * e.bytes) / 64) * 64;
}

/** The function for a weight gradient (dw): C is G [M, N], the reduction runs over the rows in
 *  blocks of KC. Both operands are read along the rows at a stride (a row of D or X per step),
 *  which the cache serves badly, so each block is first packed into the worker's scratch ($s):
 *  X's rows into column panels as the xw products' weights are (by $pack), and for each row tile
 *  of G its MR columns of D, row after row; the tiles then stream both from contiguous memory. */
function rowsReduceGemm(f: Fn, e: Elem, s: GemmSpec, tile: (t: TileArgs) => void): void {
  const M = s.M!;
  const E = e.bytes;
  const MR = s.tile?.mr ?? TILE_ROWS;
  const rowsPerBlock = s.tile?.kc ?? KC;
  const kb = f.local("kb", "i32");
  const kc = f.local("kc", "i32");
  const jb = f.local("jb", "i32");
  const ib = f.local("ib", "i32");
  const r = f.local("r", "i32");
  const src = f.local("src", "i32");
  const dst = f.local("dst", "i32");
  f.local("pa", "i32");
  f.local("pb", "i32");
  f.local("pc", "i32");
  const mFull = Math.floor(M / MR);
  const mRest = M - mFull * MR;
  const cts = columnTiles(e, s.N, s.tile?.nv ?? NV);
  // The packed D after the panels: their widths times KC rows.
  const dPack = cts.reduce((w, ct) => w + ct.count * ct.nv * e.lanes, 0) * rowsPerBlock * E;
  // This call's tiles of G's rows are [i0, i1) (the tile after the full ones has mRest rows).
  const iend = f.local("iend", "i32");
  f.emit(set(iend, `(select ${get("$i1")} ${i32(mFull)} (i32.lt_u ${get("$i1")} ${i32(mFull)}))`));
  f.emit(set(kb, i32(0)));
  f.nest("(block $blocks_done", () =>
    f.nest("(loop $blocks", () => {
      f.emit(`(br_if $blocks_done (i32.ge_u ${get(kb)} ${get("$n")}))`);
      f.emit(set(kc, `(i32.sub ${get("$n")} ${get(kb)})`));
      f.emit(set(kc, `(select ${i32(rowsPerBlock)} ${get(kc)} (i32.gt_u ${get(kc)} ${i32(rowsPerBlock)}))`));
      f.comment("the block's rows of X into column panels (kc rows each)");
      f.emit(`(call $pack (i32.add ${get("$b")} (i32.mul ${get(kb)} ${i32(s.ldb)})) ${get("$s")} ${i32(s.N)} ${get(kc)} ${i32(E)} ${i32(s.ldb)})`);
      /** One row tile of G (mr rows from byte offset `rowA` in D's rows and `rowC` in G), its
       *  columns of D packed first, then every column tile. */
      const rowTile = (rowA: string, rowC: string, mr: number) => {
        f.emit(set(src, addI(addI(get("$a"), `(i32.mul ${get(kb)} ${i32(s.ak)})`), rowA)), set(dst, addI(get("$s"), dPack)), set(r, get(kc)));
        f.nest("(loop $dpack", () => {
          if (mr === MR && (MR * E) % 16 === 0) for (let v = 0; v < (MR * E) / 16; v++) f.emit(`(v128.store offset=${v * 16} ${get(dst)} (v128.load offset=${v * 16} ${get(src)}))`);
          else for (let i = 0; i < mr; i++) f.emit(`(${e.s}.store offset=${i * E} ${get(dst)} (${e.s}.load offset=${i * s.ai} ${get(src)}))`);
          f.emit(set(src, addI(get(src), s.ak)), set(dst, addI(get(dst), MR * E)), set(r, `(i32.sub ${get(r)} (i32.const 1))`), `(br_if $dpack ${get(r)})`);
        });
        let panelStart = 0;
        for (const ct of cts) {
          const panel = `(i32.mul ${get(kc)} ${i32(ct.nv * 16)})`;
          const start = panelStart;
          const one = (pb: string, colC: string) => {
            f.emit(set("$pa", addI(get("$s"), dPack)), set("$pb", pb), set("$pc", addI(addI(get("$c"), rowC), colC)));
            tile({ mr, nv: ct.nv, last: ct.last, ldb: ct.nv * 16, k: kc });
          };
          const base = start === 0 ? get("$s") : `(i32.add ${get("$s")} (i32.mul ${get(kc)} ${i32(start)}))`;
          if (ct.count > 1) {
            f.emit(set(jb, i32(0)));
            f.nest("(loop $cols", () => {
              one(`(i32.add ${base} (i32.mul ${get(jb)} ${panel}))`, `(i32.mul ${get(jb)} ${i32(ct.nv * 16)})`);
              f.emit(set(jb, `(i32.add ${get(jb)} (i32.const 1))`), `(br_if $cols (i32.lt_u ${get(jb)} ${i32(ct.count)}))`);
            });
          } else one(base, i32(ct.start * E));
          panelStart += ct.count * ct.nv * 16;
        }
      };
      if (mFull > 0) {
        f.emit(set(ib, get("$i0")));
        f.nest("(block $rows_done", () =>
          f.nest("(loop $rows", () => {
            f.emit(`(br_if $rows_done (i32.ge_u ${get(ib)} ${get(iend)}))`);
            rowTile(`(i32.mul ${get(ib)} ${i32(MR * s.ai)})`, `(i32.mul ${get(ib)} ${i32(MR * s.cs)})`, MR);
            f.emit(set(ib, `(i32.add ${get(ib)} (i32.const 1))`), "(br $rows)");
          }),
        );
      }
      if (mRest > 0) {
        f.nest(`(if (i32.gt_u ${get("$i1")} ${i32(mFull)})`, () => f.nest("(then", () => rowTile(i32(mFull * MR * s.ai), i32(mFull * MR * s.cs), mRest)));
      }
      f.emit(set(kb, `(i32.add ${get(kb)} ${i32(rowsPerBlock)})`), "(br $blocks)");
    }),
  );
}

/** Column panels of a product's N columns (the last one may be partial): a call of its function
 *  computes panels [j0, j1), so workers can share C out by columns (packed B only; an unpacked
 *  B's last rows use narrower tiles and need the whole range). */
export const gemmPanels = (e: Elem, N: number, nv: number = NV) => Math.ceil(N / (nv * e.lanes));

/** Tiles of MR rows covering a weight gradient's M rows (the last one may be short): a call of
 *  its function computes tiles [i0, i1), so workers can share G out by rows. */
export const dwTiles = (M: number, mr: number = TILE_ROWS) => Math.ceil(M / mr);

/** The WAT function for one product: (param $n i32) (param $a i32) (param $b i32) (param $c i32),
 *  then for xwT/xw products (param $j0 i32) (param $j1 i32), the column panels it computes, and
 *  for a weight gradient (param $i0 i32) (param $i1 i32) (param $s i32), the tiles of G's rows it
 *  computes and its scratch. */
export function gemmFunction(e: Elem, s: GemmSpec): string {
  const params: [string, "i32"][] = [["n", "i32"], ["a", "i32"], ["b", "i32"], ["c", "i32"]];
  if (s.M !== null) params.push(["i0", "i32"], ["i1", "i32"], ["s", "i32"]);
  else params.push(["j0", "i32"], ["j1", "i32"]);
  const f = new Fn(s.fn, params);
  f.comment(s.doc.join("\n"));
  const tiles = new Map<string, TileArgs>();
  // Each tile shape is a function of its own: only its pointers and count are live in its loop, so
  // the engine keeps every accumulator and the counter in registers.
  const call = (t: TileArgs) => {
    const name = `${s.fn}_${t.mr}x${t.nv}${t.last < e.lanes ? `_${t.last}` : ""}_${t.ldb}`;
    tiles.set(name, t);
    f.emit(`(call $${name} ${get("$pa")} ${get("$pb")} ${get("$pc")} ${typeof t.k === "number" ? i32(t.k) : get(t.k)})`);
  };
  if (s.M === null) rowsGemm(f, e, s, call);
  else rowsReduceGemm(f, e, s, call);
  const out = [f.text()];
  // A weight gradient's tiles read D packed: MR values per row, consecutive.
  const ts = s.M === null ? s : { ...s, ai: e.bytes, ak: (s.tile?.mr ?? TILE_ROWS) * e.bytes };
  for (const [name, t] of tiles) {
    const g = new Fn(name, [["pa", "i32"], ["pb", "i32"], ["pc", "i32"], ["kn", "i32"]]);
    tile(g, e, ts, { ...t, k: typeof t.k === "number" ? t.k : "$kn" });
    out.push(g.text());
  }
  return out.join("\n");
}
