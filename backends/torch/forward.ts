// Prints a plan's FORWARD entry as the body of an nn.Module's forward: autograd derives the
// backward, so the backward entry is not printed. Buffers become tensors: a seq buffer is
// [T, B, w] in a stage over all rows (so a hoisted GEMM is one matmul over every T·B row) and
// [B, w] inside the time loop; a carry buffer is the state before the step (a variable carried
// by the loop) and after it; weights are the module's parameters, a pack their concatenation.
//
// Writes are functional: each write makes a new, never reassigned variable, and the printer keeps
// per buffer the segments of columns it holds, so a read of any view is a variable, a column
// slice of one or a concatenation of pieces. The only reassigned variables are the states, all at
// once at the end of a step. Every name comes from the plan except the temporaries s0, s1, ...
// (a family plan names avoid) and the parameters' attributes (names.ts).

import { elementwise, pyNum } from "../../compiler/primitives/elementwise.ts";
import type { Plan, PlanOp, Stage, View } from "../../compiler/plan/types.ts";
import { viewsRead, viewsWritten } from "../../compiler/plan/views.ts";
import { pyComment } from "./python.ts";

interface Seg {
  col: number;
  width: number;
  expr: string;
  /** False for a value that has no rows (made only of parameters and constants): it broadcasts. */
  rows: boolean;
}

interface Read {
  expr: string;
  rows: boolean;
}

type Scope = Map<string, Seg[]>;

const isIdent = (s: string) => /^[A-Za-z_][A-Za-z0-9_.]*$/.test(s);

function torchFail(what: string): never {
  throw new Error(`torch backend: ${what}`);
}

export interface ForwardContext {
  plan: Plan;
  /** The attribute of each param buffer (self.<attr>). */
  attr: ReadonlyMap<number, string>;
}

export class ForwardPrinter {
  readonly lines: string[] = [];
  /** Indentation: the body of a method (two levels). */
  private depth = 2;
  private counter = 0;
  private readonly assigned = new Set<string>();
  private readonly outer: Scope = new Map();
  private loop: Scope | null = null;
  /** Step slices of all-rows tensors made in the current loop body (expr -> variable). */
  private stepSlices = new Map<string, string>();
  /** Pack buffers: their variable and the shape it has. */
  private readonly packs = new Map<number, { name: string; shape: [number, number] }>();

  constructor(private readonly c: ForwardContext) {}

  private get plan(): Plan {
    return this.c.plan;
  }

  emit(line: string): void {
    this.lines.push(line === "" ? "" : `${"    ".repeat(this.depth)}${line}`);
  }

  indent(delta: number): void {
    this.depth += delta;
  }

  fresh(): string {
    const n = `s${this.counter++}`;
    this.assigned.add(n);
    return n;
  }

  /** A new variable for a value stored in buffer `id`: the buffer's name the first time. */
  private bufVar(id: number): string {
    const name = this.plan.buffers[id]!.name;
    if (this.assigned.has(name)) return this.fresh();
    this.assigned.add(name);
    return name;
  }

  /** Marks a name as taken by the setup code (arguments, states, masks, the flags). */
  claim(name: string): void {
    this.assigned.add(name);
  }

  /** Sets what a buffer holds before the stages run: inputs, flags, masks, the initial states. */
  preset(buf: number, expr: string, shift: 0 | 1 = 0): void {
    const b = this.plan.buffers[buf]!;
    this.outer.set(this.key(buf, shift), [{ col: 0, width: b.width, expr, rows: true }]);
  }

  private key(buf: number, shift: number): string {
    return this.plan.buffers[buf]!.rows === "carry" ? `${buf}:${shift}` : `${buf}`;
  }

  /** Row dimensions of the current stage, for expand/full. */
  private rowDims(): string {
    return this.loop ? "B" : "T, B";
  }

