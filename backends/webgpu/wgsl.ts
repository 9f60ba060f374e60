// The WebGPU backend's shaders: every op of the plan's forward and backward stages becomes one
// WGSL compute entry point of one shader module, and its dispatch (how many threads, over which
// rows) becomes data the JavaScript side (./support/kernel.ts) replays: per stage, per step of a
// loop, a dispatch per op, all in one compute pass (WebGPU orders a pass's dispatches and makes
// each one's writes visible to the next). A loop stage whose ops are all row-local also gets a
// fused step kernel and a persistent kernel (./fused.ts); the per-op dispatches stay as the
// fallback, and as a path a caller may force.
//
// Memory: three storage buffers. `w` holds the weights (the plan's weight layout, then packs whose
// parts are not side by side); `f` the forward buffers of a tape; `g` the backward buffers (the
// weight gradients first, at their params' layout offsets, so a pack's gradient is its parts'
// gradients side by side). A buffer's place in its memory is a·T·B + b·B + c elements, as its
// rows (seq T·B, carry (T+1)·B, batch B, none 1) add up, so a shader computes it from T and B.
// The uniform `u` says which rows a dispatch covers: r0 and R (one step's B rows, or all T·B).

import { isRowOp, isStructOp, type Plan, type PlanBuffer, type PlanOp, type Stage, type Term, type View } from "../../compiler/plan/types.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { structuralPrimitive } from "../../compiler/primitives/structural.ts";
import { helpersFor, SPECIAL_VALUES, wgslOp, wnum } from "../../compiler/primitives/wgsl.ts";
import { wgslComment } from "./escape.ts";
import { fusedLoop, ROWS_TILE, type FusedLoop, type Printer as FusedPrinter } from "./fused.ts";

/** Which storage buffer holds a plan buffer: 0 weights, 1 forward (the tape), 2 backward. */
export type Mem = 0 | 1 | 2;
/** A place: memory and element offset a·T·B + b·B + c. */
export interface Place {
  mem: Mem;
  at: [number, number, number];
}

/**
 * One dispatch of an entry point: [entry, kind, p, q] with kind
 *   0: p threads per row of the stage (R rows),   1: p threads,
 *   2: a GEMM tiled over (R rows, p columns),      3: a GEMM tiled over (p rows, q columns).
 */
export type Dispatch = [number, 0 | 1 | 2 | 3, number, number];

type DispatchShape = [0 | 1 | 2 | 3, number, number];
const D = (kind: 0 | 1 | 2 | 3, p: number, q: number): DispatchShape => [kind, p, q];

export interface GpuStage {
  /** 0: all rows at once; 1: a loop forward in time; -1: backward in time. */
  loop: 0 | 1 | -1;
  /** 0 always; 1 only with input gradients; 2 only without. */
  when: 0 | 1 | 2;
  /** The stage as one dispatch per op (per step of a loop): always there, the fallback. */
  ops: Dispatch[];
  /** A loop stage as one kernel (./fused.ts), where every op of the step is row-local. */
  fused: FusedLoop | null;
}

export interface GpuLayout {
  places: Place[];
  /** Each memory's size in elements, [a, b, c] as places. */
  sizes: [number, number, number][];
}

const TILE = 16;
const MEMS = ["w", "f", "g"] as const;

function rowsCoef(b: PlanBuffer): [number, number, number] {
  const n = b.rows === "none" ? (b.size ?? b.width) : b.width;
  switch (b.rows) {
    case "seq":
      return [n, 0, 0];
    case "carry":
      return [n, n, 0];
    case "batch":
      return [0, n, 0];
    case "none":
      return [0, 0, n];
  }
}

