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
// The plan's "all" stages run once over [T, B, ·] tensors in the main graph (the input-only work of
// every step: one MatMul over all T·B rows); its loop becomes a Scan whose state variables are the
// cell's states and whose scan inputs are the per-step slices of what the loop reads from those
// stages and the per-step active flags (t < length), so padded steps keep their state and output
// zeros exactly as the kernels do. Parameters are initializers named as in the spec.

import type { Tensors } from "../../abi/kernel.ts";
import type { Plan, Stage } from "../../compiler/plan/types.ts";
import { DataType, floatTensor, int32Tensor, int64Tensor, valueInfo, type IGraphProto, type IModelProto, type ITensorProto, type IValueInfoProto } from "../../formats/onnx/schema.ts";
import { bufKey, Contents } from "./contents.ts";
import { Constants, Names, OnnxExportError, OnnxGraph } from "./graph.ts";
import { viewsRead, viewsWritten } from "../../compiler/plan/views.ts";
import { onnxEscaper } from "./escape.ts";
import { printOp, readView, type OpsEnv, type StageContext } from "./ops.ts";

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
  readonly mc: Contents;
  readonly rowless = new Set<string>();
  readonly narrow = new Set<string>();
  readonly alwaysTrue = new Set<string>();
  readonly inits: ITensorProto[] = [];
  readonly inputs: IValueInfoProto[] = [];
  readonly outputs: IValueInfoProto[] = [];
  private readonly shapes = new Map<string, string>();
  private readonly weights = new Map<string, string>();
  private readonly paramOf = new Map<number, { name: string; shape: readonly number[] }>();
  private T1 = "";
  /** The constant true (no lengths). */
  private yes = "";
  private B1 = "";

  constructor(
    readonly plan: Plan,
    private readonly o: OnnxEmitOptions,
  ) {
    // A matrix parameter read by a map (rare) is read as its flattened rows.
    this.mc = new Contents((key, col, width) => {
      const buf = Number(key.split(":")[0]);
      const p = this.paramOf.get(buf);
      if (!p || p.shape.length < 2) return undefined;
      const flat = this.main.op("Reshape", [p.name, this.consts.ints([-1])]);
      this.mc.write(bufKey(buf), 0, this.plan.buffers[buf]!.width, flat);
      return this.mc.read(this.main, key, col, width, this.plan.buffers[buf]!.name);
    });
  }

  rowShape(kind: "all" | "loop", width: number): string {
    const key = `${kind}:${width}`;
    let s = this.shapes.get(key);
    if (!s) {
      const parts = kind === "all" ? [this.T1, this.B1, this.consts.ints([width])] : [this.B1, this.consts.ints([width])];
      s = this.main.node("Concat", parts, { axis: 0 })[0]!;
      this.shapes.set(key, s);
    }
    return s;
  }

  weight(buf: number, form: "xwT" | "xw", n: number, k: number): string {
    const key = `${buf}:${form}`;
    let w = this.weights.get(key);
    if (w) return w;
    const g = this.main;
    const p = this.paramOf.get(buf);
    let matrix: string;
    if (p) matrix = p.shape.length === 2 ? p.name : g.op("Reshape", [p.name, this.consts.ints(form === "xwT" ? [n, k] : [k, n])]);
    else {
      const pack = this.plan.weights.packs.find((q) => q.buf === buf);
      if (!pack) throw new OnnxExportError(`onnx: the product's weight ${this.plan.buffers[buf]!.name} is neither a parameter nor a pack`);
      const flat = pack.parts.map((part) => g.op("Reshape", [this.paramOf.get(part.param)!.name, this.consts.ints([-1])]));
      matrix = g.op("Reshape", [g.node("Concat", flat, { axis: 0 })[0]!, this.consts.ints(form === "xwT" ? [n, k] : [k, n])]);
    }
    // xwT multiplies by W [N, K] transposed; xw by W [K, N] as it is.
    w = form === "xwT" ? g.node("Transpose", [matrix], { perm: { ints: [1, 0] } })[0]! : matrix;
    this.weights.set(key, w);
    return w;
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
    for (const p of this.plan.weights.params) {
      const m = meta.params.find((q) => q.name === p.name)!;
      const given = this.o.params?.[p.name];
      if (given && given.length !== m.size) throw new OnnxExportError(`parameter '${p.name}' has ${given.length} values; ${meta.name} needs ${m.size} ([${m.shape.join(", ")}])`);
      const name = this.names.get(p.name);
      this.inits.push(floatTensor(name, m.shape, given ?? new Float32Array(m.size)));
      this.paramOf.set(p.buf, { name, shape: m.shape });
      if (m.shape.length < 2) this.mc.write(bufKey(p.buf), 0, m.size, name);
    }
  }

  /** Graph inputs, the sizes T and B, and the active flags [T, B, 1]. */
  private sequences(): void {
    const g = this.main;
    const f = this.plan.forward;
    const meta = this.plan.meta;
    for (const inp of f.inputs) {
      const size = meta.inputs.find((v) => v.name === inp.name)!.size;
      this.mc.write(bufKey(inp.buf), 0, size, this.graphInput(inp.name, ["T", "B", size]));
    }
    if (f.inputs.length > 0) {
      const shape = g.op("Shape", [f.inputs[0]!.name]);
      this.T1 = g.op("Slice", [shape, this.consts.ints([0]), this.consts.ints([1])]);
      this.B1 = g.op("Slice", [shape, this.consts.ints([1]), this.consts.ints([2])]);
    } else {
      // A cell without inputs runs for as many steps, over as many samples, as it is told.
      this.T1 = this.graphInput("time_steps", [1], DataType.INT64);
      this.B1 = this.graphInput("batch_size", [1], DataType.INT64);
    }
    let active: string;
    if (this.o.lengths ?? true) {
      const zero = this.zeroIndex();
      const one = this.names.get("one_i64");
      this.inits.push(int64Tensor(one, [], [1]));
      const T = g.op("Squeeze", [this.T1, this.consts.ints([0])]);
      // Without lengths, every sample is T steps long.
      const lengths = this.emptyMeans("lengths", [], DataType.INT32, () => g.op("Expand", [T, this.B1]));
      const steps = g.op("Unsqueeze", [g.op("Range", [zero, T, one]), this.consts.ints([1, 2])]);
      const len = g.op("Reshape", [lengths, this.consts.ints([1, -1, 1])]);
      active = g.op("Expand", [g.op("Less", [steps, len]), this.rowShape("all", 1)]);
    } else {
      // Every step is active: selects keep their first choice (see ops.ts).
      const yes = (this.yes = this.names.get("true"));
      this.inits.push({ name: yes, dims: [], dataType: DataType.BOOL, int32Data: [1] });
      active = g.op("Expand", [yes, this.rowShape("all", 1)]);
      this.alwaysTrue.add(active).add(yes);
      this.rowless.add(yes);
      this.bools.add(yes);
    }
    this.bools.add(active);
    this.mc.write(bufKey(f.active), 0, 1, active);
  }

  /** Each state's value entering step 0: the optional input, zeros by default, as [B, n]. */
  private initialStates(): string[] {
    return this.plan.forward.states.map((s) => {
      const n = this.plan.buffers[s.buf]!.width;
      const zeros = () => this.main.op("Expand", [this.consts.float(0), this.rowShape("loop", n)]);
      const v = this.o.initialStates ? this.emptyMeans(`initial_${s.name}`, [n], DataType.FLOAT, zeros) : zeros();
      this.mc.write(bufKey(s.buf), 0, n, v);
      return v;
    });
  }

  print(): IModelProto {
    const plan = this.plan;
    const f = plan.forward;
    this.params();
    this.sequences();
    const initial = this.initialStates();
    const outputNames = f.outputs.map((o) => this.names.reserve(`output_${o.name}`));
    const finalNames = f.states.map((s) => this.names.reserve(`final_${s.name}`));
    const loops = f.stages.filter((s) => s.kind === "loop");
    if (loops.length > 1 || f.stages.findIndex((s) => s.kind === "loop") < f.stages.length - 1) {
      throw new OnnxExportError("onnx: a forward plan with stages after its loop");
    }
    const all: StageContext = { g: this.main, c: this.mc, kind: "all" };
    for (const st of f.stages) if (st.kind === "all") for (const op of st.ops) printOp(this, all, op);

    const loop = loops[0];
    const fromLoop = new Set<number>();
    if (loop) for (const op of loop.ops) for (const v of viewsWritten(op)) fromLoop.add(v.buf);
    // A cell with no state whose outputs the "all" stages already made needs no Scan at all
    // (ONNX refuses a Scan that yields nothing).
    const scanNeeded = f.states.length > 0 || f.outputs.some((o) => fromLoop.has(o.buf));
    if (loop && scanNeeded) {
      this.scan(loop, initial, outputNames, finalNames, fromLoop);
    } else {
      f.states.forEach((s, i) => this.main.node("Identity", [initial[i]!], {}, [finalNames[i]!]));
    }
    f.outputs.forEach((o, i) => {
      if (fromLoop.has(o.buf)) return;
      const w = plan.buffers[o.buf]!.width;
      this.main.node("Identity", [readView(this, all, { buf: o.buf, col: 0, width: w, shift: 0, value: -1 })], {}, [outputNames[i]!]);
    });
    f.outputs.forEach((o, i) => this.outputs.push(valueInfo(outputNames[i]!, ["T", "B", plan.buffers[o.buf]!.width])));
    f.states.forEach((s, i) => this.outputs.push(valueInfo(finalNames[i]!, ["B", plan.buffers[s.buf]!.width])));

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

  /** The loop as a Scan: states are its state variables, what the loop reads from the "all"
   *  stages (and the active flags) its scan inputs, the loop's outputs its scan outputs. */
  private scan(loop: Stage, initial: string[], outputNames: string[], finalNames: string[], fromLoop: Set<number>): void {
    const plan = this.plan;
    const f = plan.forward;
    const body = new OnnxGraph(this.names, this.consts, this.bools);
    // Parameters (and their slices) are the main graph's, read from the body's outer scope.
    const bc = new Contents((key, col, width) => {
      const b = plan.buffers[Number(key.split(":")[0])]!;
      return b.rows === "none" ? this.mc.read(this.main, key, col, width, b.name) : undefined;
    });
    const read = new Set<number>();
    for (const op of loop.ops) for (const v of viewsRead(op)) read.add(v.buf);
    const active = this.mc.segments(bufKey(f.active))[0]!.name;
    if (this.alwaysTrue.has(active)) {
      read.delete(f.active);
      bc.write(bufKey(f.active), 0, 1, this.yes);
    }
    const outputBufs = new Set(f.outputs.map((o) => o.buf));

    const bodyInputs: IValueInfoProto[] = [];
    const stateIn = f.states.map((s) => {
      const name = this.names.get(`${s.name}_prev`);
      bodyInputs.push(valueInfo(name, undefined));
      bc.write(bufKey(s.buf), 0, plan.buffers[s.buf]!.width, name);
      return name;
    });
    const outer: string[] = [];
    const innerOf = new Map<string, string>();
    plan.buffers.forEach((b) => {
      if (b.rows !== "seq" || !(read.has(b.id) || (outputBufs.has(b.id) && fromLoop.has(b.id)))) return;
      for (const s of this.mc.segments(bufKey(b.id))) {
        let inner = innerOf.get(s.name);
        if (!inner) {
          inner = this.names.get(`${s.name}_t`);
          innerOf.set(s.name, inner);
          outer.push(s.name);
          const bool = this.bools.has(s.name);
          if (bool) this.bools.add(inner);
          if (this.alwaysTrue.has(s.name)) this.alwaysTrue.add(inner);
          bodyInputs.push(valueInfo(inner, undefined, bool ? DataType.BOOL : DataType.FLOAT));
        }
        bc.write(bufKey(b.id), s.col, s.width, inner, s.at, s.full);
      }
    });

    if (outer.length === 0) {
      // A Scan needs a scan input to count its steps: the active flags, even when nothing reads them.
      const inner = this.names.get(`${active}_t`);
      outer.push(active);
      bodyInputs.push(valueInfo(inner, undefined, DataType.BOOL));
    }
    const ctx: StageContext = { g: body, c: bc, kind: "loop" };
    for (const op of loop.ops) printOp(this, ctx, op);
    for (const op of loop.carry ?? []) printOp(this, ctx, op);

    // Body outputs: each a tensor the body makes, used once.
    const made = new Set(body.nodes.flatMap((n) => n.output ?? []));
    const used = new Set<string>();
    const own = (name: string, hint: string): string => {
      if (made.has(name) && !used.has(name)) {
        used.add(name);
        return name;
      }
      const id = body.node("Identity", [name], {}, [this.names.get(hint)])[0]!;
      used.add(id);
      return id;
    };
    const bodyOutputs: IValueInfoProto[] = [];
    f.states.forEach((s, i) => {
      const w = plan.buffers[s.buf]!.width;
      const next = bc.has(bufKey(s.buf, 1)) ? bc.read(body, bufKey(s.buf, 1), 0, w, s.name) : stateIn[i]!;
      bodyOutputs.push(valueInfo(own(next, `${s.name}_next`), undefined));
    });
    const scanOut: string[] = [];
    f.outputs.forEach((o, i) => {
      if (!fromLoop.has(o.buf)) return;
      const w = plan.buffers[o.buf]!.width;
      bodyOutputs.push(valueInfo(own(bc.read(body, bufKey(o.buf), 0, w, o.name), `${o.name}_step`), undefined));
      scanOut.push(outputNames[i]!);
    });
    const graph: IGraphProto = { name: `${plan.meta.name}_step`, node: body.nodes, input: bodyInputs, output: bodyOutputs };
    this.main.node("Scan", [...initial, ...outer], { body: { graph }, num_scan_inputs: outer.length }, [...finalNames, ...scanOut]);
  }
}

/** The ONNX model of a plan's forward entry. */
export function onnxModel(plan: Plan, options: OnnxEmitOptions = {}): IModelProto {
  return new Printer(plan, options).print();
}
