// The ONNX printer of a plan's forward entry (ONNX serves inference). The model's graph:
//   inputs   each input sequence [T, B, n] (named as in the spec); with the options, `lengths`
//            int32 [B] (default on) and `initial_<state>` [B, n] (default off: states start at
//            zero). An empty `lengths` ([0]) means every sample runs all T steps, an empty initial
//            state ([0, n]) zeros, so a caller may leave them out by giving nothing.
//   outputs  `output_<name>` [T, B, n] per output, `final_<state>` [B, n] per state
// With `inputDefaults`, those empty tensors are also initializers of the inputs' names: the input
// then has a default (ONNX IR >= 4), which runtimes that honour defaults (onnxruntime's C, C++,
// Python APIs) let a caller omit. onnxruntime-node and -web do not: they list only inputs without
// a default and never feed the others, so the option is off unless asked for.
// It prints the value-level schedule's forward (compiler/schedule) in inference mode: recurrent-
// dropout masks are ones, and without lengths the selects on the active flags go too. The "all"
// stages run once over [T, B, ·] tensors in the main graph (the input-only work of every step: one
// MatMul over all T·B rows), and so do the rowless statements of the loop; the loop becomes a Scan
// whose state variables are the cell's states and whose scan inputs are the per-step slices of
// what the loop reads from the main graph (with lengths, the active flags t < length among them),
// so padded steps keep their state and output zeros exactly as the kernels do. Parameters are
// initializers named as in the spec.

import type { Tensors } from "../../abi/kernel.ts";
import { count, type Eqn, type Graph, type ValueId } from "../../compiler/ir.ts";
import type { Plan } from "../../compiler/plan/types.ts";
import { resolve, valueSchedule, type EntrySchedule, type ValueStage } from "../../compiler/schedule/schedule.ts";
import { DataType, floatTensor, int32Tensor, int64Tensor, valueInfo, type IGraphProto, type IModelProto, type ITensorProto, type IValueInfoProto } from "../../formats/onnx/schema.ts";
import { Constants, Names, OnnxExportError, OnnxGraph } from "./graph.ts";
import { onnxEscaper } from "./escape.ts";
import { printEqn, withRows, type Bound, type OpsEnv, type Rows, type Scope } from "./ops.ts";

export const ONNX_OPSET = 17;

export interface OnnxEmitOptions {
  /** Parameter values by name in the kernel's layout; zeros where absent. */
  params?: Partial<Tensors>;
  /** Model producer written in the file (default "cellc"). */
  producer?: string;
  /** Where the spec came from (its file name, as it is), for the model's doc string. */
  origin?: string;
  /** Take per-sample lengths, int32 [B] (default true); an empty one ([0]) means all T steps. */
  lengths?: boolean;
  /** Take each state's initial value, [B, n] (default false: zeros); an empty one ([0, n]) means zeros. */
  initialStates?: boolean;
  /** Give `lengths` and the initial states those empty tensors as defaults (initializers of the
   *  same names), so runtimes that honour input defaults may omit them (default false; see above). */
  inputDefaults?: boolean;
}

export { cellOnnxNames as onnxNames } from "../../formats/onnx/cell-names.ts";

class Printer implements OpsEnv {
  readonly names = new Names();
  readonly consts = new Constants(this.names);
  readonly bools = new Set<string>();
  readonly main = new OnnxGraph(this.names, this.consts, this.bools);
  readonly graph: Graph;
  private readonly entry: EntrySchedule;
  /** What each value is in the main graph. */
  private readonly bound = new Map<ValueId, Bound>();
  readonly inits: ITensorProto[] = [];
  readonly inputs: IValueInfoProto[] = [];
  readonly outputs: IValueInfoProto[] = [];
  private readonly shapes = new Map<string, string>();
  private readonly weights = new Map<string, string>();
  private T1 = "";
  private B1 = "";
  /** The active flags [T, B, 1] (made on demand without lengths: a Scan counts its steps by them). */
  private active = "";

  constructor(
    readonly plan: Plan,
    private readonly o: OnnxEmitOptions,
  ) {
    const s = valueSchedule(plan);
    this.entry = (o.lengths ?? true) ? s.lengthsOnly : s.inference;
    this.graph = this.entry.graph;
  }