/** Where every plan buffer lives (see the header). */
export function layout(plan: Plan): GpuLayout {
  const places: Place[] = [];
  const sizes: [number, number, number][] = [
    [0, 0, plan.weights.size],
    [0, 0, 0],
    [0, 0, plan.weights.size],
  ];
  for (const p of plan.weights.params) places[p.buf] = { mem: 0, at: [0, 0, p.offset] };
  for (const pk of plan.weights.packs) {
    if (pk.offset !== null) places[pk.buf] = { mem: 0, at: [0, 0, pk.offset] };
    else {
      places[pk.buf] = { mem: 0, at: [0, 0, sizes[0]![2]] };
      sizes[0]![2] += pk.size;
    }
  }
  const offsetOf = (param: number) => plan.weights.params.find((p) => p.buf === param)!.offset;
  for (const p of plan.backward.params) places[p.buf] = { mem: 2, at: [0, 0, offsetOf(p.param)] };
  for (const pk of plan.backward.packs) {
    const w = plan.weights.packs.find((x) => x.buf === pk.pack)!;
    if (w.offset !== null) places[pk.buf] = { mem: 2, at: [0, 0, w.offset] };
  }
  plan.buffers.forEach((b, id) => {
    if (places[id]) return;
    const mem: Mem = b.entry === "weights" ? 0 : b.entry === "forward" ? 1 : 2;
    const s = sizes[mem]!;
    places[id] = { mem, at: [s[0], s[1], s[2]] };
    const c = rowsCoef(b);
    // Keep every buffer 4-element aligned (16 bytes), so copies to and from it are aligned.
    s[0] += c[0];
    s[1] += c[1];
    s[2] += c[2] + ((4 - ((c[0] + c[1] + c[2]) % 4)) % 4);
  });
  return { places, sizes };
}

/** The element offset of a place as a WGSL u32 expression. */
function baseExpr(p: Place): string {
  const parts: string[] = [];
  if (p.at[0]) parts.push(`${p.at[0]}u * u.T * u.B`);
  if (p.at[1]) parts.push(`${p.at[1]}u * u.B`);
  if (p.at[2]) parts.push(`${p.at[2]}u`);
  return parts.length ? `(${parts.join(" + ")})` : "0u";
}

class Printer implements FusedPrinter {
  readonly entries: string[] = [];
  readonly forward: GpuStage[] = [];
  readonly backward: GpuStage[] = [];
  /** The first row of the step a dispatch covers: the uniform's, or a fused kernel's own `r0`. */
  r0 = "u.r0";
  constructor(
    readonly plan: Plan,
    readonly lay: GpuLayout,
  ) {}

  mem(buf: number): string {
    return MEMS[this.lay.places[buf]!.mem];
  }

  /** The element index of view `v`'s column 0 at row `b` of the dispatch (a WGSL u32 expression). */
  at(v: View | { buf: number }, b: string): string {
    const buf = this.plan.buffers[v.buf]!;
    const base = baseExpr(this.lay.places[v.buf]!);
    const col = "col" in v && v.col ? ` + ${v.col}u` : "";
    const w = buf.width;
    switch (buf.rows) {
      case "none":
        return `${base}${col}`;
      case "batch":
        return `${base} + (${b}) * ${w}u${col}`;
      case "seq":
        return `${base} + (${this.r0} + ${b}) * ${w}u${col}`;
      case "carry": {
        const shift = "shift" in v && v.shift ? " + u.B" : "";
        return `${base} + (${this.r0}${shift} + ${b}) * ${w}u${col}`;
      }
    }
  }

  whole(buf: number, idx: string): string {
    return `${this.mem(buf)}[${baseExpr(this.lay.places[buf]!)} + ${idx}]`;
  }

  ref(v: View | { buf: number }, b: string, j?: string): string {
    return `${this.mem(v.buf)}[${this.at(v, b)}${j ? ` + ${j}` : ""}]`;
  }

  /** An entry point over `total` threads (a WGSL u32 expression), thread index i. */
  elementwise(name: string, lines: readonly string[], total: string, body: string[]): string {
    return [
      ...lines.map((l) => `// ${wgslComment(l)}`),
      `@compute @workgroup_size(64)`,
      `fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {`,
      `  let total = ${total};`,
      `  for (var i = gid.x; i < total; i += nw.x * 64u) {`,
      ...body.map((l) => `    ${l}`),
      `  }`,
      `}`,
    ].join("\n");
  }

