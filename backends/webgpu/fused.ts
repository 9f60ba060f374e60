// A loop stage of the plan as one WGSL kernel, where every op of the stage is row-local (each row
// of what an op writes depends only on the same sample's rows and on weights: the plan's
// stageSplit says "rows", as it does for threads). A workgroup of WG invocations owns a block of
// `rows` samples and every column of their step: it runs the stage's ops in order (the recurrent
// product, the fused maps, row primitives, the carry copies), its invocations sharing each op's
// (sample, column) items, with a storageBarrier() between ops, so an op reads what the ops before
// it wrote for the same samples. Nothing crosses workgroups inside a step, so no grid-wide
// barrier is needed; that is also what lets the same body loop over T.
//
// Two entry points per such stage:
//   fused step   one dispatch per time step (u.r0 is the step's first row), ceil(B / rows)
//                workgroups;
//   persistent   one dispatch for the whole sequence: each workgroup loops over T itself, a
//                storageBarrier() after each op (so after each step too), ceil(B / rows) workgroups.
// The size rule (PERSIST_MAX): the persistent kernel is chosen when the stage's widest op has at
// most PERSIST_MAX columns per sample (4 items per invocation per op per sample), so one
// workgroup's step stays short; wider stages get a fused dispatch per step. Both keep each sample
// on one workgroup, so a stage that reads another sample's row (none today), or writes a
// weight-shaped buffer (a sum over rows), keeps the per-op path.

import { stageSplit } from "../../compiler/plan/parallel.ts";
import { isRowOp, isStructOp, type Plan, type PlanOp, type Stage, type View } from "../../compiler/plan/types.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { structuralPrimitive } from "../../compiler/primitives/structural.ts";
import { wnum } from "../../compiler/primitives/wgsl.ts";
import { wgslComment } from "./escape.ts";

/** What the fused kernels need of the shader printer (./wgsl.ts's Printer). */
export interface Printer {
  readonly plan: Plan;
  /** The first row of the step (a WGSL expression the refs use). */
  r0: string;
  readonly entries: string[];
  /** A view's element (column j) at row b of the step. */
  ref(v: View | { buf: number }, b: string, j?: string): string;
  /** Element idx of a weight-shaped buffer. */
  whole(buf: number, idx: string): string;
  mapBody(op: Extract<PlanOp, { op: "map" }>): string[];
}

/** Invocations per workgroup of a fused kernel. */
export const WG = 64;
/** The persistent kernel's size rule: at most this many columns per sample in any op of the stage. */
export const PERSIST_MAX = 256;

export interface FusedLoop {
  /** The entry point of one step (dispatched per step). */
  step: number;
  /** The entry point that loops over every step itself (dispatched once). */
  persist: number;
  /** Samples per workgroup. */
  rows: number;
  /** The widest op's columns per sample. */
  widest: number;
  /** The size rule's choice: the persistent kernel (else a fused dispatch per step). */
  persistent: boolean;
}

/** Workgroup memory for a product's operand rows (the block's samples × depth), in floats. */
export const ROWS_TILE = 1024;

/** An op as items over a block's samples: W per sample, statements for item (sample b, column j). */
interface Work {
  W: number;
  /** A row primitive: one item per sample, and it names its own columns (no j). */
  row: boolean;
  body: string[];
  /** A product: its depth K and its operand's element (sample b, k), which the block loads into
   *  workgroup memory first when rows · K fits ROWS_TILE; `body` then reads operand(k) from there. */
  product?: { K: number; a: string; body: (operand: (k: string) => string) => string[] };
}