  shapeOf(rows: Rows, width: number): string {
    const key = `${rows}:${width}`;
    let s = this.shapes.get(key);
    if (!s) {
      const w = this.consts.ints([width]);
      s = rows === "none" ? w : this.main.node("Concat", rows === "seq" ? [this.T1, this.B1, w] : [this.B1, w], { axis: 0 })[0]!;
      this.shapes.set(key, s);
    }
    return s;
  }

  weight(v: ValueId, transposed: boolean): string {
    const key = `${v}:${transposed}`;
    let w = this.weights.get(key);
    if (w) return w;
    const g = this.main;
    const shape = this.graph.values[v]!.shape;
    if (shape.length !== 2) throw new OnnxExportError(`onnx: the product's weight ${this.graph.values[v]!.name} is not a matrix`);
    const b = this.readMain(v);
    if (b.rows !== "none") throw new OnnxExportError(`onnx: the product's weight ${this.graph.values[v]!.name} differs from row to row`);
    const matrix = this.paramNames.has(b.name) ? b.name : g.op("Reshape", [b.name, this.consts.ints(shape)]);
    w = transposed ? g.node("Transpose", [matrix], { perm: { ints: [1, 0] } })[0]! : matrix;
    this.weights.set(key, w);
    return w;
  }

  /** Parameter initializers as they are ([m, n] for a matrix). */
  private readonly paramNames = new Set<string>();
  private readonly flat = new Map<ValueId, string>();

  /** A value of the main graph, flat on its last axis (a matrix parameter as its m·n numbers). */
  private readMain(v: ValueId): Bound {
    const c = this.entry.constants?.get(v);
    if (c !== undefined) return { name: this.consts.float(c), rows: "none" };
    const b = this.bound.get(v);
    if (b) return b;
    if (v === this.graph.active) return { name: this.activeFlags(), rows: "seq" };
    const pack = this.graph.packs.find((p) => p.value === v);
    if (pack) {
      // A pack is its parts stacked by rows: their numbers one after the other.
      const parts = pack.parts.map((q) => this.flatParam(q));
      const made: Bound = { name: this.main.node("Concat", parts, { axis: 0 })[0]!, rows: "none" };
      this.bound.set(v, made);
      return made;
    }
    throw new OnnxExportError(`onnx: ${this.graph.values[v]!.name} is read before it is computed`);
  }

  private flatParam(v: ValueId): string {
    const b = this.bound.get(v)!;
    if (this.graph.values[v]!.shape.length < 2) return b.name;
    let f = this.flat.get(v);
    if (!f) this.flat.set(v, (f = this.main.op("Reshape", [b.name, this.consts.ints([-1])])));
    return f;
  }

  private mainScope(): Scope {
    const sc: Scope = {
      g: this.main,
      read: (v): Bound => {
        const s = this.readSliced(sc, v);
        if (s) return s;
        const b = this.readMain(v);
        return this.paramNames.has(b.name) ? { name: this.flatParam(v), rows: "none" } : b;
      },
    };
    return sc;
  }

  private graphInput(name: string, dims: (string | number)[], elem: number = DataType.FLOAT): string {
    this.names.reserve(name);
    this.inputs.push(valueInfo(name, dims, elem));
    return name;
  }

  /** An input [B, ...rest] that may be given empty ([0, ...rest]), then standing for `fallback`
   *  [B, ...rest]; with inputDefaults the empty tensor is its default. A given tensor whose
   *  first axis is not a multiple of B fails in the Reshape (ONNX has no assertion to refuse
   *  2B, 3B, ..., of which the first B are read). */
  private emptyMeans(name: string, rest: number[], elem: number, fallback: (given: string) => string): string {
    const g = this.main;
    const input = this.graphInput(name, ["B", ...rest], elem);
    if (this.o.inputDefaults) {
      const dims = [0, ...rest];
      this.inits.push(elem === DataType.INT32 ? int32Tensor(name, dims, []) : floatTensor(name, dims, []));
    }
    const given = elem === DataType.INT32 ? g.node("Cast", [input], { to: DataType.INT64 })[0]! : input;
    // [given; fallback] is [(0 or B) + B, ...rest]; as [-1, B, ...rest] its first block is the answer.
    const both = g.node("Concat", [given, fallback(given)], { axis: 0 })[0]!;
    const blocks = g.op("Reshape", [both, g.node("Concat", [this.consts.ints([-1]), this.B1, ...(rest.length ? [this.consts.ints(rest)] : [])], { axis: 0 })[0]!]);
    return g.node("Gather", [blocks, this.zeroIndex()], { axis: 0 })[0]!;
  }