  map(name: string, op: Extract<PlanOp, { op: "map" }>): string {
    const W = op.width;
    return this.elementwise(name, op.lines, `u.R * ${W}u`, [`let b = i / ${W}u;`, `let j = i % ${W}u;`, ...this.mapBody(op)]);
  }

  /** A map's statements for column j of row b. */
  mapBody(op: Extract<PlanOp, { op: "map" }>): string[] {
    const body: string[] = [];
    const id = (k: number) => `v${k}`;
    op.terms.forEach((t: Term, k) => {
      if (t.kind === "load") body.push(`let ${id(k)} = ${this.ref(t.view, "b", t.broadcast ? undefined : "j")};`);
      else {
        const args = t.args.map((a) => ("c" in a ? wnum(a.c) : id(a.t)));
        body.push(`let ${id(k)} = ${wgslOp(t.fn, args, t.attrs ?? {})};`);
      }
      for (const s of op.stores) if (s.term === k) body.push(`${this.ref(s.view, "b", "j")} = ${id(k)};`);
    });
    return body;
  }

  /** A tiled product C[i, n] (+)= Σ_k A(i, k) · B(k, n) over M × N, K deep, with workgroup tiles. */
  gemm(name: string, o: Extract<PlanOp, { op: "gemm" }>): string {
    const T = TILE;
    let M: string, N: string, K: string, A: (i: string, k: string) => string, Bm: (k: string, n: string) => string, C: (i: string, n: string) => string;
    let acc = o.accumulate;
    if (o.form === "dw") {
      const x = o.w as View;
      [M, N, K] = [`${o.n}u`, `${o.k}u`, `u.R`];
      A = (i, k) => this.ref(o.a, k, i);
      Bm = (k, n) => this.ref(x, k, n);
      C = (i, n) => this.ref(o.c, "0u", `${i} * ${o.k}u + ${n}`);
      acc = true;
    } else {
      const out = o.c as View;
      [M, N, K] = [`u.R`, `${o.n}u`, `${o.k}u`];
      A = (i, k) => this.ref(o.a, i, k);
      const wref = (idx: string) => this.whole(o.w.buf, idx);
      Bm = o.form === "xwT" ? (k, n) => wref(`${n} * ${o.k}u + ${k}`) : (k, n) => wref(`${k} * ${o.n}u + ${n}`);
      C = (i, n) => this.ref(out, i, n);
    }
    return [
      ...o.lines.map((l) => `// ${wgslComment(l)}`),
      `@compute @workgroup_size(${T}, ${T})`,
      `fn ${name}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {`,
      `  let M = ${M}; let N = ${N}; let K = ${K};`,
      `  let i = wg.y * ${T}u + l.y;`,
      `  let n = wg.x * ${T}u + l.x;`,
      `  var acc = 0.0;`,
      `  for (var k0 = 0u; k0 < K; k0 += ${T}u) {`,
      `    let ka = k0 + l.x;`,
      `    var av = 0.0;`,
      `    if (i < M && ka < K) { av = ${A("i", "ka")}; }`,
      `    tileA[l.y * ${T}u + l.x] = av;`,
      `    let kb = k0 + l.y;`,
      `    var bv = 0.0;`,
      `    if (kb < K && n < N) { bv = ${Bm("kb", "n")}; }`,
      `    tileB[l.y * ${T}u + l.x] = bv;`,
      `    workgroupBarrier();`,
      `    for (var q = 0u; q < ${T}u; q++) { acc = acc + tileA[l.y * ${T}u + q] * tileB[q * ${T}u + l.x]; }`,
      `    workgroupBarrier();`,
      `  }`,
      `  if (i < M && n < N) { ${C("i", "n")} = ${acc ? `${C("i", "n")} + ` : ""}acc; }`,
      `}`,
    ].join("\n");
  }

