// How an entry point's stages split across worker threads that share the kernel's memory: the
// plan's part of the `threads` option. Every worker runs the same stages with a share of the rows,
// and waits for the others at a barrier where it is about to read what another one wrote. Each
// number is computed by exactly one worker with the same operations in the same order as on one
// thread, so the results are bit for bit those of one thread, whatever the number of workers.
//
//   a loop stage   splits the batch: a worker runs a chunk of samples [b0, b1) through every
//                  step, which is all a step of a row-wise op reads (its state's rows of the step
//                  before are its own), so the loop needs no barrier. A loop with an op that
//                  writes a weight-shaped buffer (a sum over rows) runs whole on one worker
//                  instead ("serial").
//   an all stage   splits its T·B rows into chunks for row-wise ops ("rows"); a weight gradient
//                  G[n, k] += Σ_r D[r, n] · X[r, k] splits G's rows instead ("dw": every worker
//                  sums all rows for its part of G); any other op that writes a weight-shaped
//                  buffer (colsum, a fill) runs whole on one worker ("serial"; they take turns).
//                  A run of consecutive row-wise ops takes its chunks of rows dynamically (the
//                  workers take turns at a counter), each chunk through every op of the run, so
//                  two ops of one run see the same rows on the same worker; two runs need not.
// Barriers: between stages where the later one touches what the earlier ones wrote or writes
// what they read (stageNeedsBarrier), and inside an all stage before an op that touches what an
// op since the last barrier wrote (or writes what one read) in another partition of the rows.

import { isStructOp, structDst, type PlanBuffer, type PlanOp, type Stage } from "./types.ts";
import { viewsRead, viewsWritten } from "./views.ts";

/** How one op of an all stage is shared out. */
export type OpSplit = "rows" | "dw" | "serial";

export interface StageSplit {
  /** "rows": the stage's rows are shared out (a loop's samples, an all stage's per-op splits);
   *  "serial": one worker runs the whole stage. */
  split: "rows" | "serial";
  /** Per op (ops, then a loop's carry ops): its split and whether a barrier comes before it. */
  ops: { split: OpSplit; barrier: boolean }[];
  /** A loop shared by samples can instead, when there are few samples per worker, share each
   *  step's products by their columns ("cols": all samples, a share of C's columns) and its other
   *  ops by samples ("rows"), with a barrier before an op that touches what another share wrote
   *  in the step, and one after every step. */
  columns?: { ops: { split: "rows" | "cols"; barrier: boolean }[] };
}

/** Buffers whose rows follow the stage's rows (a share of rows is a share of these). */
const rowWise = (b: PlanBuffer) => b.rows === "seq" || b.rows === "carry";

/** The buffers an op writes, views or whole (a dw GEMM's and a gradient sum's gradient). */
function written(op: PlanOp): { buf: number; shift: number }[] {
  const out = viewsWritten(op).map((v) => ({ buf: v.buf, shift: v.shift as number }));
  if (op.op === "gemm" && op.form === "dw") out.push({ buf: op.c.buf, shift: 0 });
  if (isStructOp(op) && !structDst(op)) out.push({ buf: op.dst.buf, shift: 0 });
  return out;
}

function read(op: PlanOp): { buf: number; shift: number }[] {
  const out = viewsRead(op).map((v) => ({ buf: v.buf, shift: v.shift as number }));
  if (op.op === "gemm" && op.form === "dw") out.push({ buf: op.c.buf, shift: 0 });
  if (isStructOp(op) && !structDst(op)) out.push({ buf: op.dst.buf, shift: 0 });
  return out;
}

/** How a loop's op or an all stage's op may be shared: by rows when it writes only row-wise
 *  buffers (in a loop, per-step scratch too) and reads no per-sample buffer it cannot index. */
function opSplit(op: PlanOp, buffers: readonly PlanBuffer[], loop: boolean): OpSplit {
  if (op.op === "gemm" && op.form === "dw") return loop ? "serial" : "dw";
  const ok = (b: PlanBuffer) => rowWise(b) || (loop && b.rows === "batch");
  const writesOk = written(op).every((w) => ok(buffers[w.buf]!));
  // In an all stage a per-sample ("batch") buffer has B rows, not the stage's T·B: leave it whole.
  const readsOk = read(op).every((r) => buffers[r.buf]!.rows === "none" || ok(buffers[r.buf]!));
  return writesOk && readsOk ? "rows" : "serial";
}