  private zero64 = "";
  /** The int64 scalar 0. */
  private zeroIndex(): string {
    if (!this.zero64) {
      this.zero64 = this.names.get("zero_i64");
      this.inits.push(int64Tensor(this.zero64, [], [0]));
    }
    return this.zero64;
  }

  private params(): void {
    const meta = this.plan.meta;
    for (const p of this.graph.params) {
      const m = meta.params.find((q) => q.name === p.name)!;
      const given = this.o.params?.[p.name];
      if (given && given.length !== m.size) throw new OnnxExportError(`parameter '${p.name}' has ${given.length} values; ${meta.name} needs ${m.size} ([${m.shape.join(", ")}])`);
      const name = this.names.get(p.name);
      this.inits.push(floatTensor(name, m.shape, given ?? new Float32Array(m.size)));
      this.bound.set(p.value, { name, rows: "none" });
      if (m.shape.length >= 2) this.paramNames.add(name);
    }
  }

  /** Graph inputs, the sizes T and B, and (with lengths) the active flags [T, B, 1]. */
  private sequences(): void {
    const g = this.main;
    const gr = this.graph;
    for (const inp of gr.inputs) this.bound.set(inp.value, { name: this.graphInput(inp.name, ["T", "B", count(gr.values[inp.value]!.shape)]), rows: "seq" });
    if (gr.inputs.length > 0) {
      const shape = g.op("Shape", [gr.inputs[0]!.name]);
      this.T1 = g.op("Slice", [shape, this.consts.ints([0]), this.consts.ints([1])]);
      this.B1 = g.op("Slice", [shape, this.consts.ints([1]), this.consts.ints([2])]);
    } else {
      // A cell without inputs runs for as many steps, over as many samples, as it is told.
      this.T1 = this.graphInput("time_steps", [1], DataType.INT64);
      this.B1 = this.graphInput("batch_size", [1], DataType.INT64);
    }
    // Recurrent-dropout masks are ones at inference (read only where the schedule kept them).
    for (const st of gr.states) this.bound.set(st.mask, { name: this.consts.float(1), rows: "none" });
    if (this.o.lengths ?? true) {
      const zero = this.zeroIndex();
      const one = this.names.get("one_i64");
      this.inits.push(int64Tensor(one, [], [1]));
      const T = g.op("Squeeze", [this.T1, this.consts.ints([0])]);
      // Without lengths, every sample is T steps long.
      const lengths = this.emptyMeans("lengths", [], DataType.INT32, () => g.op("Expand", [T, this.B1]));
      const steps = g.op("Unsqueeze", [g.op("Range", [zero, T, one]), this.consts.ints([1, 2])]);
      const len = g.op("Reshape", [lengths, this.consts.ints([1, -1, 1])]);
      this.active = g.op("Expand", [g.op("Less", [steps, len]), this.shapeOf("seq", 1)]);
      this.bools.add(this.active);
      this.bound.set(gr.active, { name: this.active, rows: "seq" });
    }
  }

  /** The active flags; without lengths every step is active (read only by an entry the schedule
   *  could not unmask, or to count a Scan's steps). */
  private activeFlags(): string {
    if (!this.active) {
      // Every step is active: the entry's selects keep their first choice.
      const yes = this.names.get("true");
      this.inits.push({ name: yes, dims: [], dataType: DataType.BOOL, int32Data: [1] });
      this.bools.add(yes);
      this.active = this.main.op("Expand", [yes, this.shapeOf("seq", 1)]);
      this.bools.add(this.active);
    }
    return this.active;
  }

  /** Each state's value entering step 0: the optional input, zeros by default, as [B, n]. */
  private initialStates(): string[] {
    return this.graph.states.map((s) => {
      const n = count(this.graph.values[s.prev]!.shape);
      const zeros = () => this.main.op("Expand", [this.consts.float(0), this.shapeOf("batch", n)]);
      return this.o.initialStates ? this.emptyMeans(`initial_${s.name}`, [n], DataType.FLOAT, zeros) : zeros();
    });
  }

