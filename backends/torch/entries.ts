// The forward and backward of a cell as Python functions over whole sequences, printed from the
// value-level schedule (compiler/schedule): what torch.autograd.Function runs (compiled by
// TorchScript), and what autograd differentiates in the autograd=True module.
//
//   forward(inputs.., states.., masks.., active, params..) -> (outputs.., final states.., tape..)
//   backward(input_grads, tape.., params.., d outputs.., d final states..)
//       -> (d inputs.., d initial states.., d params..)
//
// The tape is the schedule's: the forward values the backward reads, each over all steps
// ([T, B, n]; the masks [B, n]; rowless values as they are).

import type { Graph, ValueId } from "../../compiler/ir.ts";
import { resolve, type EntrySchedule, type ValueSchedule } from "../../compiler/schedule/schedule.ts";
import type { BackwardGraph } from "../../compiler/autodiff.ts";
import { isConst, produces } from "../../compiler/ir.ts";
import type { ValueStage } from "../../compiler/schedule/schedule.ts";
import { blockStmts, CorePrinter, type Namer, type Rows } from "./core.ts";

/** A Python tuple of the items, always a tuple: one value is `(x,)`, so the caller's `r[0]` is the
 *  value and not its first row (a scripted function returning one tensor returns the tensor). */
const pyTuple = (items: readonly string[]): string => (items.length === 1 ? `(${items[0]},)` : items.join(", "));

export interface EntryText {
  name: string;
  lines: string[];
}

export interface PrintedEntries {
  forward: EntryText;
  inference: EntryText;
  backward: EntryText;
  /** The backward after the unmasked forward (the same as `backward` when there is none of its own). */
  unmaskedBackward: EntryText;
  helpers: string[][];
  /** What the forward returns after the outputs and final states (by forward value). */
  tape: ValueId[];
}

/** Parameters and packs: packs are their parts stacked by rows, made once per call. */
function bindWeights(p: CorePrinter, g: Graph, arg: (v: ValueId) => string): void {
  for (const q of g.params) p.bind(q.value, arg(q.value), "none");
  for (const pk of g.packs) {
    const shape = g.values[pk.value]!.shape;
    const parts = pk.parts.map((q) => ({ name: arg(q), shape: g.values[q]!.shape }));
    const name = arg(pk.value);
    const byRows = shape.length === 2 && parts.every((q) => q.shape.length === 2 && q.shape[1] === shape[1]);
    p.emit(byRows ? `${name} = torch.cat([${parts.map((q) => q.name).join(", ")}], 0)` : `${name} = torch.cat([${parts.map((q) => `${q.name}.reshape(-1)`).join(", ")}], 0).reshape(${shape.join(", ")})`);
    p.bind(pk.value, name, "none");
  }
}

function sizes(p: CorePrinter, active: string): void {
  p.emit(`T = ${active}.shape[0]`);
  p.emit(`B = ${active}.shape[1]`);
  p.emit(`dtype = ${active}.dtype`);
  p.emit(`device = ${active}.device`);
}

export function printEntries(s: ValueSchedule, cell: string, namer: { global(want: string): string; scope(): { get(want: string): string } }): PrintedEntries {
  const helpers: string[][] = [];
  const fwd = s.forward.graph;
  const tape = [...new Set([fwd.active, ...s.tape])];
  const forward = printForward(s, s.forward, `${cell}_forward`, namer, helpers, tape);
  const inference = printForward(s, s.inference, `${cell}_forward_unmasked`, namer, helpers, tape);
  const backward = printBackward(s, s.backward, `${cell}_backward`, namer, helpers, tape);
  const unmaskedBackward = s.unmaskedBackward === s.backward ? backward : printBackward(s, s.unmaskedBackward, `${cell}_backward_unmasked`, namer, helpers, tape);
  return { forward, inference, backward, unmaskedBackward, helpers, tape };
}

function makeNamer(namer: { global(want: string): string; scope(): { get(want: string): string } }): Namer {
  const scope = namer.scope();
  return { local: (w) => scope.get(w), global: (w) => namer.global(w) };
}