function work(p: Printer, op: PlanOp): Work | null {
  if (isStructOp(op)) {
    // A structural primitive over its elements (bmm, transpose): the registry entry's statements
    // for flat element i of the op's rows, here for element j of sample b; one over columns
    // (colsum, a sum over rows) is not row-local.
    const w = structuralPrimitive(op.op)!.wgsl(op.attrs, (k, b, j) => p.ref(op.src[k]!, b, j), (b, j) => p.ref(op.dst, b, j));
    if (w.over !== "elements") return null;
    return { W: w.width, row: false, body: ["{", `let i = b * ${w.width}u + j;`, ...w.body, "}"] };
  }
  if (isRowOp(op)) {
    const body = rowPrimitive(op.op)!.wgsl(op.src.width, op.reverse === true, (j) => p.ref(op.src, "b", j), (j) => p.ref(op.dst, "b", j));
    return { W: 1, row: true, body };
  }
  switch (op.op) {
    case "map":
      return { W: op.width, row: false, body: p.mapBody(op) };
    case "copy":
      return { W: op.dst.width, row: false, body: [`${p.ref(op.dst, "b", "j")} = ${p.ref(op.src, "b", "j")};`] };
    case "fill":
      return { W: op.dst.width, row: false, body: [`${p.ref(op.dst, "b", "j")} = ${wnum(op.value)};`] };
    case "gemm": {
      if (op.form === "dw") return null;
      // Column j of sample b's product: a dot product over k with row j (xwT) or column j (xw) of
      // the weight, in k order from 0 as the per-op tiles sum.
      const wv = op.form === "xwT" ? p.whole(op.w.buf, `j * ${op.k}u + k`) : p.whole(op.w.buf, `k * ${op.n}u + j`);
      const c = p.ref(op.c, "b", "j");
      const body = (a: (k: string) => string) => [`var s = 0.0;`, `for (var k = 0u; k < ${op.k}u; k++) { s = s + ${a("k")} * ${wv}; }`, `${c} = ${op.accumulate ? `${c} + ` : ""}s;`];
      return { W: op.n, row: false, body: body((k) => p.ref(op.a, "b", k)), product: { K: op.k, a: p.ref(op.a, "b", "k"), body } };
    }
  }
}

/** The stage's fused step and persistent kernels (entry points added to `p`), or null where an op
 *  is not row-local. */
export function fusedLoop(p: Printer, s: Stage): FusedLoop | null {
  const all = [...s.ops, ...(s.carry ?? [])];
  if (stageSplit(s, p.plan.buffers).split !== "rows") return null;
  const outer = p.r0;
  p.r0 = "r0";
  const works = all.map((op) => work(p, op));
  p.r0 = outer;
  if (works.some((w) => w === null) || works.length === 0) return null;
  const ws = works as Work[];
  const widest = Math.max(...ws.map((w) => w.W));
  const rows = Math.max(1, Math.floor(WG / widest));
  const blocks = ws.flatMap((w, k) => {
    // A product whose operand rows fit: the block loads them into workgroup memory once, and
    // every column's dot product reads them from there.
    const tiled = w.product !== undefined && rows * w.product.K <= ROWS_TILE ? w.product : undefined;
    return [
      ...all[k]!.lines.map((l) => `// ${wgslComment(l)}`),
      ...(tiled
        ? [`for (var i = li; i < nb * ${tiled.K}u; i += ${WG}u) {`, `  let b = b0 + i / ${tiled.K}u;`, `  let k = i % ${tiled.K}u;`, `  rowsA[i] = ${tiled.a};`, `}`, `workgroupBarrier();`]
        : []),
      `for (var i = li; i < nb * ${w.W}u; i += ${WG}u) {`,
      w.row ? `  let b = b0 + i;` : `  let b = b0 + i / ${w.W}u;`,
      ...(w.row ? [] : [`  let j = i % ${w.W}u;`]),
      ...(tiled ? tiled.body((kk) => `rowsA[(b - b0) * ${tiled.K}u + ${kk}]`) : w.body).map((l) => `  ${l}`),
      `}`,
      `storageBarrier();`,
      ...(tiled ? [`workgroupBarrier();`] : []),
    ];
  });
  const head = (e: number, what: string) => [
    `// ${wgslComment(s.title)}: ${what}; ${rows} sample(s) per workgroup.`,
    `@compute @workgroup_size(${WG})`,
    `fn op${e}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {`,
    `  let b0 = wg.x * ${rows}u;`,
    `  let nb = min(${rows}u, u.B - b0);`,
  ];
  const step = p.entries.length;
  p.entries.push([...head(step, "one time step"), `  let r0 = u.r0;`, ...blocks.map((l) => `  ${l}`), `}`].join("\n"));
  const persist = p.entries.length;
  const r0 = s.reverse ? `(u.T - 1u - st) * u.B` : `st * u.B`;
  p.entries.push([...head(persist, "every time step, in this one dispatch"), `  for (var st = 0u; st < u.T; st++) {`, `    let r0 = ${r0};`, ...blocks.map((l) => `    ${l}`), `  }`, `}`].join("\n"));
  return { step, persist, rows, widest, persistent: widest <= PERSIST_MAX };
}
