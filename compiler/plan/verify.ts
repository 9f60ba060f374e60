// Checks a plan before any printer sees it: every op's shapes agree with its views and buffers,
// every view lies inside its buffer and uses a row space its stage can address, and, simulating
// each entry point, nothing is read before it is written or after it has been overwritten: each
// view records the value it holds, so a read expecting value v of a region that holds another
// value fails. Run after every build in the tests, for every spec.

import { rowPrimitive } from "../primitives/rows.ts";
import { structuralPrimitive } from "../primitives/structural.ts";
import { isRowOp, isStructOp, structDst, type Plan, type PlanBuffer, type PlanOp, type RowPlanOp, type Stage, type StructPlanOp, type View } from "./types.ts";
import { viewsWritten } from "./views.ts";

export class PlanError extends Error {}

/** What each column of each buffer holds: "buf:col:shift" -> value id (-1: given, any value). */
type Contents = Map<string, number>;


/** Two views of one buffer whose columns overlap at different offsets (an elementwise op would
 *  overwrite an element before reading it). */
function clash(a: View, b: View): boolean {
  if (a.buf !== b.buf || a.shift !== b.shift) return false;
  const overlap = a.col < b.col + b.width && b.col < a.col + a.width;
  return overlap && a.col !== b.col;
}

/** Two views of one buffer (and block) sharing a column. */
function overlaps(a: View, b: View): boolean {
  return a.buf === b.buf && a.shift === b.shift && a.col < b.col + b.width && b.col < a.col + a.width;
}

