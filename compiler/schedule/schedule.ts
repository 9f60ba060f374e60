// The value-level schedule: what a kernel computes, stage by stage, as statements over values —
// each a value of the step graph (named after the spec), the expression that makes it from other
// values, and the spec lines it came from. It is read off the plan's step graphs and their
// scheduling (compiler/plan/schedule.ts), so it makes the same choices as the memory plan: what
// runs once over all T·B rows (hoisted input projections; the backward's weight and input
// gradients), what runs at every step, which elementwise statements fuse, and which forward
// values the backward reads (the tape). Value-level printers (PyTorch) print it; TypeScript and
// WebAssembly print the memory plan under it.
//
// Values keep their per-sample meaning: a vector [n] is n numbers per row, a matrix value [m, n]
// m·n numbers row-major; a row is one sample at one step. A value is "rowless" when it is the
// same for every row (parameters, and what only parameters and constants make): printers keep it
// without the batch and time axes and compute it once, before any loop.

import type { BackwardGraph } from "../autodiff.ts";
import { operandValues, produces, type Eqn, type Graph, type ValueId } from "../ir.ts";
import type { Phase } from "../plan/schedule.ts";
import type { Plan } from "../plan/types.ts";
import { unmasking } from "./unmask.ts";

export interface Stmt {
  eqn: Eqn;
  /** Spec lines it computes ("lstm.cell:12  i = sigmoid(...)"), as they are: printers escape them. */
  lines: string[];
}

/** Statements of one width that fuse into one elementwise kernel, or one other statement. */
export type Block = { kind: "fused"; stmts: Stmt[] } | { kind: "op"; stmt: Stmt };

export interface ValueStage {
  role: Phase["role"];
  /** "all": over every row at once; "loop": one step at a time (backward: t = T-1 .. 0). */
  kind: "all" | "loop";
  reverse: boolean;
  /** Runs only when the caller asks for input gradients. */
  whenInputGradients: boolean;
  title: string;
  /** Rowless statements of a loop stage, computed once before it. */
  before: Stmt[];
  blocks: Block[];
  /** Values a loop makes at every step that are read after it (by later stages, the tape or the
   *  caller): printers collect them over the steps. */
  collect: ValueId[];
}

export interface EntrySchedule<G extends Graph = Graph> {
  graph: G;
  stages: ValueStage[];
  /** Values standing for others (unmasked: a masked read is the state, a select its first
   *  choice); read through `resolve`. */
  alias: Map<ValueId, ValueId>;
  /** Values that are a number (unmasked: select(active, 0, d) is 0). */
  constants?: Map<ValueId, number>;
}

export interface ValueSchedule {
  forward: EntrySchedule;
  backward: EntrySchedule<BackwardGraph>;
  /** The forward without sequence lengths or state masks: no select()s and no mask products (the
   *  active flags and masks are all ones). Its values stand in for the forward's through `alias`. */
  inference: EntrySchedule;
  /** The forward with lengths but without state masks (the masks are ones; the selects on the
   *  active flags stay): what an inference model that takes sequence lengths prints. */
  lengthsOnly: EntrySchedule;
  /** The backward when the forward ran unmasked (the same numbers, with no select()s or masks). */
  unmaskedBackward: EntrySchedule<BackwardGraph>;
  /** Forward values the backward reads (inputs, states as carried into each step, and locals). */
  tape: ValueId[];
  rowless: ReadonlySet<ValueId>;
}

export const resolve = (s: EntrySchedule, v: ValueId): ValueId => {
  for (let a = s.alias.get(v); a !== undefined; a = s.alias.get(v)) v = a;
  return v;
};

const TITLES: Record<Phase["role"], string> = {
  hoisted: "what depends only on the inputs and parameters, for every step at once",
  loop: "one step at a time",
  deferred: "what the recurrence does not need, for every step at once: weight gradients",
  inputs: "the gradients of the inputs, for every step at once",
};

/** Values the same for every row: parameters, and what only they and constants make. */
function rowlessValues(g: Graph): Set<ValueId> {
  const out = new Set<ValueId>();
  for (const v of g.values) if (v.role === "param" || v.role === "packed") out.add(v.id);
  for (const e of g.eqns) if (produces(e) && operandValues(e).every((v) => out.has(v))) out.add(e.out);
  return out;
}

