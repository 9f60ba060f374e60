// Building ONNX graphs from the value-level schedule: unique tensor names shared by a model's main graph and its
// Scan body (a body may read the main graph's tensors, never redefine them), constants kept once as
// initializers of the main graph, and one graph's list of nodes with the formula builder the
// registry's `onnx` lowerings call.

import type { OnnxFormulaBuilder } from "../../compiler/primitives/types.ts";
import { onnxEscaper } from "./escape.ts";
import { attribute, DataType, floatTensor, int64Tensor, type AttrValue, type INodeProto, type ITensorProto } from "../../formats/onnx/schema.ts";

/** A kernel that cannot be written as ONNX (a primitive without a lowering, an op no forward
 *  plan holds). The message names what is missing. */
export class OnnxExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OnnxExportError";
  }
}

/** Tensor names, unique across a model and all its subgraphs. */
export class Names {
  private readonly used = new Set<string>();
  // Spec names reach the model here, through the ONNX escaper.
  reserve(spec: string): string {
    const name = onnxEscaper.string(spec);
    if (this.used.has(name)) throw new OnnxExportError(`the ONNX graph needs the name '${name}' for an input or output, but the spec already uses it (rename the spec's ${name})`);
    this.used.add(name);
    return name;
  }
  get(spec: string): string {
    return fresh(this.used, onnxEscaper.string(spec));
  }

  private readonly nodes = new Set<string>();
  /** A node's name, unique among the model's nodes (its own namespace: a node named after the
   *  spec value it computes may share the name of a tensor). */
  node(spec: string): string {
    return fresh(this.nodes, onnxEscaper.string(spec));
  }
}

/** `hint`, or hint_1, hint_2, ... the first not in `used` (then in it). */
function fresh(used: Set<string>, hint: string): string {
  let name = hint;
  for (let i = 1; used.has(name); i++) name = `${hint}_${i}`;
  used.add(name);
  return name;
}

/** Constants of the main graph: float32 scalars and int64 vectors, each stored once. */
export class Constants {
  readonly initializers: ITensorProto[] = [];
  /** Names of float scalars (row-less values). */
  readonly scalars = new Set<string>();
  private readonly byKey = new Map<string, string>();
  constructor(private readonly names: Names) {}

  float(v: number): string {
    const key = `f:${Object.is(v, -0) ? "-0" : String(v)}`;
    let name = this.byKey.get(key);
    if (!name) {
      name = this.names.get(`const_${String(v).replace(/[^0-9a-zA-Z]/g, "_")}`);
      this.initializers.push(floatTensor(name, [], [v]));
      this.byKey.set(key, name);
      this.scalars.add(name);
    }
    return name;
  }

  ints(v: readonly number[]): string {
    const key = `i:${v.join(",")}`;
    let name = this.byKey.get(key);
    if (!name) {
      name = this.names.get(`ints_${v.join("_").replace(/-/g, "m")}`);
      this.initializers.push(int64Tensor(name, [v.length], v));
      this.byKey.set(key, name);
    }
    return name;
  }
}

const COMPARISONS = new Set(["Greater", "Less", "Equal", "And", "Or", "Not"]);

/** The nodes of one graph (the main graph or a Scan body). */
export class OnnxGraph implements OnnxFormulaBuilder {
  readonly nodes: INodeProto[] = [];
  private readonly memo = new Map<string, string>();

  constructor(
    readonly names: Names,
    readonly consts: Constants,
    /** Names of bool tensors (flags), shared by every graph of the model. */
    readonly bools: Set<string>,
  ) {}

  /** One node; returns its outputs' names (`outputs` names them, else they are made from the op). */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.names.get(op.toLowerCase())) : outputs;
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType: op, name: this.names.node(op), input: [...inputs], output: outs, attribute: attribute_ });
    if (COMPARISONS.has(op)) this.bools.add(outs[0]!);
    return outs;
  }

  op(op: string, inputs: readonly string[]): string {
    return this.node(op, inputs)[0]!;
  }

  /** Names the node that made `output` after the spec value it computes (`spec`, a value's name),
   *  when a node from index `from` on made it (not when the value is a tensor made before: a
   *  parameter, an input, a memoized slice). */
  label(output: string, spec: string, from: number): void {
    for (let i = this.nodes.length - 1; i >= from; i--) {
      const n = this.nodes[i]!;
      if (!n.output?.includes(output)) continue;
      n.name = this.names.node(spec);
      return;
    }
  }

  const(value: number): string {
    return this.consts.float(value);
  }

  flag(x: string): string {
    return this.bools.has(x) ? x : this.op("Not", [this.op("Equal", [x, this.const(0)])]);
  }

  float(x: string): string {
    return this.node("Cast", [x], { to: DataType.FLOAT })[0]!;
  }

  /** Columns [at, at + width) of the last axis of a tensor `full` columns wide (itself when whole). */
  slice(name: string, at: number, width: number, full: number): string {
    if (at === 0 && width === full) return name;
    const key = `slice:${name}:${at}:${width}`;
    let out = this.memo.get(key);
    if (!out) {
      const c = this.consts;
      out = this.op("Slice", [name, c.ints([at]), c.ints([at + width]), c.ints([-1])]);
      if (this.bools.has(name)) this.bools.add(out);
      this.memo.set(key, out);
    }
    return out;
  }

  /** Tensors side by side on the last axis. */
  concat(names: readonly string[]): string {
    if (names.length === 1) return names[0]!;
    const key = `concat:${names.join("|")}`;
    let out = this.memo.get(key);
    if (!out) {
      out = this.node("Concat", names, { axis: -1 })[0]!;
      this.memo.set(key, out);
    }
    return out;
  }
}