  private cols(expr: string, from: number, width: number, whole: number): string {
    if (from === 0 && width === whole) return expr;
    return `${isIdent(expr) ? expr : `(${expr})`}[..., ${from}:${from + width}]`;
  }

  private pieces(segs: readonly Seg[] | undefined, v: View, what: string): Read {
    if (!segs) torchFail(`${what} is read before anything is written to it`);
    const parts: Read[] = [];
    for (let c = v.col; c < v.col + v.width; ) {
      const s = segs.find((x) => x.col <= c && c < x.col + x.width);
      if (!s) torchFail(`${what} columns ${c}.. are read before they are written`);
      const n = Math.min(v.col + v.width, s.col + s.width) - c;
      parts.push({ expr: this.cols(s.expr, c - s.col, n, s.width), rows: s.rows });
      c += n;
    }
    if (parts.length === 1) return parts[0]!;
    const rows = parts.some((p) => p.rows);
    const list = parts.map((p, i) => (p.rows || !rows ? p.expr : this.expand(p.expr, partWidth(segs, v, i))));
    return { expr: `torch.cat([${list.join(", ")}], -1)`, rows };
  }

  private expand(expr: string, width: number): string {
    return `${isIdent(expr) ? expr : `(${expr})`}.expand(${this.rowDims()}, ${width})`;
  }

  /** What a view holds, as an expression. */
  read(v: View): Read {
    const b = this.plan.buffers[v.buf]!;
    const what = `buffer ${b.name}`;
    if (b.rows === "none") {
      const attr = this.c.attr.get(v.buf);
      if (attr === undefined) torchFail(`${what} (a ${b.kind}) is read as a value`);
      const p = this.plan.meta.params.find((m) => m.name === this.plan.weights.params.find((q) => q.buf === v.buf)!.name)!;
      const flat = p.shape.length === 1 ? `self.${attr}` : `self.${attr}.reshape(-1)`;
      return { expr: this.cols(flat, v.col, v.width, b.width), rows: false };
    }
    const k = this.key(v.buf, v.shift);
    if (this.loop) {
      const own = this.loop.get(k);
      if (own) return this.pieces(own, v, what);
      if (b.rows === "carry" && v.shift === 1) torchFail(`${what}: the next state is read before it is written`);
      const outer = this.outer.get(k);
      if (b.rows === "seq") {
        // An all-rows tensor [T, B, w] read at step t: slice it once per step.
        const r = this.pieces(outer, { ...v, col: 0, width: b.width }, what);
        let step = this.stepSlices.get(r.expr);
        if (step === undefined) {
          step = this.fresh();
          this.emit(`${step} = ${isIdent(r.expr) ? r.expr : `(${r.expr})`}[t]`);
          this.stepSlices.set(r.expr, step);
        }
        return { expr: this.cols(step, v.col, v.width, b.width), rows: true };
      }
      return this.pieces(outer, v, what);
    }
    if (b.rows === "carry") torchFail(`${what}: a state is read outside the time loop`);
    return this.pieces(this.outer.get(k), v, what);
  }

  /** Records that view v now holds `expr` (a variable, or an expression over stable variables). */
  private write(v: View, r: Read): void {
    const b = this.plan.buffers[v.buf]!;
    if (b.rows === "none") torchFail(`forward writes weight buffer ${b.name}`);
    if (b.rows === "carry" && (v.shift === 0 || !this.loop)) torchFail(`forward writes state ${b.name} outside a step's next block`);
    const expr = r.rows ? r.expr : this.expand(r.expr, v.width);
    const scope = this.loop ?? this.outer;
    const k = this.key(v.buf, v.shift);
    const kept: Seg[] = [];
    for (const s of scope.get(k) ?? []) {
      // Keep the parts of earlier segments outside the written columns.
      if (s.col < v.col) kept.push({ ...s, width: Math.min(s.width, v.col - s.col), expr: this.cols(s.expr, 0, Math.min(s.width, v.col - s.col), s.width) });
      const end = s.col + s.width;
      if (end > v.col + v.width) {
        const from = Math.max(s.col, v.col + v.width);
        kept.push({ col: from, width: end - from, expr: this.cols(s.expr, from - s.col, end - from, s.width), rows: s.rows });
      }
    }
    kept.push({ col: v.col, width: v.width, expr, rows: true });
    scope.set(k, kept);
  }