  print(): IModelProto {
    const plan = this.plan;
    const gr = this.graph;
    this.params();
    this.sequences();
    const initial = this.initialStates();
    const outputNames = gr.outputs.map((o) => this.names.reserve(`output_${o.name}`));
    const finalNames = gr.states.map((s) => this.names.reserve(`final_${s.name}`));
    const stages = this.entry.stages;
    const loops = stages.filter((s) => s.kind === "loop");
    const at = stages.findIndex((s) => s.kind === "loop");
    if (loops.length > 1 || (at >= 0 && stages.slice(at + 1).some((s) => s.blocks.length > 0))) {
      throw new OnnxExportError("onnx: a forward schedule with stages after its loop");
    }
    const main = this.mainScope();
    for (const st of stages) {
      if (st.kind === "all") for (const b of st.blocks) for (const s of b.kind === "fused" ? b.stmts : [b.stmt]) this.define(main, s.eqn);
      // A loop's rowless statements run once, before it.
      else for (const s of st.before) this.define(main, s.eqn);
    }
    const loop = loops[0];
    const fromLoop = loop ? this.scan(loop, initial, outputNames, finalNames) : new Set<number>();
    if (!loop) gr.states.forEach((s, i) => this.main.node("Identity", [initial[i]!], {}, [finalNames[i]!]));
    gr.outputs.forEach((o, i) => {
      if (fromLoop.has(i)) return;
      const b = main.read(resolve(this.entry, o.value));
      this.main.node("Identity", [withRows(this, this.main, b, "seq", count(gr.values[o.value]!.shape))], {}, [outputNames[i]!]);
    });
    gr.outputs.forEach((o, i) => this.outputs.push(valueInfo(outputNames[i]!, ["T", "B", count(gr.values[o.value]!.shape)])));
    gr.states.forEach((s, i) => this.outputs.push(valueInfo(finalNames[i]!, ["B", count(gr.values[s.prev]!.shape)])));

    const esc = onnxEscaper;
    const dims = Object.entries(plan.meta.dims).map(([k, v]) => `${k}=${v}`).join(", ");
    const about = `${plan.meta.kind} ${plan.meta.name} with ${dims || "no sizes"}`;
    const graph: IGraphProto = {
      name: esc.string(plan.meta.name),
      docString: esc.comment(about),
      node: this.main.nodes,
      initializer: [...this.inits, ...this.consts.initializers],
      input: this.inputs,
      output: this.outputs,
    };
    return {
      irVersion: 8,
      producerName: esc.string(this.o.producer ?? "cellc"),
      ...(this.o.origin === undefined ? {} : { docString: esc.comment(`Generated by cellc from ${this.o.origin}: ${about}.`) }),
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      graph,
      metadataProps: [
        { key: "cellc.backend", value: "onnx" },
        { key: "cellc.meta", value: JSON.stringify({ ...plan.meta, backend: "onnx" }) },
      ],
    };
  }

  /** Column slices of main-graph tensors over all steps, taken where they are read: the loop
   *  then takes one scan input (the whole tensor) and slices each step's block of it. */
  private readonly sliced = new Map<ValueId, { src: ValueId; lo: number; width: number; full: number }>();

  private define(sc: Scope, e: Eqn): void {
    if (!("out" in e)) throw new OnnxExportError("onnx: a parameter-gradient sum in a forward entry");
    if (e.op === "slice" && "v" in e.args[0] && sc.read(e.args[0].v).rows === "seq") {
      const src = e.args[0].v;
      const gr = this.graph;
      this.sliced.set(e.out, { src, lo: e.lo, width: count(gr.values[e.out]!.shape), full: count(gr.values[src]!.shape) });
      return;
    }
    this.bound.set(e.out, this.named(sc, e));
  }

  /** One equation's nodes, the one making its value named after the spec value (escaped in Names). */
  private named(sc: Scope, e: Eqn & { out: ValueId }): Bound {
    const from = sc.g.nodes.length;
    const b = printEqn(this, sc, e);
    sc.g.label(b.name, this.graph.values[e.out]!.name, from);
    return b;
  }

  /** A slice taken where it is read (see `sliced`), in the scope reading it. */
  private readSliced(sc: Scope, v: ValueId): Bound | undefined {
    const s = this.sliced.get(v);
    if (!s) return undefined;
    const b = sc.read(s.src);
    return { name: sc.g.slice(b.name, s.lo, s.width, s.full), rows: b.rows };
  }