function stages(g: Graph, phases: readonly Phase[], lines: Map<Eqn, string[]>, rowless: ReadonlySet<ValueId>, backward: boolean, rewrite: (e: Eqn) => Eqn | null): ValueStage[] {
  const stmt = (e: Eqn): Stmt | null => {
    const r = rewrite(e);
    return r && { eqn: r, lines: lines.get(e) ?? [] };
  };
  return phases.map((p) => {
    const loop = p.role === "loop";
    const before: Stmt[] = [];
    const blocks: Block[] = [];
    for (const it of p.items) {
      const stmts = (it.kind === "group" ? it.eqns : [it.eqn]).map(stmt).filter((s): s is Stmt => s !== null);
      const kept = stmts.filter((s) => {
        const fixed = loop && produces(s.eqn) && rowless.has(s.eqn.out);
        if (fixed) before.push(s);
        return !fixed;
      });
      if (!kept.length) continue;
      if (it.kind === "group") blocks.push({ kind: "fused", stmts: kept });
      else blocks.push({ kind: "op", stmt: kept[0]! });
    }
    return {
      role: p.role,
      kind: loop ? "loop" : "all",
      reverse: backward && loop,
      whenInputGradients: p.role === "inputs",
      title: backward && loop ? "backward through time" : TITLES[p.role],
      before,
      blocks,
      collect: [],
    };
  });
}

const stmtsOf = (s: ValueStage): Stmt[] => [...s.before, ...s.blocks.flatMap((b) => (b.kind === "fused" ? b.stmts : [b.stmt]))];

/** Fills each loop stage's `collect`: what it makes that later stages or `after` read. */
function collect(entry: EntrySchedule, after: Iterable<ValueId>, carried: readonly ValueId[] = []): void {
  const readLater = new Set<ValueId>([...after].map((v) => resolve(entry, v)));
  for (let i = entry.stages.length - 1; i >= 0; i--) {
    const st = entry.stages[i]!;
    // A loop makes its statements' values, and (backward) each step's incoming state gradients.
    const made = [...stmtsOf(st).filter((s) => produces(s.eqn) && !st.before.includes(s)).map((s) => (s.eqn as { out: ValueId }).out), ...(st.kind === "loop" ? carried : [])];
    if (st.kind === "loop") st.collect = made.filter((v) => readLater.has(v));
    for (const s of stmtsOf(st)) for (const v of operandValues(s.eqn)) readLater.add(v);
  }
}

export function valueSchedule(plan: Plan): ValueSchedule {
  const { fwd, bwd, schedule, lines } = plan.steps;
  const rowless = rowlessValues(fwd);
  for (const v of rowlessValues(bwd)) rowless.add(v);
  const tape = [...schedule.taped].sort((a, b) => a - b);
  const keep = (e: Eqn) => e;

  const forward: EntrySchedule = { graph: fwd, stages: stages(fwd, schedule.forward, lines, rowless, false, keep), alias: new Map() };
  const backward: EntrySchedule<BackwardGraph> = { graph: bwd, stages: stages(bwd, schedule.backward, lines, rowless, true, keep), alias: new Map() };

  // Without lengths and masks: the active flags and masks are ones (unmask.ts).
  const fu = unmasking(fwd);
  const inference: EntrySchedule = { graph: fwd, stages: stages(fwd, schedule.forward, lines, rowless, false, fu.rewrite), alias: fu.alias, constants: fu.constants };
  const lu = unmasking(fwd, true);
  const lengthsOnly: EntrySchedule = { graph: fwd, stages: stages(fwd, schedule.forward, lines, rowless, false, lu.rewrite), alias: lu.alias, constants: lu.constants };
  const bu = unmasking(bwd);
  const unmaskedBackward: EntrySchedule<BackwardGraph> = { graph: bwd, stages: stages(bwd, schedule.backward, lines, rowless, true, bu.rewrite), alias: bu.alias, constants: bu.constants };

  const after = [...tape, ...fwd.outputs.map((o) => o.value)];
  collect(forward, after);
  collect(inference, after);
  collect(lengthsOnly, after);
  for (const b of [backward, unmaskedBackward]) collect(b, bwd.dInputs.map((d) => d.value), bwd.seedStates.map((x) => x.value));
  // An unmasked forward that is not plain elementwise rewriting is not offered (the masked one runs).
  return { forward, backward, inference: fu.usable() ? inference : forward, lengthsOnly: lu.usable() ? lengthsOnly : forward, unmaskedBackward: bu.usable() ? unmaskedBackward : backward, tape, rowless };
}

export { stmtsOf };
