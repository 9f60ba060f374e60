// Prints the stages of a plan as WebAssembly: an entry point is one function that loads every
// buffer's address from the binding table the caller filled, packs the weights its products read
// (once per call), then runs the stages. Each of nw workers runs the entry point at once and does
// its share of each stage, as compiler/plan/parallel.ts splits them (on one thread the share is
// everything): an op runs over R rows from row r0 — a stage over all rows hands out chunks of its
// T·B rows (and of a weight gradient's row tiles) that the workers take in turn, a loop over t
// chunks of samples [b0, b0 + R) taken in turn, each through every step (r0 = t·B + b0), or, with
// few samples, each step's products' columns. A barrier comes before a stage only where it
// touches what the stages since the last barrier wrote. Maps run over R rows with their columns
// in vectors (and a last partial vector lane by lane, ./ops.ts); GEMMs call the product's function.

import { isRowOp, isStructOp, type PlanOp, type Stage, type View } from "../../compiler/plan/types.ts";
import { stageNeedsBarrier, stageSplit, type StageSplit } from "../../compiler/plan/parallel.ts";
import { dwTiles, gemmPanels, MC, NV, TILE_ROWS } from "./gemm.ts";
import { DYNAMIC_SLOTS, dynamicLoop } from "./threads.ts";
import type { ModuleParts } from "./parts.ts";
import { rowPrimitiveCode, structuralCode } from "./rows.ts";
import { comments, mapOp, viewBase } from "./ops.ts";
import { Fn, get, i32, set, type Elem } from "./wat.ts";
import { watComment } from "./escape.ts";

/** One op over the current rows ($r0, $R, $b0); `byColumns`: a product computes this worker's
 *  share of its column panels (a loop split by columns), else all of them; `tiles`: the tiles of
 *  a weight gradient's rows it computes (default: this worker's static share). */
function opCode(f: Fn, p: ModuleParts, op: PlanOp, fast: boolean, byColumns = false, tiles?: [string, string]): void {
  if (isRowOp(op)) return rowPrimitiveCode(f, p, op, (q, v) => viewBase(q, v));
  if (isStructOp(op)) return structuralCode(f, p, op, (q, v) => viewBase(q, v));
  switch (op.op) {
    case "gemm": {
      const fn = p.gemmFn(op);
      if (op.form === "dw") {
        // This worker's tiles of G's rows (all of them on one thread).
        const range = (tiles ?? share(i32(dwTiles(op.n)))).join(" ");
        const scratch = `(i32.add (i32.load offset=${p.plan.buffers.length * 4} ${get("$tbl")}) (i32.mul ${get("$w")} ${i32(p.dwScratch)}))`;
        f.emit(`(call $${fn} ${get("$R")} ${viewBase(p, op.a)} ${viewBase(p, op.w as View)} ${get(`$p_${p.plan.buffers[op.c.buf]!.name}`)} ${range} ${scratch})`);
      } else {
        const w = get(`$panel${p.panelSlot(op.w.buf, op.form, op.n, op.k)}`);
        // Its column panels: this worker's share in a loop split by columns, else all of them.
        const panels = gemmPanels(p.e, op.n);
        const range = byColumns
          ? share(i32(panels)).join(" ")
          : `(i32.const 0) ${i32(panels)}`;
        f.emit(`(call $${fn} ${get("$R")} ${viewBase(p, op.a)} ${w} ${viewBase(p, op.c as View)} ${range})`);
      }
      return;
    }
    case "map":
      return mapOp(f, p, op, fast);
    case "copy":
      return mapOp(f, p, { op: "map", width: op.dst.width, terms: [{ kind: "load", view: op.src, broadcast: false, name: "_copy" }], stores: [{ term: 0, view: op.dst }], lines: [] }, fast);
    case "fill":
      return mapOp(f, p, { op: "map", width: op.dst.width, terms: [{ kind: "fn", fn: "copy", args: [{ c: op.value }], value: -1, name: "_fill" }], stores: [{ term: 0, view: op.dst }], lines: [] }, fast);
  }
}