/** How the backward holds a tape value: all steps, the batch (masks), or rowless. */
function tapeRows(s: ValueSchedule, v: ValueId): Rows {
  const g = s.forward.graph;
  if (s.rowless.has(v)) return "none";
  return g.states.some((st) => st.mask === v) ? "batch" : "seq";
}

/** What a loop collects: one list per value, except values that are a part of a collected
 *  concatenation (the gates' adjoints inside d_proj), which are read from its stack instead. */
function collected(st: ValueStage, g: Graph, n: Namer): { lists: { v: ValueId; list: string }[]; parts: { v: ValueId; whole: ValueId; lo: number; width: number }[] } {
  const parts: { v: ValueId; whole: ValueId; lo: number; width: number }[] = [];
  const want = new Set(st.collect);
  for (const s of blockStmts(st.blocks)) {
    const e = s.eqn;
    if (e.op !== "concat" || !want.has(e.out)) continue;
    let lo = 0;
    for (const a of e.args) {
      const w = isConst(a) ? 1 : g.values[a.v]!.shape.reduce((x, y) => x * y, 1);
      if (!isConst(a) && want.has(a.v) && !parts.some((q) => q.v === a.v) && !st.before.some((b) => produces(b.eqn) && b.eqn.out === a.v)) parts.push({ v: a.v, whole: e.out, lo, width: w });
      lo += w;
    }
  }
  const lists = st.collect.filter((v) => !parts.some((q) => q.v === v)).map((v) => ({ v, list: n.local(`${g.values[v]!.name}_steps`) }));
  return { lists, parts };
}

function bindParts(p: CorePrinter, parts: ReturnType<typeof collected>["parts"]): void {
  // Later concatenations first: one may be a part of another.
  for (const q of [...parts].reverse()) p.bind(q.v, `${p.read(q.whole).expr}[..., ${q.lo}:${q.lo + q.width}]`, "seq");
}