  /** Binds an expression to a new variable named after the buffer it is stored in (when it fills it). */
  private assign(dst: View, expr: string): string {
    const whole = dst.col === 0 && dst.width === this.plan.buffers[dst.buf]!.width;
    const v = whole ? this.bufVar(dst.buf) : this.fresh();
    this.emit(`${v} = ${expr}`);
    return v;
  }

  /** The weight matrix of a GEMM as a [rows, cols] tensor. */
  private weight(buf: number, rows: number, cols: number): string {
    const b = this.plan.buffers[buf]!;
    const pack = this.packs.get(buf);
    if (pack) return pack.shape[0] === rows && pack.shape[1] === cols ? pack.name : `${pack.name}.reshape(${rows}, ${cols})`;
    const attr = this.c.attr.get(buf);
    if (attr === undefined) torchFail(`GEMM weight ${b.name} is neither a parameter nor a pack`);
    const p = this.plan.meta.params.find((m) => m.name === this.plan.weights.params.find((q) => q.buf === buf)!.name)!;
    return p.shape.length === 2 && p.shape[0] === rows && p.shape[1] === cols ? `self.${attr}` : `self.${attr}.reshape(${rows}, ${cols})`;
  }

  /** Packs the forward's GEMMs read: the parts' parameters concatenated, once per call. */
  printPacks(): void {
    const used = new Set<number>();
    for (const s of this.plan.forward.stages) for (const op of s.ops) if (op.op === "gemm" && !("col" in op.w)) used.add(op.w.buf);
    for (const pk of this.plan.weights.packs) {
      if (!used.has(pk.buf)) continue;
      const parts = pk.parts.map((q) => {
        const p = this.plan.meta.params.find((m) => m.name === this.plan.weights.params.find((w) => w.buf === q.param)!.name)!;
        return { attr: this.c.attr.get(q.param)!, shape: p.shape };
      });
      const name = this.bufVar(pk.buf);
      const cols = parts[0]!.shape[1];
      if (cols !== undefined && parts.every((p) => p.shape.length === 2 && p.shape[1] === cols)) {
        // Matrices stacked by rows, as the plan lays the pack out.
        this.emit(`${name} = torch.cat([${parts.map((p) => `self.${p.attr}`).join(", ")}], 0)`);
        this.packs.set(pk.buf, { name, shape: [parts.reduce((a, p) => a + p.shape[0]!, 0), cols] });
      } else {
        this.emit(`${name} = torch.cat([${parts.map((p) => `self.${p.attr}.reshape(-1)`).join(", ")}], 0)`);
        this.packs.set(pk.buf, { name, shape: [1, pk.size] });
      }
    }
  }