/** One stage, this worker's share of it (see compiler/plan/parallel.ts): r0 and R are the rows an
 *  op runs over, b0 the first sample of a share of the batch. */
function stageCode(f: Fn, p: ModuleParts, s: Stage, prefix: string): void {
  const split = stageSplit(s, p.plan.buffers);
  for (const name of ["r0", "R", "b0"]) f.local(name, "i32");
  f.comment(s.title);
  if (s.kind === "all") return allRowsStage(f, p, s, split, prefix);
  const step = loopSteps(f, s);
  if (split.split === "serial") {
    f.comment("a sum over the batch inside the loop: one worker runs it whole");
    f.emit(set("$b0", i32(0)), set("$R", get("$B")));
    f.nest(`(if ${whole(p)}`, () => f.nest("(then", () => loopBySamples(f, p, s, step, prefix)));
    return;
  }
  // Few samples per worker: a step's products are shared by columns instead.
  f.nest(`(if (i32.and (i32.gt_u ${get("$nw")} (i32.const 1)) (i32.lt_u ${get("$B")} (i32.mul ${get("$nw")} ${i32(MIN_SAMPLES)})))`, () => {
    f.nest("(then", () => loopByColumns(f, p, s, split, step, prefix));
    f.nest("(else", () => {
      if (p.dynamicSlot >= DYNAMIC_SLOTS) {
        // Out of counters: this worker's static share.
        sampleShare(f);
        f.nest(`(if (i32.gt_s ${get("$R")} (i32.const 0))`, () => f.nest("(then", () => loopBySamples(f, p, s, step, prefix)));
        return;
      }
      // Chunks of samples taken in turn: each runs the whole loop over t for its samples, so
      // no barrier between steps.
      dynamicLoop(f, p.dynamicSlot++, get("$B"), sampleChunk(p, s), () => {
        f.emit(set("$b0", get("$dlo")), set("$R", `(i32.sub ${get("$dhi")} ${get("$dlo")})`));
        loopBySamples(f, p, s, step, prefix);
      });
    });
  });
}

/** Samples per chunk of a loop shared by samples: all of them on one thread, else one GEMM tile
 *  of rows (the finer the chunks, the less a fast core waits at the end for a slow one's last
 *  chunk) or, where the loop's packed weights outgrow a core's cache, four tiles (each chunk
 *  streams them once per step: for LSTM at H 1024, 16 MiB, one thread's forward took 15% more
 *  CPU time in chunks of 4 samples, 8% in chunks of 8, none in chunks of 16; at H 256, 1 MiB,
 *  none in chunks of 4), and at most a worker's share of the batch. */
function sampleChunk(p: ModuleParts, s: Stage): string {
  const weights = Math.max(0, ...[...s.ops, ...(s.carry ?? [])].map((op) => (op.op === "gemm" && op.form !== "dw" ? op.n * op.k * p.e.bytes : 0)));
  const rows = weights > CACHED_WEIGHTS ? 4 * TILE_ROWS : TILE_ROWS;
  const share = `(i32.and (i32.add (i32.div_u (i32.add ${get("$B")} (i32.sub ${get("$nw")} (i32.const 1))) ${get("$nw")}) ${i32(TILE_ROWS - 1)}) ${i32(-TILE_ROWS)})`;
  const chunk = `(select ${i32(rows)} ${share} (i32.lt_u ${i32(rows)} ${share}))`;
  return `(select ${get("$B")} ${chunk} (i32.le_u ${get("$nw")} (i32.const 1)))`;
}

/** Packed weight bytes of a loop's products up to which chunks of one tile of samples cost
 *  nothing measurable (this machine's per-core L2 cache: 1 MiB). */
const CACHED_WEIGHTS = 1 << 20;

/** Sets $b0 and $R to this worker's share of the batch's samples. */
function sampleShare(f: Fn): void {
  const [start, end] = share(get("$B"));
  f.emit(set(f.local("b0", "i32"), start), set(f.local("R", "i32"), `(i32.sub ${end} ${get("$b0")})`));
}

