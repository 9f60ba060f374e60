// Prints the stages of a plan as TypeScript statements: a stage over all rows is a block with
// r0 = 0 and R = T·B; a loop is `for t` with r0 = t·B and R = B. Each op prints as one call or
// one loop nest, under the spec lines it computes. Every name comes from the plan; the only
// identifiers made here are the row offsets o0, o1, ... of a fused loop (which plan names avoid).

import { elementwise, num } from "../../compiler/primitives/elementwise.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { structuralPrimitive } from "../../compiler/primitives/structural.ts";
import { isRowOp, isStructOp, structDst, type Arg, type Plan, type PlanOp, type Stage, type Term, type View } from "../../compiler/plan/types.ts";
import { tsComment } from "./escape.ts";
import { wordsIn } from "./util.ts";

export interface BodyContext {
  plan: Plan;
  /** The fallback of a WebAssembly module: fast math is the float32 functions of
   *  compiler/primitives/fastmath.ts, which give the WebAssembly kernel's bits. */
  f32?: boolean;
}

/** Offset of row `b` (an expression) of a view, in a stage whose first row is r0. */
export function rowOffset(plan: Plan, v: View, b: string): string {
  const buf = plan.buffers[v.buf]!;
  const col = v.col ? ` + ${v.col}` : "";
  const times = buf.width === 1 ? "" : ` * ${buf.width}`;
  switch (buf.rows) {
    case "none":
      return String(v.col);
    case "batch":
      return b === "0" ? String(v.col) : `${b}${times}${col}`;
    case "seq": {
      const row = b === "0" ? "r0" : `r0 + ${b}`;
      return `${times && b !== "0" ? `(${row})` : row}${times}${col}`;
    }
    case "carry": {
      const row = `r0${v.shift ? " + B" : ""}${b === "0" ? "" : ` + ${b}`}`;
      return `${times && row.includes(" ") ? `(${row})` : row}${times}${col}`;
    }
  }
}

const stride = (plan: Plan, v: View) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width);

function comments(lines: readonly string[], last: { text: string }): string[] {
  const text = lines.join("\n");
  if (!text || text === last.text) return [];
  last.text = text;
  return lines.map((l) => `// ${tsComment(l)}`);
}

function mapLoop(c: BodyContext, op: Extract<PlanOp, { op: "map" }>): string {
  const { plan } = c;
  const offsets = new Map<string, string>();
  const offs: string[] = [];
  const at = (v: View): string => {
    const expr = rowOffset(plan, v, "b");
    if (plan.buffers[v.buf]!.rows === "none") return v.col ? `${v.col} + ` : "";
    let name = offsets.get(expr);
    if (!name) {
      name = `o${offsets.size}`;
      offsets.set(expr, name);
      offs.push(`const ${name} = ${expr};`);
    }
    return `${name} + `;
  };
  const arr = (v: View) => plan.buffers[v.buf]!.name;
  const rowLoads: string[] = [];
  const loads: string[] = [];
  const body: string[] = [];
  const arg = (a: Arg) => ("c" in a ? num(a.c) : op.terms[a.t]!.name);
  op.terms.forEach((t: Term, i) => {
    if (t.kind === "load") {
      if (t.broadcast) rowLoads.push(`const ${t.name} = ${arr(t.view)}[${at(t.view).replace(/ \+ $/, "") || "0"}]!;`);
      else loads.push(`const ${t.name} = ${arr(t.view)}[${at(t.view)}j]!;`);
      return;
    }
    const prim = elementwise(t.fn);
    if (!prim) throw new Error(`ts backend: no primitive ${t.fn}`);
    body.push(`const ${t.name} = ${prim.ts(t.args.map(arg), t.attrs ?? {}, { fast: plan.fastMath, f32: plan.fastMath && c.f32 === true })};`);
    for (const s of op.stores) if (s.term === i) body.push(`${arr(s.view)}[${at(s.view)}j] = ${t.name};`);
  });
  return [`for (let b = 0; b < R; b++) {`, ...offs, ...rowLoads, `for (let j = 0; j < ${op.width}; j++) {`, ...loads, ...body, `}`, `}`].join("\n");
}

function opCode(c: BodyContext, op: PlanOp): string {
  const { plan } = c;
  const arr = (v: View | { buf: number }) => plan.buffers[v.buf]!.name;
  /** A strided operand of a row op: array, offset of the stage's first row, row stride. */
  const rows = (v: View) => `${arr(v)}, ${rowOffset(plan, v, "0")}, ${stride(plan, v)}`;
  if (isRowOp(op)) {
    // A row primitive: its registry entry's support function (inlined by the module).
    const { fn, directed } = rowPrimitive(op.op)!.ts;
    return `${fn}(R, ${op.src.width}, ${rows(op.src)}, ${rows(op.dst)}${directed ? `, ${op.reverse}` : ""});`;
  }
  if (isStructOp(op)) {
    // A structural primitive: its registry entry's support function (inlined by the module).
    const { fn, args } = structuralPrimitive(op.op)!.ts;
    const dst = structDst(op);
    return `${fn}(R, ${[...args(op.attrs), ...op.src.map(rows), dst ? rows(dst) : arr(op.dst)].join(", ")});`;
  }
  switch (op.op) {
    case "gemm": {
      const d = op.name;
      if (op.form === "dw") {
        const x = op.w as View;
        return `gemm(${d}, R, ${arr(op.a)}, ${rowOffset(plan, op.a, "0")}, ${arr(x)}, ${rowOffset(plan, x, "0")}, ${arr(op.c)}, 0);`;
      }
      const out = op.c as View;
      return `gemm(${d}, R, ${arr(op.a)}, ${rowOffset(plan, op.a, "0")}, ${arr(op.w)}, 0, ${arr(out)}, ${rowOffset(plan, out, "0")});`;
    }
    case "map":
      return mapLoop(c, op);
    case "copy":
      return `for (let b = 0; b < R; b++) for (let j = 0; j < ${op.dst.width}; j++) ${arr(op.dst)}[${rowOffset(plan, op.dst, "b")} + j] = ${arr(op.src)}[${rowOffset(plan, op.src, "b")} + j]!;`;
    case "fill":
      return `for (let b = 0; b < R; b++) ${arr(op.dst)}.fill(${num(op.value)}, ${rowOffset(plan, op.dst, "b")}, ${rowOffset(plan, op.dst, "b")} + ${op.dst.width});`;
  }
}

/** The statements of one stage. */
export function stageCode(c: BodyContext, s: Stage, prefix = ""): string {
  const last = { text: "" };
  const ops = (list: readonly PlanOp[]) => list.flatMap((op) => [...comments(op.lines.map((l) => `${prefix}${l}`), last), opCode(c, op)]);
  const inner = [...ops(s.ops)];
  if (s.carry?.length) inner.push(`// carry the states' gradients to the step before`, ...ops(s.carry));
  const text = inner.join("\n");
  // Declare the stage's first row and row count only where its code uses them.
  const words = wordsIn(text);
  const uses = (id: string) => words.has(id);
  const decls = (r0: string, R: string) => [...(uses("r0") ? [`const r0 = ${r0};`] : []), ...(uses("R") ? [`const R = ${R};`] : [])];
  if (s.kind === "all") return [`// ${s.title}`, `{`, ...decls("0", "T * B"), text, `}`].join("\n");
  const head = s.reverse ? `for (let t = T - 1; t >= 0; t--) {` : `for (let t = 0; t < T; t++) {`;
  return [`// ${s.title}`, head, ...decls("t * B", "B"), text, `}`].join("\n");
}