  private op(op: PlanOp): void {
    switch (op.op) {
      case "gemm": {
        if (op.form === "dw" || !("col" in op.c)) torchFail("a weight-gradient GEMM in the forward entry");
        const a = this.read(op.a);
        const w = this.weight(op.w.buf, op.form === "xwT" ? op.n : op.k, op.form === "xwT" ? op.k : op.n);
        let expr = op.form === "xwT" ? `torch.nn.functional.linear(${a.expr}, ${w})` : `torch.matmul(${a.expr}, ${w})`;
        if (op.accumulate) expr = `${this.read(op.c).expr} + ${expr}`;
        this.write(op.c, { expr: this.assign(op.c, expr), rows: a.rows });
        return;
      }
      case "map":
        this.map(op);
        return;
      case "copy":
        this.write(op.dst, this.read(op.src));
        return;
      case "fill":
        this.write(op.dst, { expr: this.assign(op.dst, `torch.full([${this.rowDims()}, ${op.dst.width}], ${pyNum(op.value)}, dtype=dtype, device=device)`), rows: true });
        return;
      case "rowsum": {
        const s = this.read(op.src);
        this.write(op.dst, { expr: this.assign(op.dst, `${isIdent(s.expr) ? s.expr : `(${s.expr})`}.sum(-1, keepdim=True)`), rows: s.rows });
        return;
      }
      case "colsum":
        torchFail("a column sum (a parameter gradient) in the forward entry");
      case "rowmax": {
        const s = this.read(op.src);
        this.write(op.dst, { expr: this.assign(op.dst, `torch.amax(${s.expr}, -1, keepdim=True)`), rows: s.rows });
        return;
      }
      case "rowscan": {
        const s = this.read(op.src);
        const expr = op.reverse ? `torch.flip(torch.cumsum(torch.flip(${s.expr}, [-1]), -1), [-1])` : `torch.cumsum(${s.expr}, -1)`;
        this.write(op.dst, { expr: this.assign(op.dst, expr), rows: s.rows });
        return;
      }
      case "bmm": {
        const a = this.read(op.a);
        const b = this.read(op.b);
        const A = this.matrix(a, op.ta ? [op.k, op.m] : [op.m, op.k], op.ta);
        const B = this.matrix(b, op.tb ? [op.n, op.k] : [op.k, op.n], op.tb);
        const rows = a.rows || b.rows;
        this.write(op.c, { expr: this.assign(op.c, `torch.matmul(${A}, ${B}).reshape(${rows ? `${this.rowDims()}, ` : ""}${op.m * op.n})`), rows });
        return;
      }
      case "transpose": {
        const s = this.read(op.src);
        const t = this.matrix(s, [op.m, op.n], true);
        this.write(op.dst, { expr: this.assign(op.dst, `${t}.reshape(${s.rows ? `${this.rowDims()}, ` : ""}${op.m * op.n})`), rows: s.rows });
        return;
      }
    }
  }

  /** A value of m·n columns per row as [..rows, m, n] (a row-less one as [m, n]), transposed on
   *  its last two axes when asked: the per-row matrices of bmm and transpose. */
  private matrix(r: Read, [m, n]: [number, number], transposed: boolean): string {
    const x = `${isIdent(r.expr) ? r.expr : `(${r.expr})`}.reshape(${r.rows ? `${this.rowDims()}, ` : ""}${m}, ${n})`;
    return transposed ? `${x}.transpose(-1, -2)` : x;
  }

  private map(op: Extract<PlanOp, { op: "map" }>): void {
    const names: string[] = [];
    const rows: boolean[] = [];
    op.terms.forEach((t, i) => {
      if (t.kind === "load") {
        const r = this.read(t.view);
        this.emit(`${t.name} = ${r.expr}`);
        names.push(t.name);
        rows.push(r.rows);
        return;
      }
      const prim = elementwise(t.fn);
      if (!prim) torchFail(`no primitive ${t.fn}`);
      if (typeof prim.torch !== "function") {
        throw new Error(`torch backend: primitive "${t.fn}" has no PyTorch formula (add a torch field to its entry in compiler/primitives/elementwise.ts)`);
      }
      if (t.args.every((a) => "c" in a)) torchFail(`${t.fn} of constants only (constant folding should have removed it)`);
      const args = t.args.map((a) => ("c" in a ? pyNum(a.c) : names[a.t]!));
      const hasRows = t.args.some((a) => "t" in a && rows[a.t]!);
      const stores = op.stores.filter((s) => s.term === i);
      // A stored value gets a variable of its own that is never reassigned; others keep the
      // plan's register name.
      const whole = stores.find((s) => s.view.col === 0 && s.view.width === this.plan.buffers[s.view.buf]!.width);
      const name = stores.length === 0 ? t.name : whole && hasRows ? this.bufVar(whole.view.buf) : this.fresh();
      this.emit(`${name} = ${prim.torch(args, t.attrs ?? {})}`);
      names.push(name);
      rows.push(hasRows);
      for (const s of stores) this.write(s.view, { expr: name, rows: hasRows });
    });
  }