/** A stage over all T·B rows: each run of row-wise ops between barriers over chunks of rows, and
 *  a weight gradient over chunks of G's row tiles, that the workers take in turn (dynamic: a slow
 *  core takes fewer; see threads.ts); other sums whole on one worker; barriers where the plan says. */
function allRowsStage(f: Fn, p: ModuleParts, s: Stage, split: StageSplit, prefix: string): void {
  const last = { text: "" };
  const r0 = f.local("r0", "i32");
  const R = f.local("R", "i32");
  const TB = f.local("TB", "i32");
  f.emit(set(TB, `(i32.mul ${get("$T")} ${get("$B")})`), set(f.local("b0", "i32"), i32(0)));
  // Dynamic loops since the last barrier each have a counter of their own (p.dynamicSlot: the
  // next free one; a barrier zeroes them all).
  const fast = p.plan.fastMath;
  for (let i = 0; i < s.ops.length; ) {
    const { split: how, barrier } = split.ops[i]!;
    if (barrier) {
      f.emit(BARRIER);
      p.dynamicSlot = 0;
    }
    if (how === "rows") {
      // The run of row-wise ops up to the next barrier: each chunk of rows through all of them.
      let j = i + 1;
      while (j < s.ops.length && split.ops[j]!.split === "rows" && !split.ops[j]!.barrier) j++;
      const run = s.ops.slice(i, j);
      const body = () => run.forEach((op) => (comments(f, op.lines, prefix, last), opCode(f, p, op, fast)));
      if (p.dynamicSlot < DYNAMIC_SLOTS) {
        dynamicLoop(f, p.dynamicSlot++, get(TB), rowChunk(get(TB)), () => {
          f.emit(set(r0, get("$dlo")), set(R, `(i32.sub ${get("$dhi")} ${get("$dlo")})`));
          body();
        });
      } else {
        // Out of counters: this worker's static share (none when there are fewer rows than workers).
        const [start, end] = share(get(TB), -4);
        f.emit(set(r0, start), set(R, `(i32.sub ${end} ${get(r0)})`));
        f.nest(`(if (i32.gt_s ${get(R)} (i32.const 0))`, () => f.nest("(then", body));
      }
      i = j;
      continue;
    }
    const op = s.ops[i]!;
    comments(f, op.lines, prefix, last);
    f.emit(set(r0, i32(0)), set(R, get(TB)));
    if (how === "dw" && op.op === "gemm" && p.dynamicSlot < DYNAMIC_SLOTS) {
      const tiles = dwTiles(op.n);
      // Chunks of G's row tiles: a few per worker (each call packs its blocks of X once).
      const chunk = `(select ${i32(tiles)} (i32.add (i32.div_u ${i32(tiles - 1)} (i32.shl ${get("$nw")} (i32.const 1))) (i32.const 1)) (i32.le_u ${get("$nw")} (i32.const 1)))`;
      dynamicLoop(f, p.dynamicSlot++, i32(tiles), chunk, () => opCode(f, p, op, fast, false, [get("$dlo"), get("$dhi")]));
    } else if (how === "dw") opCode(f, p, op, fast);
    else f.nest(`(if ${whole(p)}`, () => f.nest("(then", () => opCode(f, p, op, fast)));
    i++;
  }
}

/** Rows per chunk of a dynamic loop over n rows: all of them on one thread, else about eight
 *  chunks per worker, in whole blocks of the GEMMs' MC rows. */
function rowChunk(n: string): string {
  const eighth = `(i32.div_u (i32.add ${n} (i32.sub (i32.shl ${get("$nw")} (i32.const 3)) (i32.const 1))) (i32.shl ${get("$nw")} (i32.const 3)))`;
  const blocks = `(i32.and (i32.add ${eighth} ${i32(MC - 1)}) ${i32(-MC)})`;
  return `(select ${n} ${blocks} (i32.le_u ${get("$nw")} (i32.const 1)))`;
}

