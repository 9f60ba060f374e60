// The ONNX printer prints the value-level schedule's forward in inference mode: recurrent-dropout
// masks are ones, so no node multiplies by them; without lengths the selects on the active flags
// go too: the model has no steps 0..T-1 to compare with the lengths (Range) left, and one Where fewer for each select on the
// active flags the step graph has (one per state and per output, compiler/ir.ts), for every
// shipped spec. The numbers these models give are onnx-specs.test.ts's. Its nodes are named
// after the spec values they compute, each name once.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportCellOnnx } from "../backends/onnx/index.ts";
import { DataType, decodeModel, type GraphProto, type NodeProto, type TensorProto } from "../formats/onnx/schema.ts";

const DIMS = { I: 5, H: 6, J: 3, P: 4 };
const ROOT = new URL("..", import.meta.url).pathname;
const SPECS = ["examples/specs", "examples/specs/greff"]
  .filter((d) => existsSync(join(ROOT, d)))
  .flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith(".cell")).map((f) => join(d, f)));

function nodes(g: GraphProto): NodeProto[] {
  return (g.node ?? []).flatMap((n) => [n, ...(n.attribute ?? []).flatMap((a) => (a.g ? nodes(a.g as GraphProto) : []))]) as NodeProto[];
}

function exported(file: string, lengths: boolean) {
  const r = exportCellOnnx(readFileSync(join(ROOT, file), "utf8"), { file: join(ROOT, file), dims: DIMS, lengths, initialStates: true });
  if (!r.bytes) throw new Error(`${file}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  const m = decodeModel(r.bytes);
  const all = nodes(m.graph as GraphProto);
  const one = (t: TensorProto) => t.dataType === DataType.FLOAT && (t.dims ?? []).length === 0 && t.rawData?.length === 4 && new DataView(t.rawData.buffer, t.rawData.byteOffset, 4).getFloat32(0, true) === 1;
  const ones = new Set((m.graph!.initializer ?? []).filter(one).map((t) => t.name));
  return { meta: r.meta!, all, ones };
}

describe("the ONNX forward is the schedule's inference mode", () => {
  it("finds the specs", () => expect(SPECS.length).toBeGreaterThan(5));

  it.each(SPECS)("%s: no mask products; without lengths, no t < length and one Where fewer per state and output", (file) => {
    const withLengths = exported(file, true);
    const without = exported(file, false);
    const { meta } = withLengths;
    for (const m of [withLengths, without]) expect(m.all.filter((n) => n.opType === "Mul" && (n.input ?? []).some((i) => m.ones.has(i)))).toEqual([]);
    const count = (m: typeof without, op: string) => m.all.filter((n) => n.opType === op).length;
    expect(count(withLengths, "Where") - count(without, "Where")).toBe(meta.states.length + meta.outputs.length);
    expect(count(withLengths, "Range")).toBeGreaterThan(0);
    expect(count(without, "Range")).toBe(0);
  });
});

describe("ONNX node names are the spec's value names", () => {
  it.each(SPECS)("%s: every node of the model (main graph and Scan body) has a name of its own", (file) => {
    const names = exported(file, true).all.map((n) => n.name);
    expect(names.every((n) => typeof n === "string" && n.length > 0)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  it("lstm: the node computing each gate and each new state is named after it", () => {
    const { all } = exported("examples/specs/lstm.cell", false);
    const byName = new Map(all.map((n) => [n.name, n.opType]));
    expect(["i", "f", "g", "o", "c_new", "h_new"].map((v) => [v, byName.get(v)])).toEqual([
      ["i", "Sigmoid"],
      ["f", "Sigmoid"],
      ["g", "Tanh"],
      ["o", "Sigmoid"],
      ["c_new", "Add"],
      ["h_new", "Mul"],
    ]);
  });
});