  /** Seq buffers written in a loop whose every step is needed after it (outputs, later stages). */
  private collected(stage: Stage, later: readonly Stage[], outputs: ReadonlySet<number>): number[] {
    const written = new Set<number>();
    const read = new Set<number>();
    for (const op of stage.ops) for (const v of viewsWritten(op)) if (this.plan.buffers[v.buf]!.rows === "seq") written.add(v.buf);
    for (const s of later) for (const op of s.ops) for (const v of viewsRead(op)) read.add(v.buf);
    return [...written].filter((b) => outputs.has(b) || read.has(b));
  }

  /** Prints the forward stages; states are the carry buffers with their variables (set up by the caller). */
  stages(states: readonly { buf: number; name: string }[]): void {
    const stages = this.plan.forward.stages;
    const outputs = new Set(this.plan.forward.outputs.map((o) => o.buf));
    stages.forEach((stage, i) => {
      if (stage.ops.length === 0) return;
      this.emit(`# ${stage.title}`);
      if (stage.kind === "all") {
        for (const op of stage.ops) this.comment(op), this.op(op);
        return;
      }
      const keep = this.collected(stage, stages.slice(i + 1), outputs);
      const lists = keep.map((buf) => {
        const l = this.fresh();
        this.emit(`${l}: List[Tensor] = []`);
        return { buf, list: l };
      });
      this.emit(`for t in range(T):`);
      this.indent(1);
      this.loop = new Map();
      this.stepSlices = new Map();
      for (const op of stage.ops) this.comment(op), this.op(op);
      for (const l of lists) {
        const b = this.plan.buffers[l.buf]!;
        this.emit(`${l.list}.append(${this.read({ buf: l.buf, col: 0, width: b.width, shift: 0, value: -1 }).expr})`);
      }
      const next = states.map((s) => {
        const segs = this.loop!.get(this.key(s.buf, 1));
        if (!segs) torchFail(`state ${s.name} is not written by the step`);
        return this.pieces(segs, { buf: s.buf, col: 0, width: this.plan.buffers[s.buf]!.width, shift: 1, value: -1 }, `state ${s.name}`).expr;
      });
      // All states change at once: a new state may be another's old value (h' = c).
      if (states.length) this.emit(`${states.map((s) => s.name).join(", ")} = ${next.join(", ")}`);
      this.loop = null;
      this.indent(-1);
      for (const l of lists) {
        const v = this.bufVar(l.buf);
        this.emit(`${v} = torch.stack(${l.list})`);
        this.preset(l.buf, v);
      }
    });
  }

  private lastComment = "";
  private comment(op: PlanOp): void {
    const text = op.lines.join("\n");
    if (!text || text === this.lastComment) return;
    this.lastComment = text;
    for (const l of op.lines) this.emit(`# ${pyComment(l)}`);
  }

  /** The whole sequence an output buffer holds after the stages, [T, B, w]. */
  result(buf: number): string {
    const b = this.plan.buffers[buf]!;
    return this.read({ buf, col: 0, width: b.width, shift: 0, value: -1 }).expr;
  }
}

function partWidth(segs: readonly Seg[], v: View, index: number): number {
  let i = 0;
  for (let c = v.col; c < v.col + v.width; i++) {
    const s = segs.find((x) => x.col <= c && c < x.col + x.width)!;
    const n = Math.min(v.col + v.width, s.col + s.width) - c;
    if (i === index) return n;
    c += n;
  }
  return 0;
}