/** A loop over the steps (forward or reverse) around `body`, which sees the step in $t. */
function loopSteps(f: Fn, s: Stage): (body: () => void) => void {
  const t = f.local("t", "i32");
  return (body) => {
    f.emit(set(t, s.reverse ? `(i32.sub ${get("$T")} (i32.const 1))` : i32(0)));
    f.nest("(loop $steps", () => {
      body();
      if (s.reverse) f.emit(set(t, `(i32.sub ${get(t)} (i32.const 1))`), `(br_if $steps (i32.ge_s ${get(t)} (i32.const 0)))`);
      else f.emit(set(t, `(i32.add ${get(t)} (i32.const 1))`), `(br_if $steps (i32.lt_u ${get(t)} ${get("$T")}))`);
    });
  };
}

/** The loop on samples [b0, b0 + R) at every step: what a step reads of the step before is its own
 *  samples' rows, so no barrier. */
function loopBySamples(f: Fn, p: ModuleParts, s: Stage, steps: (body: () => void) => void, prefix: string): void {
  const last = { text: "" };
  const ops = (list: readonly PlanOp[]) => {
    for (const op of list) {
      comments(f, op.lines, prefix, last);
      opCode(f, p, op, p.plan.fastMath);
    }
  };
  steps(() => {
    f.emit(set(f.local("r0", "i32"), `(i32.add (i32.mul ${get("$t")} ${get("$B")}) ${get("$b0")})`));
    ops(s.ops);
    if (s.carry?.length) {
      f.comment("carry the states' gradients to the step before");
      ops(s.carry);
    }
  });
}

/** The loop with each step's products on this worker's share of their column panels (every
 *  sample) and the other ops on its share of the samples; barriers where the plan says, and after
 *  every step (the next one reads what every share wrote). */
function loopByColumns(f: Fn, p: ModuleParts, s: Stage, split: StageSplit, steps: (body: () => void) => void, prefix: string): void {
  const last = { text: "" };
  const all = [...s.ops, ...(s.carry ?? [])];
  f.comment(`fewer than ${MIN_SAMPLES} samples per worker: products by columns, the rest by samples`);
  steps(() => {
    all.forEach((op, i) => {
      const { split: how, barrier } = split.columns!.ops[i]!;
      if (barrier) f.emit(BARRIER);
      if (i === s.ops.length) f.comment("carry the states' gradients to the step before");
      comments(f, op.lines, prefix, last);
      if (how === "cols") {
        f.emit(set("$b0", i32(0)), set("$R", get("$B")), set("$r0", `(i32.mul ${get("$t")} ${get("$B")})`));
        opCode(f, p, op, p.plan.fastMath, true);
      } else {
        sampleShare(f);
        f.emit(set(f.local("r0", "i32"), `(i32.add (i32.mul ${get("$t")} ${get("$B")}) ${get("$b0")})`));
        f.nest(`(if (i32.gt_s ${get("$R")} (i32.const 0))`, () => f.nest("(then", () => opCode(f, p, op, p.plan.fastMath)));
      }
    });
    f.emit(BARRIER);
  });
}

/** True on the worker that runs the next op or stage that cannot be shared out: the k-th such in
 *  the entry point goes to worker k mod nw, so several of them (colsums) run side by side. */
function whole(p: ModuleParts): string {
  return `(i32.eq ${get("$w")} (i32.rem_u ${i32(p.wholeOps++)} ${get("$nw")}))`;
}

/** Samples per worker below which a loop's products are shared by columns (a GEMM tile has 4 rows). */
const MIN_SAMPLES = 4;

/** This worker's share [start, end) of [0, n) (i32 expressions; $share rounds the ends between
 *  shares down to `mask`). */
function share(n: string, mask = -1): [string, string] {
  const at = (w: string) => `(call $share ${n} ${w} ${get("$nw")} (i32.const ${mask}))`;
  return [at(get("$w")), at(`(i32.add ${get("$w")} (i32.const 1))`)];
}

/** Waits for every worker (returns at once on one thread). */
const BARRIER = `(call $barrier ${get("$sync")} ${get("$nw")})`;