  /** The loop as a Scan: states are its state variables, the per-step slices of what the loop
   *  reads from the main graph its scan inputs, the outputs it makes its scan outputs. Returns
   *  the outputs (by index) the Scan yields; prints nothing when it would yield nothing (ONNX
   *  refuses a Scan without outputs). */
  private scan(loop: ValueStage, initial: string[], outputNames: string[], finalNames: string[]): Set<number> {
    const gr = this.graph;
    const body = new OnnxGraph(this.names, this.consts, this.bools);
    const own = new Map<ValueId, Bound>();
    const bodyInputs: IValueInfoProto[] = [];
    const outer: string[] = [];
    const innerOf = new Map<string, string>();
    /** A main-graph tensor over all steps, seen in the body as its slice at the step. */
    const slice = (name: string): string => {
      let inner = innerOf.get(name);
      if (!inner) {
        inner = this.names.get(`${name}_t`);
        innerOf.set(name, inner);
        outer.push(name);
        const bool = this.bools.has(name);
        if (bool) this.bools.add(inner);
        bodyInputs.push(valueInfo(inner, undefined, bool ? DataType.BOOL : DataType.FLOAT));
      }
      return inner;
    };
    for (const s of gr.states) {
      const name = this.names.get(`${s.name}_prev`);
      bodyInputs.push(valueInfo(name, undefined));
      own.set(s.prev, { name, rows: "batch" });
    }
    const main = this.mainScope();
    const sc: Scope = {
      g: body,
      read: (v) => {
        const b = own.get(v);
        if (b) return b;
        const s = this.readSliced(sc, v);
        if (s) return s;
        const m = main.read(v);
        // Rowless tensors are read from the main graph (the body's outer scope).
        return m.rows === "seq" ? { name: slice(m.name), rows: "batch" } : m;
      },
    };
    for (const b of loop.blocks) {
      for (const s of b.kind === "fused" ? b.stmts : [b.stmt]) {
        const e = s.eqn;
        if (!("out" in e)) throw new OnnxExportError("onnx: a parameter-gradient sum in a forward entry");
        own.set(e.out, this.named(sc, e));
      }
    }
    const width = (v: ValueId) => count(gr.values[v]!.shape);
    // Body outputs: each a tensor the body makes, used once.
    const made = new Set(body.nodes.flatMap((n) => n.output ?? []));
    const used = new Set<string>();
    const result = (name: string, hint: string): string => {
      if (made.has(name) && !used.has(name)) {
        used.add(name);
        return name;
      }
      const id = body.node("Identity", [name], {}, [this.names.get(hint)])[0]!;
      used.add(id);
      return id;
    };
    const bodyOutputs: IValueInfoProto[] = [];
    gr.states.forEach((s) => {
      const next = withRows(this, body, sc.read(resolve(this.entry, s.next)), "batch", width(s.next));
      bodyOutputs.push(valueInfo(result(next, `${s.name}_next`), undefined));
    });
    const fromLoop = new Set<number>();
    const scanOut: string[] = [];
    gr.outputs.forEach((o, i) => {
      const r = resolve(this.entry, o.value);
      if (!own.has(r)) return;
      fromLoop.add(i);
      bodyOutputs.push(valueInfo(result(withRows(this, body, own.get(r)!, "batch", width(o.value)), `${o.name}_step`), undefined));
      scanOut.push(outputNames[i]!);
    });
    if (gr.states.length === 0 && fromLoop.size === 0) return fromLoop;
    if (outer.length === 0) {
      // A Scan needs a scan input to count its steps: the active flags, even when nothing reads them.
      slice(this.activeFlags());
    }
    const graph: IGraphProto = { name: `${this.plan.meta.name}_step`, node: body.nodes, input: bodyInputs, output: bodyOutputs };
    this.main.node("Scan", [...initial, ...outer], { body: { graph }, num_scan_inputs: outer.length }, [...finalNames, ...scanOut]);
    return fromLoop;
  }
}

/** The ONNX model of a plan's forward entry. */
export function onnxModel(plan: Plan, options: OnnxEmitOptions = {}): IModelProto {
  return new Printer(plan, options).print();
}
