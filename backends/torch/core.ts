// Prints the stages of one entry of the value-level schedule as the body of a Python function
// that TorchScript compiles: the all-rows stages over [T, B, n] tensors, a loop stage as a
// `for t in range(T)` (the backward's in reverse) over [B, n] tensors, collecting what later
// stages read. A value used once in the statement that reads it is written into it; a fused
// block of elementwise statements becomes a function of its own (compiled once, by TorchScript,
// with the function that calls it), returning what the rest of the entry reads.

import { isConst, operandValues, produces, type Eqn, type Graph, type ValueId } from "../../compiler/ir.ts";
import { elementwise, pyNum } from "../../compiler/primitives/elementwise.ts";
import type { Block, EntrySchedule, Stmt, ValueStage } from "../../compiler/schedule/schedule.ts";
import { atom, constColumn, structuralExpr } from "./ops.ts";
import { structuralOfIr } from "../../compiler/primitives/structural.ts";
import { pyComment } from "./python.ts";
import { PYTHON_KEYWORDS } from "./reserved.ts";

/** "seq": [T, B, n]; "batch": [B, n] (one step, or per-sequence data); "none": [n], the same for every row. */
export type Rows = "seq" | "batch" | "none";
interface Bound {
  expr: string;
  rows: Rows;
}
const RANK: Record<Rows, number> = { none: 0, batch: 1, seq: 2 };
const widest = (rs: Rows[]): Rows => rs.reduce<Rows>((a, r) => (RANK[r] > RANK[a] ? r : a), "none");
export const leadOf = (r: Rows): string => (r === "seq" ? "T, B, " : r === "batch" ? "B, " : "");

export interface Namer {
  /** A fresh local identifier (unique in the function). */
  local(want: string): string;
  /** A fresh module-level identifier (a helper function). */
  global(want: string): string;
}

export class CorePrinter {
  readonly body: string[] = [];
  /** Module-level helper functions (fused blocks). */
  readonly helpers: string[][];
  private depth = 1;
  private scope = new Map<ValueId, Bound>();
  private step: Map<ValueId, Bound> | null = null;
  private uses = new Map<ValueId, number>();
  /** Values that must be bound to a variable (read after their stage, or by the caller). */
  readonly pinned = new Set<ValueId>();
  /** Spec lines already printed in this stage (or step). */
  private printed = new Set<string>();

  constructor(
    private readonly g: Graph,
    private readonly entry: EntrySchedule,
    private readonly names: Namer,
    helpers: string[][],
    private readonly prefix: string,
  ) {
    this.helpers = helpers;
    for (const [v, c] of entry.constants ?? []) this.scope.set(v, { expr: pyNum(c), rows: "none" });
    // A value read outside the stage (or pre-loop section) that makes it is bound to a variable.
    const madeIn = new Map<ValueId, number>();
    let k = 0;
    for (const st of entry.stages) {
      for (const part of [st.before, blockStmts(st.blocks)]) {
        for (const s of part) {
          for (const v of operandValues(s.eqn)) {
            this.uses.set(v, (this.uses.get(v) ?? 0) + 1);
            if (madeIn.has(v) && madeIn.get(v) !== k) this.pinned.add(v);
          }
          if (produces(s.eqn)) madeIn.set(s.eqn.out, k);
        }
        k++;
      }
    }
  }

  emit(line: string): void {
    this.body.push("    ".repeat(this.depth) + line);
  }
  indent(d: number): void {
    this.depth += d;
  }

  private valueName(v: ValueId): string {
    return this.g.values[v]!.name;
  }
  width(v: ValueId): number {
    return this.g.values[v]!.shape.reduce((a, b) => a * b, 1);
  }

  /** Makes a value available under an expression (a variable, or an expression over stable variables). */
  bind(v: ValueId, expr: string, rows: Rows): void {
    (this.step ?? this.scope).set(v, { expr, rows });
  }

  /** The value's expression where it is read now (a step reads row t of an all-steps tensor). */
  read(v: ValueId): Bound {
    const own = this.step?.get(v);
    if (own) return own;
    const b = this.scope.get(v);
    if (!b) throw new Error(`torch backend: ${this.valueName(v)} is read before it is computed`);
    if (this.step && b.rows === "seq") return { expr: `${atom(b.expr)}[t]`, rows: "batch" };
    // A matrix parameter read elementwise is its m·n numbers in a row.
    return b;
  }

  private readOperand(o: Eqn["args"][number], forEw: boolean): Bound {
    if (isConst(o)) return { expr: pyNum(o.c), rows: "none" };
    const b = this.read(o.v);
    const info = this.g.values[o.v]!;
    if (forEw && (info.role === "param" || info.role === "packed") && info.shape.length === 2) return { expr: `${b.expr}.reshape(-1)`, rows: "none" };
    return b;
  }