/** The buffers an entry point's stages name. */
function usedBuffers(stages: readonly Stage[]): Set<number> {
  const out = new Set<number>();
  const view = (v: { buf: number }) => out.add(v.buf);
  for (const s of stages) {
    for (const op of [...s.ops, ...(s.carry ?? [])]) {
      if (isRowOp(op)) {
        view(op.src), view(op.dst);
        continue;
      }
      if (isStructOp(op)) {
        op.src.forEach(view), view(op.dst);
        continue;
      }
      switch (op.op) {
        case "gemm":
          view(op.a), view(op.w), view(op.c);
          break;
        case "map":
          op.terms.forEach((t) => t.kind === "load" && view(t.view));
          op.stores.forEach((x) => view(x.view));
          break;
        case "copy":
          view(op.src), view(op.dst);
          break;
        case "fill":
          view(op.dst);
          break;
      }
    }
  }
  return out;
}

/** One entry point: forward(tbl, T, B, w, nw, sync) or backward(tbl, T, B, inputGradients, w, nw,
 *  sync), run by each of nw workers (w = 0..nw-1) at once; on one thread w = 0, nw = 1. */
export function entryFunction(p: ModuleParts, which: "forward" | "backward"): string {
  const { plan, e } = p;
  const stages = plan[which].stages;
  const params: [string, "i32"][] = [["tbl", "i32"], ["T", "i32"], ["B", "i32"]];
  if (which === "backward") params.push(["ig", "i32"]);
  // Worker w of nw, and the barrier's words (see threadsFunctions).
  params.push(["w", "i32"], ["nw", "i32"], ["sync", "i32"]);
  const f = new Fn(which, params, undefined, which);
  const used = usedBuffers(stages);
  f.comment(`${which}: buffer addresses from the binding table (slot = buffer id)`);
  for (const id of [...used].sort((a, b) => a - b)) {
    const name = plan.buffers[id]!.name;
    f.emit(set(f.local(`p_${name}`, "i32"), `(i32.load offset=${id * 4} ${get("$tbl")})`));
  }
  // Weights the products read, packed into column panels once per call (every step reuses them).
  const packs: { buf: number; form: "xwT" | "xw"; n: number; k: number }[] = [];
  for (const s of stages) for (const op of [...s.ops, ...(s.carry ?? [])]) {
    if (op.op === "gemm" && op.form !== "dw" && !packs.some((q) => q.buf === op.w.buf && q.form === op.form)) packs.push({ buf: op.w.buf, form: op.form, n: op.n, k: op.k });
  }
  packs.forEach((q, k) => {
    const slot = p.panelSlot(q.buf, q.form, q.n, q.k);
    const panel = f.local(`panel${slot}`, "i32");
    f.emit(set(panel, `(i32.load offset=${slot * 4} ${get("$tbl")})`));
    const w = plan.buffers[q.buf]!.name;
    f.comment(watComment(`${w} ${q.form === "xwT" ? `[${q.n}, ${q.k}]` : `[${q.k}, ${q.n}]`} into panels of ${NV * e.lanes} columns (by worker ${k} mod nw)`));
    const [sj, sk] = q.form === "xwT" ? [q.k * e.bytes, e.bytes] : [e.bytes, q.n * e.bytes];
    const pack = `(call $pack ${get(`$p_${w}`)} ${get(panel)} ${i32(q.n)} ${i32(q.k)} ${i32(sj)} ${i32(sk)})`;
    f.nest(`(if (i32.eq ${get("$w")} (i32.rem_u ${i32(k)} ${get("$nw")}))`, () => f.nest("(then", () => f.emit(pack)));
  });
  const prefix = which === "backward" ? "adjoint of " : "";
  // The stages since the last barrier between stages.
  let since: Stage[] = [];
  for (const s of stages) {
    // A barrier where the stage touches what the ones since the last barrier wrote (every worker
    // wrote some of it), or writes what they read; the first one waits for the panels.
    if (since.length === 0 || stageNeedsBarrier(since, s, plan.buffers)) {
      f.emit(BARRIER);
      since = [];
      p.dynamicSlot = 0;
    } else f.comment("no barrier: this stage touches nothing the ones since the last barrier wrote");
    since.push(s);
    if (s.when === "inputGradients") f.nest(`(if ${get("$ig")}`, () => f.nest("(then", () => stageCode(f, p, s, prefix)));
    else if (s.when === "noInputGradients") f.nest(`(if (i32.eqz ${get("$ig")})`, () => f.nest("(then", () => stageCode(f, p, s, prefix)));
    else stageCode(f, p, s, prefix);
  }
  return f.text();
}