function printForward(s: ValueSchedule, entry: EntrySchedule, want: string, namer: Parameters<typeof printEntries>[2], helpers: string[][], tape: ValueId[]): EntryText {
  const g = entry.graph;
  const n = makeNamer(namer);
  const name = namer.global(`_${want}`);
  const p = new CorePrinter(g, entry, n, helpers, name);
  const arg = new Map<ValueId, string>();
  const argOf = (v: ValueId) => {
    let a = arg.get(v);
    if (a === undefined) arg.set(v, (a = n.local(g.values[v]!.name)));
    return a;
  };
  const params = [...g.inputs.map((i) => i.value), ...g.states.map((st) => st.prev), ...g.states.map((st) => st.mask), g.active, ...g.params.map((q) => q.value)];
  const head = `def ${name}(${params.map(argOf).join(", ")}):`;
  sizes(p, argOf(g.active));
  for (const i of g.inputs) p.bind(i.value, argOf(i.value), "seq");
  for (const st of g.states) {
    p.bind(st.prev, argOf(st.prev), "batch");
    p.bind(st.mask, argOf(st.mask), "batch");
  }
  p.bind(g.active, argOf(g.active), "seq");
  bindWeights(p, g, argOf);
  const pinned = new Set<ValueId>([...tape, ...g.outputs.map((o) => o.value), ...g.states.map((st) => st.next)].map((v) => resolve(entry, v)));
  for (const v of pinned) p.pinned.add(v);
  // States read after the loop as they were at every step (by the backward, or as an output).
  const tapedStates = g.states.filter((st) => [...tape, ...g.outputs.map((o) => o.value)].some((v) => resolve(entry, v) === st.prev));
  const stateSteps = new Map<ValueId, string>();
  for (const st of entry.stages) {
    if (st.blocks.length === 0 && st.kind === "all") continue;
    p.emit(`# ${st.title}`);
    p.newStage();
    if (st.kind === "all") {
      p.blocks(st, new Map());
      continue;
    }
    p.before(st, new Map());
    const { lists, parts } = collected(st, g, n);
    const stateLists = tapedStates.map((x) => ({ st: x, list: n.local(`${g.values[x.prev]!.name}_steps`) }));
    for (const l of [...lists, ...stateLists]) p.emit(`${l.list}: List[Tensor] = []`);
    p.emit(`for t in range(T):`);
    p.indent(1);
    p.enterStep();
    for (const l of stateLists) p.emit(`${l.list}.append(${argOf(l.st.prev)})`);
    p.blocks(st, new Map());
    for (const l of lists) p.emit(`${l.list}.append(${p.withRows(p.read(l.v), "batch", p.width(l.v))})`);
    if (g.states.length) {
      const next = g.states.map((x) => p.withRows(p.read(resolve(entry, x.next)), "batch", p.width(x.next)));
      p.emit(`${g.states.map((x) => argOf(x.prev)).join(", ")} = ${next.join(", ")}`);
    }
    if (!st.blocks.length && !lists.length && !stateLists.length && !g.states.length) p.emit("pass");
    p.leaveStep();
    p.indent(-1);
    for (const l of lists) {
      const v = n.local(g.values[l.v]!.name);
      p.emit(`${v} = torch.stack(${l.list})`);
      p.bind(l.v, v, "seq");
    }
    bindParts(p, parts);
    for (const l of stateLists) {
      const v = n.local(`${g.values[l.st.prev]!.name}_steps_all`);
      p.emit(`${v} = torch.stack(${l.list})`);
      stateSteps.set(l.st.prev, v);
    }
  }
  // Each output its own tensor: never an argument, nor another output, as it is.
  const given = new Set(params.map(argOf));
  const outs: string[] = [];
  for (const o of g.outputs) {
    const r = resolve(entry, o.value);
    const e = stateSteps.get(r) ?? p.withRows(p.read(r), "seq", p.width(o.value));
    outs.push(given.has(e) || outs.includes(e) ? `${e}.clone()` : e);
  }
  const finals = g.states.map((x) => argOf(x.prev));
  const tapeOut = tape.map((v) => {
    const r = resolve(entry, v);
    const st = stateSteps.get(r);
    if (st) return st;
    return p.withRows(p.read(r), tapeRows(s, v), p.width(v));
  });
  p.emit(`return ${pyTuple([...outs, ...finals, ...tapeOut])}`);
  return { name, lines: [head, ...p.body] };
}