  /** Binds a computed expression: to a new variable unless it is read exactly once, later in this stage. */
  private define(v: ValueId, expr: string, rows: Rows, inline: boolean): void {
    if (inline && !this.pinned.has(v) && (this.uses.get(v) ?? 0) === 1) {
      this.bind(v, expr, rows);
      return;
    }
    const name = this.names.local(this.valueName(v));
    this.emit(`${name} = ${expr}`);
    this.bind(v, name, rows);
  }

  /** The expression with the given leading axes (a rowless value expanded to every row). */
  withRows(b: Bound, rows: Rows, width: number): string {
    if (RANK[b.rows] >= RANK[rows]) return b.expr;
    if (atom(b.expr) === b.expr && /^[(\d-]|^math\./.test(b.expr)) return `torch.full([${leadOf(rows)}${width}], ${b.expr}, dtype=dtype, device=device)`;
    return `${atom(b.expr)}.expand(${leadOf(rows)}${width})`;
  }

  private comment(s: Stmt): void {
    for (const l of s.lines) {
      if (this.printed.has(l)) continue;
      this.printed.add(l);
      this.emit(`# ${pyComment(l)}`);
    }
  }

  /** A new stage: its comments start afresh. */
  newStage(): void {
    this.printed = new Set();
  }

  /** One statement that is not a fused block: a product, a slice, a reduction, a gradient sink. */
  stmt(s: Stmt, grads: Map<ValueId, string>, stageRows: Rows): void {
    const e = s.eqn;
    this.comment(s);
    if (e.op === "acc_outer" || e.op === "acc") {
      const acc = grads.get(e.param)!;
      const [P0, P1] = this.g.values[e.param]!.shape;
      if (e.op === "acc_outer") {
        const [u, x] = e.args.map((a) => this.readOperand(a, false)) as [Bound, Bound];
        const [N, K] = [P0!, P1!];
        const U = `${atom(this.withRows(u, stageRows, N))}.reshape(-1, ${N})`;
        const X = `${atom(this.withRows(x, stageRows, K))}.reshape(-1, ${K})`;
        this.emit(`${acc} = ${acc} + torch.mm(${U}.t(), ${X})`);
      } else {
        const u = this.readOperand(e.args[0]!, false);
        const size = this.width(e.param);
        const shape = this.g.values[e.param]!.shape;
        // The gradient sum over rows, as its registry entry prints it (compiler/primitives/structural.ts).
        const prim = structuralOfIr(e.op)!;
        const x = atom(this.withRows(u, stageRows, size));
        const sum = prim.torch({ arg: () => x, matrix: () => x, lead: "" }, prim.attrs(e as unknown as Record<string, unknown>, [[size]]));
        this.emit(`${acc} = ${acc} + ${shape.length === 2 ? `${sum}.reshape(${shape.join(", ")})` : sum}`);
      }
      return;
    }
    if (!produces(e)) throw new Error("torch backend: a gradient sink outside its place");
    const args = e.args.map((a) => this.readOperand(a, false));
    let rows = widest(args.map((a) => a.rows));
    if (e.op === "zeros") rows = "none";
    const lead = leadOf(rows);
    let texts = args.map((a) => a.expr);
    if (e.op === "concat") {
      texts = e.args.map((a, k) => (isConst(a) ? (rows === "none" ? `torch.full([1], ${pyNum(a.c)}, dtype=dtype, device=device)` : constColumn(a.c, lead)) : this.withRows(args[k]!, rows, this.width(a.v))));
    }
    const expr = structuralExpr(e, texts, { lead, argLead: args.map((a) => leadOf(a.rows)), shape: (v) => this.g.values[v]!.shape, width: this.width(e.out) });
    this.define(e.out, expr, rows, true);
  }

  /** A fused block: one statement in place, several as a helper function. */
  fused(stmts: Stmt[]): void {
    if (stmts.length === 1) {
      this.comment(stmts[0]!);
      this.ew(stmts[0]!.eqn, (o) => this.readOperand(o, true), (v, expr, rows) => this.define(v, expr, rows, true));
      return;
    }
    for (const s of stmts) this.comment(s);
    const made = new Set(stmts.map((s) => (s.eqn as { out: ValueId }).out));
    const params: ValueId[] = [];
    for (const s of stmts) for (const v of operandValues(s.eqn)) if (!made.has(v) && !params.includes(v)) params.push(v);
    // The helper's own scope: parameters and locals named after the values.
    const local = new Map<ValueId, Bound>();
    const usedIn = new Map<ValueId, number>();
    for (const s of stmts) for (const v of operandValues(s.eqn)) usedIn.set(v, (usedIn.get(v) ?? 0) + 1);
    const outs = stmts.map((s) => (s.eqn as { out: ValueId }).out).filter((v) => this.pinned.has(v) || (this.uses.get(v) ?? 0) > (usedIn.get(v) ?? 0));
    const taken = new Set<string>();
    const nameIn = (want: string) => {
      let base = want.replace(/[^A-Za-z0-9_]/g, "_");
      if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
      let n = base;
      for (let i = 2; taken.has(n) || PYTHON_KEYWORDS.has(n); i++) n = `${base}_${i}`;
      taken.add(n);
      return n;
    };
    const argBounds = params.map((v) => this.readOperand({ v }, true));
    params.forEach((v, k) => local.set(v, { expr: nameIn(this.valueName(v)), rows: argBounds[k]!.rows }));
    const body: string[] = [];
    for (const s of stmts) {
      const e = s.eqn;
      this.ew(
        e,
        (o) => (isConst(o) ? { expr: pyNum(o.c), rows: "none" } : local.get(o.v)!),
        (v, expr, rows) => {
          if (!outs.includes(v) && usedIn.get(v) === 1) return local.set(v, { expr, rows });
          const n = nameIn(this.valueName(v));
          body.push(`    ${n} = ${expr}`);
          local.set(v, { expr: n, rows });
        },
      );
    }
    const first = this.valueName(outs[0] ?? (stmts[0]!.eqn as { out: ValueId }).out);
    const fn = this.names.global(`${this.prefix}_${first}`);
    const ret = outs.map((v) => local.get(v)!.expr);
    this.helpers.push([`def ${fn}(${params.map((v) => local.get(v)!.expr).join(", ")}):`, ...body, `    return ${ret.length === 1 ? ret[0] : ret.join(", ")}`]);
    const call = `${fn}(${argBounds.map((b) => b.expr).join(", ")})`;
    if (outs.length === 0) return;
    const vars = outs.map((v) => this.names.local(this.valueName(v)));
    this.emit(`${vars.join(", ")} = ${call}`);
    outs.forEach((v, k) => this.bind(v, vars[k]!, local.get(v)!.rows));
  }

  private ew(e: Eqn, operand: (o: Eqn["args"][number]) => Bound, out: (v: ValueId, expr: string, rows: Rows) => void): void {
    if (!produces(e)) throw new Error("torch backend: a sink in a fused block");
    if (e.op === "bcast") {
      const x = operand(e.args[0]!);
      // -1 keeps the leading axes (a helper knows their count, not their sizes).
      out(e.out, `${atom(x.expr)}.expand(${"-1, ".repeat(RANK[x.rows])}${this.width(e.out)})`, x.rows);
      return;
    }
    if (e.op !== "ew") throw new Error(`torch backend: ${e.op} in a fused block`);
    const prim = elementwise(e.fn);
    if (!prim || typeof prim.torch !== "function") throw new Error(`torch backend: primitive "${e.fn}" has no PyTorch formula (add a torch field to its entry in compiler/primitives/elementwise.ts)`);
    const args = e.args.map(operand);
    out(e.out, prim.torch(args.map((a) => atom(a.expr)), e.attrs ?? {}), widest(args.map((a) => a.rows)));
  }

  /** Prints a stage's statements where the printer stands (inside a loop when `step` is set). */
  blocks(st: ValueStage, grads: Map<ValueId, string>): void {
    const stageRows: Rows = st.kind === "loop" ? "batch" : "seq";
    for (const b of st.blocks) {
      if (b.kind === "fused") this.fused(b.stmts);
      else this.stmt(b.stmt, grads, stageRows);
    }
  }

  /** Prints rowless statements (before a loop). */
  before(st: ValueStage, grads: Map<ValueId, string>): void {
    for (const s of st.before) {
      if (s.eqn.op === "ew" || s.eqn.op === "bcast") this.fused([s]);
      else this.stmt(s, grads, "none");
    }
  }

  /** Enters a step: values bound from now on belong to it. */
  enterStep(): void {
    this.step = new Map();
    this.printed = new Set();
  }
  /** Leaves a step; the step's bindings are returned (for collecting). */
  leaveStep(): Map<ValueId, Bound> {
    const s = this.step!;
    this.step = null;
    return s;
  }

  /** Whether a value is bound in the current step. */
  inStep(v: ValueId): boolean {
    return this.step?.has(v) ?? false;
  }
}

/** Names a helper function never takes for its locals (what its body may call). */

export const blockStmts = (blocks: readonly Block[]): Stmt[] => blocks.flatMap((b) => (b.kind === "fused" ? b.stmts : [b.stmt]));