  op(name: string, op: PlanOp): { code: string; d: DispatchShape } {
    if (isRowOp(op)) {
      // A row primitive: one invocation per row, its statements from the registry entry.
      const body = rowPrimitive(op.op)!.wgsl(op.src.width, op.reverse === true, (j) => this.ref(op.src, "i", j), (j) => this.ref(op.dst, "i", j));
      return { code: this.elementwise(name, op.lines, `u.R`, body), d: D(0, 1, 0) };
    }
    if (isStructOp(op)) {
      // A structural primitive: its statements from the registry entry, over every element of every row or every column.
      const w = structuralPrimitive(op.op)!.wgsl(op.attrs, (k, b, j) => this.ref(op.src[k]!, b, j), (b, j) => this.ref(op.dst, b, j));
      const total = w.over === "elements" ? `u.R * ${w.width}u` : `${w.width}u`;
      return { code: this.elementwise(name, op.lines, total, w.body), d: D(w.over === "elements" ? 0 : 1, w.width, 0) };
    }
    switch (op.op) {
      case "map":
        return { code: this.map(name, op), d: D(0, op.width, 0) };
      case "gemm":
        return { code: this.gemm(name, op), d: op.form === "dw" ? D(3, op.n, op.k) : D(2, op.n, 0) };
      case "copy":
        return { code: this.elementwise(name, op.lines, `u.R * ${op.dst.width}u`, [`let b = i / ${op.dst.width}u;`, `let j = i % ${op.dst.width}u;`, `${this.ref(op.dst, "b", "j")} = ${this.ref(op.src, "b", "j")};`]), d: D(0, op.dst.width, 0) };
      case "fill":
        return { code: this.elementwise(name, op.lines, `u.R * ${op.dst.width}u`, [`let b = i / ${op.dst.width}u;`, `let j = i % ${op.dst.width}u;`, `${this.ref(op.dst, "b", "j")} = ${wnum(op.value)};`]), d: D(0, op.dst.width, 0) };
    }
  }

  stage(s: Stage, into: GpuStage[]): void {
    const ops: Dispatch[] = [];
    for (const op of [...s.ops, ...(s.carry ?? [])]) {
      const e = this.entries.length;
      const { code, d } = this.op(`op${e}`, op);
      this.entries.push(code);
      ops.push([e, ...d] as Dispatch);
    }
    const fused = s.kind === "loop" ? fusedLoop(this, s) : null;
    into.push({ loop: s.kind === "all" ? 0 : s.reverse ? -1 : 1, when: s.when === "inputGradients" ? 1 : s.when === "noInputGradients" ? 2 : 0, ops, fused });
  }
}

export interface Shaders {
  /** What every entry point's shader module starts with: the uniform, the bindings, tiles, constants. */
  head: string;
  /** The entry points op<k>, in order. */
  codes: string[];
  layout: GpuLayout;
  forward: GpuStage[];
  backward: GpuStage[];
}

/** The plan as WGSL entry points and the dispatches that run them. */
export function printShaders(plan: Plan, header: string[]): Shaders {
  const lay = layout(plan);
  const p = new Printer(plan, lay);
  for (const s of plan.forward.stages) p.stage(s, p.forward);
  for (const s of plan.backward.stages) p.stage(s, p.backward);
  const head = [
    ...header.map((l) => `// ${l}`),
    `struct U { r0: u32, R: u32, B: u32, T: u32 }`,
    `@group(0) @binding(0) var<storage, read_write> w: array<f32>;`,
    `@group(0) @binding(1) var<storage, read_write> f: array<f32>;`,
    `@group(0) @binding(2) var<storage, read_write> g: array<f32>;`,
    `@group(0) @binding(3) var<uniform> u: U;`,
    `var<workgroup> tileA: array<f32, ${TILE * TILE}>;`,
    `var<workgroup> tileB: array<f32, ${TILE * TILE}>;`,
    `var<workgroup> rowsA: array<f32, ${ROWS_TILE}>;`,
    SPECIAL_VALUES,
    "",
  ].join("\n");
  return { head, codes: p.entries, layout: lay, forward: p.forward, backward: p.backward };
}

/** The whole WGSL text of a plan, as one module would hold it: the head, each helper once, every entry point. */
export function wgslText(s: Shaders): string {
  return [s.head, ...helpersFor(s.codes.join("\n")), ...s.codes, ""].join("\n");
}