function printBackward(s: ValueSchedule, entry: EntrySchedule<BackwardGraph>, want: string, namer: Parameters<typeof printEntries>[2], helpers: string[][], tape: ValueId[]): EntryText {
  const g = entry.graph;
  const n = makeNamer(namer);
  const name = namer.global(`_${want}`);
  const p = new CorePrinter(g, entry, n, helpers, name);
  const local = (v: ValueId) => n.local(g.values[v]!.name);
  const inputGrads = n.local("input_grads");
  const tapeArgs = tape.map(local);
  const paramArgs = g.params.map((q) => local(q.value));
  const seedArgs = g.seedOutputs.map((x) => local(x.value));
  const finalArgs = g.seedStates.map((x) => n.local(`${g.values[x.value]!.name}_final`));
  const head = `def ${name}(${[`${inputGrads}: bool`, ...tapeArgs, ...paramArgs, ...seedArgs, ...finalArgs].join(", ")}):`;
  sizes(p, tapeArgs[0]!);
  tape.forEach((v, k) => p.bind(v, tapeArgs[k]!, tapeRows(s, v)));
  const argOf = new Map<ValueId, string>(g.params.map((q, k) => [q.value, paramArgs[k]!]));
  for (const pk of g.packs) argOf.set(pk.value, local(pk.value));
  bindWeights(p, g, (v) => argOf.get(v)!);
  g.seedOutputs.forEach((x, k) => p.bind(x.value, seedArgs[k]!, "seq"));
  const carry = g.seedStates.map((x, k) => {
    const v = local(x.value);
    p.emit(`${v} = ${finalArgs[k]}`);
    p.bind(x.value, v, "batch");
    return v;
  });
  // Gradient accumulators of every parameter and pack a sink adds to.
  const grads = new Map<ValueId, string>();
  for (const e of g.eqns) {
    if ((e.op === "acc" || e.op === "acc_outer") && !grads.has(e.param)) {
      const v = n.local(`grad_${g.values[e.param]!.name}`);
      grads.set(e.param, v);
      p.emit(`${v} = torch.zeros(${g.values[e.param]!.shape.join(", ")}, dtype=dtype, device=device)`);
    }
  }
  const at = (v: ValueId) => resolve(entry, v);
  for (const d of [...g.dInputs, ...g.dStates]) p.pinned.add(at(d.value));
  const results: string[] = [];
  for (const st of entry.stages) {
    if (st.kind === "loop") {
      p.emit(`# ${st.title}`);
      p.newStage();
      p.before(st, grads);
      const { lists, parts } = collected(st, g, n);
      for (const l of lists) p.emit(`${l.list}: List[Tensor] = []`);
      p.emit(`for t in range(T - 1, -1, -1):`);
      p.indent(1);
      p.enterStep();
      p.blocks(st, grads);
      for (const l of lists) p.emit(`${l.list}.append(${p.withRows(p.read(l.v), "batch", p.width(l.v))})`);
      if (carry.length) p.emit(`${carry.join(", ")} = ${g.dStates.map((d) => p.withRows(p.read(at(d.value)), "batch", p.width(d.value))).join(", ")}`);
      else if (!st.blocks.length && !lists.length) p.emit("pass");
      p.leaveStep();
      p.indent(-1);
      // Collected from the last step to the first: reversed, then stacked.
      for (const l of lists) {
        const v = local(l.v);
        p.emit(`${l.list}.reverse()`);
        p.emit(`${v} = torch.stack(${l.list})`);
        p.bind(l.v, v, "seq");
      }
      bindParts(p, parts);
      continue;
    }
    if (st.role === "deferred") {
      if (st.blocks.length) p.emit(`# ${st.title}`);
      p.newStage();
      p.blocks(st, grads);
      continue;
    }
    // The input gradients: only when asked for.
    const dIn = g.dInputs.map((d) => n.local(`${g.values[d.value]!.name}_all`));
    if (!dIn.length) continue;
    p.emit(`if ${inputGrads}:`);
    p.indent(1);
    if (st.blocks.length) p.emit(`# ${st.title}`);
    p.blocks(st, grads);
    g.dInputs.forEach((d, k) => p.emit(`${dIn[k]} = ${p.withRows(p.read(at(d.value)), "seq", p.width(d.value))}`));
    p.indent(-1);
    p.emit(`else:`);
    g.dInputs.forEach((d, k) => p.emit(`    ${dIn[k]} = torch.zeros(T, B, ${p.width(d.value)}, dtype=dtype, device=device)`));
    results.push(...dIn);
  }
  // Packs' gradients go to their parts.
  const paramGrads: (string | undefined)[] = g.params.map((q) => grads.get(q.value));
  for (const pk of g.packs) {
    const gp = grads.get(pk.value);
    if (!gp) continue;
    let off = 0;
    for (const q of pk.parts) {
      const size = p.width(q);
      const shape = g.values[q]!.shape;
      const k = g.params.findIndex((x) => x.value === q);
      const part = `${gp}.reshape(-1)[${off}:${off + size}].reshape(${shape.join(", ")})`;
      const acc = n.local(`grad_${g.values[q]!.name}`);
      p.emit(`${acc} = ${paramGrads[k] === undefined ? part : `${paramGrads[k]} + ${part}`}`);
      paramGrads[k] = acc;
      off += size;
    }
  }
  const dStates = g.dStates.map((_, k) => carry[k]!);
  const zeros = (q: ValueId) => `torch.zeros(${g.values[q]!.shape.join(", ")}, dtype=dtype, device=device)`;
  p.emit(`return ${pyTuple([...results, ...dStates, ...paramGrads.map((x, k) => x ?? zeros(g.params[k]!.value))])}`);
  return { name, lines: [head, ...p.body] };
}