export function verifyPlan(plan: Plan): void {
  const fail = (msg: string): never => {
    throw new PlanError(`plan of ${plan.meta.name}: ${msg}`);
  };
  const buf = (id: number): PlanBuffer => plan.buffers[id] ?? fail(`unknown buffer ${id}`);
  const names = new Set<string>();
  for (const b of plan.buffers) {
    if (names.has(b.name)) fail(`buffer name ${b.name} used twice`);
    names.add(b.name);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(b.name)) fail(`buffer name ${b.name} is not an identifier`);
  }

  const checkView = (v: View, stage: Stage, what: string) => {
    const b = buf(v.buf);
    if (v.col < 0 || v.width < 1 || v.col + v.width > b.width) fail(`${what}: columns [${v.col}, ${v.col + v.width}) outside ${b.name} of width ${b.width}`);
    if (v.shift === 1 && b.rows !== "carry") fail(`${what}: next-step view of ${b.name}, which is not a carry buffer`);
    if (stage.kind === "all" && b.rows === "batch") fail(`${what}: per-step buffer ${b.name} read or written for all rows at once`);
  };
  const weight = (id: number, size: number, what: string) => {
    const b = buf(id);
    if (b.rows !== "none" || (b.size ?? b.width) !== size) fail(`${what}: ${b.name} is not a weight of ${size} elements`);
  };

  // ---- contents simulation
  const key = (v: View, j: number) => `${v.buf}:${v.col + j}:${v.shift}`;
  const write = (c: Contents, v: View) => {
    for (let j = 0; j < v.width; j++) c.set(key(v, j), v.value);
  };
  // A slice is read where its source was written, a concatenation where its parts were: values
  // nested in one root are views of the same data.
  const outer = new Map<number, number>(plan.nested);
  const root = (v: number) => {
    let r = v;
    for (let o = outer.get(r); o !== undefined; o = outer.get(r)) r = o;
    return r;
  };
  const read = (c: Contents, v: View, what: string) => {
    const b = buf(v.buf);
    if (b.rows === "none") return; // weights are always there
    for (let j = 0; j < v.width; j++) {
      const has = c.get(key(v, j)) ?? fail(`${what}: reads ${b.name}[${v.col + j}] before it is written`);
      if (has !== -1 && root(has) !== root(v.value)) fail(`${what}: reads ${b.name}[${v.col + j}] expecting value ${v.value}, but it holds ${has}`);
    }
  };

  /** A row primitive: a reduction writes one column, a scan a row of its width into other storage. */
  const rowOp = (op: RowPlanOp, stage: Stage, c: Contents, what: string) => {
    checkView(op.src, stage, what);
    checkView(op.dst, stage, what);
    read(c, op.src, what);
    if (rowPrimitive(op.op)!.kind === "reduce") {
      if (op.dst.width !== 1) fail(`${what}: row reduction into width ${op.dst.width}`);
    } else {
      if (op.src.width !== op.dst.width) fail(`${what}: width ${op.src.width} into ${op.dst.width}`);
      if (overlaps(op.src, op.dst)) fail(`${what}: writes ${buf(op.dst.buf).name} over columns it reads`);
    }
    write(c, op.dst);
  };

  /** A structural primitive: widths by its entry's shape rule; a result view overlaps no operand,
   *  a gradient sum adds into a whole weight-sized gradient. */
  const structOp = (op: StructPlanOp, stage: Stage, c: Contents, what: string) => {
    const prim = structuralPrimitive(op.op)!;
    const w = prim.widths(op.attrs);
    const dst = structDst(op);
    const have = op.src.map((v) => v.width);
    if (have.length !== w.src.length || have.some((x, i) => x !== w.src[i])) fail(`${what}: operand views [${have}] for ${prim.show(op.attrs)} (expected [${w.src}])`);
    for (const v of op.src) checkView(v, stage, what);
    for (const v of op.src) read(c, v, what);
    if ((prim.into === "grad") !== !dst) fail(`${what}: result is ${dst ? "a view" : "a gradient buffer"}, the entry says ${prim.into}`);
    if (!dst) return weight(op.dst.buf, w.dst, what);
    checkView(dst, stage, what);
    if (dst.width !== w.dst) fail(`${what}: result view [${dst.width}] for ${prim.show(op.attrs)} (expected [${w.dst}])`);
    for (const v of op.src) if (overlaps(v, dst)) fail(`${what}: writes ${buf(dst.buf).name} over columns it reads`);
    write(c, dst);
  };

  const runOp = (op: PlanOp, stage: Stage, c: Contents, at: string) => {
    const what = `${at}: ${op.op}`;
    if (isRowOp(op)) return rowOp(op, stage, c, what);
    if (isStructOp(op)) return structOp(op, stage, c, what);
    switch (op.op) {
      case "gemm": {
        checkView(op.a, stage, what);
        read(c, op.a, what);
        if (op.form === "dw") {
          const x = op.w as View;
          checkView(x, stage, what);
          read(c, x, what);
          if (op.a.width !== op.n || x.width !== op.k) fail(`${what}: dw views [${op.a.width}] [${x.width}] for ${op.n}×${op.k}`);
          weight((op.c as { buf: number }).buf, op.n * op.k, what);
          if (!op.accumulate) fail(`${what}: a weight gradient must accumulate`);
        } else {
          if ("col" in op.w) fail(`${what}: weight operand is a view`);
          weight(op.w.buf, op.n * op.k, what);
          const out = op.c as View;
          checkView(out, stage, what);
          if (op.a.width !== op.k || out.width !== op.n) fail(`${what}: [${op.a.width}] -> [${out.width}] for n=${op.n} k=${op.k}`);
          if (op.a.buf === out.buf && op.a.shift === out.shift && op.a.col < out.col + out.width && out.col < op.a.col + op.a.width) fail(`${what}: reads and writes the same columns of ${buf(out.buf).name}`);
          if (op.accumulate) read(c, out, what);
          write(c, out);
        }
        if (op.slot !== null && stage.kind !== "loop") fail(`${what}: panel slot outside a loop`);
        return;
      }
      case "map": {
        op.terms.forEach((t, i) => {
          if (t.kind === "load") {
            checkView(t.view, stage, what);
            if (t.view.width !== (t.broadcast ? 1 : op.width)) fail(`${what}: load of width ${t.view.width} into a map of width ${op.width}`);
            read(c, t.view, what);
          } else {
            for (const a of t.args) if ("t" in a && (a.t < 0 || a.t >= i)) fail(`${what}: term ${i} reads term ${a.t}`);
          }
        });
        for (const s of op.stores) {
          checkView(s.view, stage, what);
          if (s.view.width !== op.width) fail(`${what}: store of width ${s.view.width} from a map of width ${op.width}`);
          const t = op.terms[s.term];
          if (t?.kind !== "fn" || t.value !== s.view.value) fail(`${what}: store of term ${s.term} into a view of value ${s.view.value}`);
        }
        // A map may write a buffer it also reads only where it reads and writes the same element.
        for (const s of op.stores) {
          for (const t of op.terms) if (t.kind === "load" && clash(t.view, s.view)) fail(`${what}: stores into ${buf(s.view.buf).name} over columns it still reads`);
        }
        for (const s of op.stores) write(c, s.view);
        return;
      }
      case "copy":
        checkView(op.src, stage, what);
        checkView(op.dst, stage, what);
        if (op.src.width !== op.dst.width) fail(`${what}: width ${op.src.width} into ${op.dst.width}`);
        if (clash(op.src, op.dst)) fail(`${what}: overlapping copy in ${buf(op.dst.buf).name}`);
        read(c, op.src, what);
        write(c, op.dst);
        return;
      case "fill":
        checkView(op.dst, stage, what);
        write(c, op.dst);
        return;
    }
  };

  /** Marks everything of a buffer as holding `value` (entry-point inputs). */
  const given = (c: Contents, id: number, value: number, shift: 0 | 1 = 0) => {
    const b = buf(id);
    for (let j = 0; j < b.width; j++) c.set(`${id}:${j}:${shift}`, value);
  };

  const runStages = (stages: Stage[], c: Contents, entry: string, carries: { buf: number; shift: 0 | 1 }[]) => {
    stages.forEach((s, k) => {
      const at = `${entry} stage ${k} (${s.title})`;
      if (s.kind === "all") {
        for (const op of s.ops) runOp(op, s, c, at);
        return;
      }
      // One step: whatever the step writes must be written before the step reads it (a value
      // of the step before is not this step's). Carried buffers are given to the step.
      const ops = [...s.ops, ...(s.carry ?? [])];
      const carried = new Set(carries.map((cb) => `${cb.buf}:${cb.shift}`));
      for (const op of ops) {
        for (const v of viewsWritten(op)) {
          if (carried.has(`${v.buf}:${v.shift}`)) continue;
          for (let j = 0; j < v.width; j++) c.delete(key(v, j));
        }
      }
      for (const op of ops) runOp(op, s, c, at);
      for (const cb of carries) {
        const b = buf(cb.buf);
        for (let j = 0; j < b.width; j++) {
          if (!c.has(`${cb.buf}:${j}:${cb.shift}`)) fail(`${at}: ${b.name}[${j}] is not written for the next step`);
          // what this step carries is what the next one reads, whatever it was called here
          c.set(`${cb.buf}:${j}:0`, -1);
        }
      }
    });
  };

  // ---- forward: inputs, active flags, initial states and masks are given
  const f = plan.forward;
  const fc: Contents = new Map();
  for (const i of f.inputs) given(fc, i.buf, -1);
  given(fc, f.active, -1);
  for (const s of f.states) {
    given(fc, s.buf, -1);
    given(fc, s.mask, -1);
  }
  runStages(f.stages, fc, "forward", f.states.map((s) => ({ buf: s.buf, shift: 1 as const })));
  for (const o of f.outputs) {
    const b = buf(o.buf);
    for (let j = 0; j < b.width; j++) if (!fc.has(`${o.buf}:${j}:0`)) fail(`forward: output ${o.name}[${j}] never written`);
  }

  // ---- backward: everything forward wrote is on the tape; seeds and carries are given
  const bc: Contents = new Map();
  for (const [kk, v] of fc) {
    const b = buf(Number(kk.split(":")[0]));
    if (b.entry === "forward" && b.rows !== "batch") bc.set(kk, v);
    if (b.kind === "mask") bc.set(kk, v);
    // a carry buffer holds every step's state: block t is what step t read
    if (b.rows === "carry") bc.set(kk.replace(/:1$/, ":0"), -1);
  }
  for (const s of plan.backward.seeds) given(bc, s.buf, -1);
  for (const s of plan.backward.states) given(bc, s.carry, -1);
  runStages(plan.backward.stages, bc, "backward", plan.backward.states.map((s) => ({ buf: s.carry, shift: 0 as const })));
  for (const i of plan.backward.inputs) {
    const b = buf(i.buf);
    for (let j = 0; j < b.width; j++) if (!bc.has(`${i.buf}:${j}:0`)) fail(`backward: input gradient ${i.name}[${j}] never written`);
  }
}