export function stageSplit(stage: Stage, buffers: readonly PlanBuffer[]): StageSplit {
  const all = [...stage.ops, ...(stage.carry ?? [])];
  if (stage.kind === "loop") {
    const rows = all.every((op) => opSplit(op, buffers, true) === "rows");
    const ops = all.map(() => ({ split: (rows ? "rows" : "serial") as OpSplit, barrier: false }));
    return rows ? { split: "rows", ops, columns: { ops: columnSplit(all, buffers) } } : { split: "serial", ops };
  }
  // Over all rows, views of a buffer at different shifts overlap (rows r and r + B), and only two
  // row shares of a row-wise buffer at the same shift touch the same rows on the same worker.
  // Runs of row-wise ops: a new one after any other op (a barrier starts one too, and clears
  // what came before it anyway).
  const splits = all.map((op) => opSplit(op, buffers, false));
  const runOf: number[] = [];
  splits.forEach((s, i) => runOf.push(i === 0 ? 0 : runOf[i - 1]! + (s === "rows" && splits[i - 1] === "rows" ? 0 : 1)));
  const ops = withBarriers(all, (_, i) => splits[i]!, (a, b, buf) => {
    const sameRows = a.split === "rows" && b.split === "rows" && a.shift === b.shift && rowWise(buffers[buf]!) && runOf[a.at] === runOf[b.at];
    return !sameRows;
  });
  return { split: "rows", ops };
}

/** A step's ops shared by columns (products) and samples (the rest), and where barriers go. In a
 *  step, views of a carry buffer at different shifts are different blocks of it, so only accesses
 *  at the same shift can meet; two sample shares of a per-sample buffer never do. */
function columnSplit(ops: readonly PlanOp[], buffers: readonly PlanBuffer[]): { split: "rows" | "cols"; barrier: boolean }[] {
  return withBarriers(ops, (op) => (op.op === "gemm" ? "cols" : "rows"), (a, b, buf) => {
    const sameSamples = a.split === "rows" && b.split === "rows" && buffers[buf]!.rows !== "none";
    return a.shift === b.shift && !sameSamples;
  });
}

/** Each op's split, and a barrier before it where it touches a buffer that an op since the last
 *  barrier touched, one of the two writing, and `meet` says the two accesses may touch the same
 *  numbers on different workers. */
function withBarriers<S extends string>(
  ops: readonly PlanOp[],
  splitOf: (op: PlanOp, at: number) => S,
  meet: (a: { shift: number; split: S; at: number }, b: { shift: number; split: S; at: number }, buf: number) => boolean,
): { split: S; barrier: boolean }[] {
  const since: { buf: number; shift: number; write: boolean; split: S; at: number }[] = [];
  return ops.map((op, at) => {
    const split = splitOf(op, at);
    const mine = [...read(op).map((a) => ({ ...a, write: false, split, at })), ...written(op).map((a) => ({ ...a, write: true, split, at }))];
    const barrier = mine.some((m) => since.some((s) => s.buf === m.buf && (s.write || m.write) && meet(s, m, m.buf)));
    if (barrier) since.length = 0;
    since.push(...mine);
    return { split, barrier };
  });
}

/** Whether stage `s` must wait at a barrier for the stages run since the last one (`before`): it
 *  reads or writes a buffer one of them wrote, or writes one they read. Otherwise a worker done
 *  with its part of them goes on to its part of `s` at once, and a slow worker's last chunk of
 *  one stage is absorbed by the next stage's chunks. Weight gradients count as one buffer (a
 *  stacked matrix's gradient and its parts' share memory); parameters are only read in a call. */
export function stageNeedsBarrier(before: readonly Stage[], s: Stage, buffers: readonly PlanBuffer[]): boolean {
  const key = (buf: number) => (buffers[buf]!.kind === "grad" ? -1 : buf);
  const touches = (stages: readonly Stage[], write: boolean) =>
    new Set(stages.flatMap((t) => [...t.ops, ...(t.carry ?? [])]).flatMap((op) => (write ? written(op) : read(op))).map((a) => key(a.buf)));
  const [wroteBefore, readBefore] = [touches(before, true), touches(before, false)];
  const [writes, reads] = [touches([s], true), touches([s], false)];
  return [...writes, ...reads].some((b) => wroteBefore.has(b)) || [...writes].some((b) => readBefore.has(b));
}