/** Packs a product's B into column panels of NR = NV·lanes columns (the last one as wide as its
 *  columns rounded up to whole vectors, zero-padded), each panel's K rows of NR values contiguous,
 *  so a tile streams its B from one place. B(j, k) is at src + j·sj + k·sk (bytes): a weight of
 *  an xwT product ([N, K]: sj = K·E, sk = E), of an xw product ([K, N]: sj = E, sk = N·E), or a
 *  weight gradient's block of rows X (sj = E, sk = the row stride). */
export function packFunction(e: Elem): string {
  const NR = NV * e.lanes;
  const f = new Fn("pack", [["src", "i32"], ["dst", "i32"], ["n", "i32"], ["k", "i32"], ["sj", "i32"], ["sk", "i32"]]);
  const E = e.bytes;
  const full = f.local("full", "i32");
  const tw = f.local("tw", "i32");
  const j = f.local("j", "i32");
  const p = f.local("p", "i32");
  const pw = f.local("pw", "i32");
  const out = f.local("out", "i32");
  const inp = f.local("in", "i32");
  const kk = f.local("kk", "i32");
  f.comment("full panels, and the last one's width (columns left rounded up to whole vectors), zeroed first");
  f.emit(set(full, `(i32.div_u ${get("$n")} ${i32(NR)})`));
  f.emit(set(tw, `(i32.and (i32.add (i32.sub ${get("$n")} (i32.mul ${get(full)} ${i32(NR)})) ${i32(e.lanes - 1)}) ${i32(-e.lanes)})`));
  f.emit(`(memory.fill (i32.add ${get("$dst")} (i32.mul (i32.mul ${get(full)} ${i32(NR * E)}) ${get("$k")})) (i32.const 0) (i32.mul (i32.mul ${get(tw)} ${get("$k")}) ${i32(E)}))`);
  f.comment("column by column: B(j, k) for every k, into its panel at stride of the panel's width");
  f.emit(set(j, i32(0)));
  f.nest("(loop $cols", () => {
    f.emit(set(p, `(i32.div_u ${get(j)} ${i32(NR)})`));
    f.emit(set(pw, `(select ${i32(NR)} ${get(tw)} (i32.lt_u ${get(p)} ${get(full)}))`));
    f.emit(set(out, `(i32.add ${get("$dst")} (i32.mul (i32.add (i32.mul (i32.mul ${get(p)} ${i32(NR)}) ${get("$k")}) (i32.sub ${get(j)} (i32.mul ${get(p)} ${i32(NR)}))) ${i32(E)}))`));
    f.emit(set(pw, `(i32.mul ${get(pw)} ${i32(E)})`));
    f.emit(set(inp, `(i32.add ${get("$src")} (i32.mul ${get(j)} ${get("$sj")}))`), set(kk, get("$k")));
    f.nest("(loop $rows", () => {
      f.emit(`(${e.s}.store ${get(out)} (${e.s}.load ${get(inp)}))`);
      f.emit(set(out, `(i32.add ${get(out)} ${get(pw)})`), set(inp, `(i32.add ${get(inp)} ${get("$sk")})`));
      f.emit(set(kk, `(i32.sub ${get(kk)} (i32.const 1))`), `(br_if $rows ${get(kk)})`);
    });
    f.emit(set(j, `(i32.add ${get(j)} (i32.const 1))`), `(br_if $cols (i32.lt_u ${get(j)} ${get("$n")}))`);
  });
  return f.text();
}
