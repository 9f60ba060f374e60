// The mapping files and the generic packing engine, without compiled kernels: every mapping in
// examples/specs round-trips exactly, the foreign layouts put each gate block where the foreign
// system's documentation says (index arithmetic written out here, independently of the engine), and
// bad mappings or bad weights fail with an error naming the parameter or tensor.

import { describe, expect, it } from "vitest";
import type { KernelMeta, ParamMeta, Tensors } from "../abi/kernel.ts";
import {
  InteropError,
  SYSTEMS,
  exportKeras,
  exportPytorch,
  importKeras,
  importPytorch,
  kerasWeightsToJson,
  loadMapping,
  pack,
  parseMapping,
  planFor,
  unpack,
  type Mapping,
} from "../runtime/interop/index.ts";

const SPECS = new URL("../examples/specs/", import.meta.url).pathname;
const I = 5;
const H = 7;
const P = 4;

/** Parameter shapes of the example specs, as the .cell files declare them. */
function cellParams(cell: string, dims: { I: number; H: number; P?: number }): Array<[string, number[]]> {
  const { I: i, H: h, P: p = 0 } = dims;
  const gates = (names: string[], rec: number) =>
    names.flatMap((g): Array<[string, number[]]> => [[`W_${g}`, [h, i]], [`U_${g}`, [h, rec]], [`b_${g}`, [h]]]);
  switch (cell) {
    case "lstm":
      return gates(["i", "f", "g", "o"], h);
    case "lstm_peephole":
      return [...gates(["i", "f", "g", "o"], h), ["p_i", [h]], ["p_f", [h]], ["p_o", [h]]];
    case "lstmp":
      return [...gates(["i", "f", "g", "o"], p), ["W_p", [p, h]]];
    case "gru":
      return gates(["z", "r", "n"], h);
    case "gru_reset_after":
      return [...gates(["z", "r"], h), ["W_n", [h, i]], ["U_n", [h, h]], ["b_in", [h]], ["b_hn", [h]]];
    case "rnn":
      return [["W", [h, i]], ["U", [h, h]], ["b", [h]]];
    default:
      throw new Error(`no fixture for ${cell}`);
  }
}

function metaOf(name: string, kind: "cell" | "stack", list: Array<[string, number[]]>): KernelMeta {
  const params: ParamMeta[] = list.map(([n, shape]) => ({
    name: n,
    shape,
    size: shape.reduce((a, b) => a * b, 1),
    init: { kind: "zeros" },
  }));
  return { abiVersion: 1, backend: "ts", name, kind, dims: {}, inputs: [], states: [], outputs: [], params, paramCount: params.reduce((a, p) => a + p.size, 0) };
}

function cellMeta(cell: string): KernelMeta {
  return metaOf(cell, "cell", cellParams(cell, { I, H, P }));
}

function stackMeta(name: string, layers: Array<[string, { I: number; H: number; P?: number }]>): KernelMeta {
  return metaOf(
    name,
    "stack",
    layers.flatMap(([cell, dims], k) => cellParams(cell, dims).map(([n, s]): [string, number[]] => [`l${k}_${n}`, s])),
  );
}

function randomParams(meta: KernelMeta, seed: number): Tensors {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Object.fromEntries(meta.params.map((p) => [p.name, Float32Array.from({ length: p.size }, next)]));
}

const cases: Array<[string, KernelMeta]> = [
  ["lstm", cellMeta("lstm")],
  ["lstm_peephole", cellMeta("lstm_peephole")],
  ["lstmp", cellMeta("lstmp")],
  ["gru", cellMeta("gru")],
  ["gru_reset_after", cellMeta("gru_reset_after")],
  ["rnn", cellMeta("rnn")],
  ["deep_lstm", stackMeta("deep_lstm", [["lstm", { I, H }], ["lstm", { I: H, H }], ["lstm", { I: H, H }]])],
  ["dlstmp", stackMeta("dlstmp", [["lstmp", { I, H, P }], ["lstmp", { I: P, H, P }]])],
];

describe("every example mapping round-trips exactly", () => {
  for (const [file, meta] of cases) {
    const mapping = loadMapping(`${SPECS}${file}.map.json`);
    const layer0 = mapping.kind === "stack" ? mapping.layers[0]! : mapping;
    for (const system of SYSTEMS.filter((s) => layer0.systems[s])) {
      it(`${file} <-> ${system}`, () => {
        const params = randomParams(meta, 7);
        const plan = planFor(meta, mapping, system);
        const foreign = pack(meta, plan, params);
        const back = unpack(meta, plan, (t) => foreign[plan.tensors.indexOf(t)]);
        for (const p of meta.params) expect(back[p.name], p.name).toEqual(params[p.name]);
        // Every foreign scalar is accounted for: the packed sizes add up to the parameters plus the zero halves of summed pairs.
        const packed = foreign.reduce((a, t) => a + t.data.length, 0);
        expect(packed).toBeGreaterThanOrEqual(meta.paramCount);
      });
    }
  }
});

/** Reads element [a][b][c]... of a row-major tensor. */
function at(t: { shape: readonly number[]; data: Float32Array }, ...idx: number[]): number {
  let off = 0;
  idx.forEach((v, d) => {
    expect(v).toBeLessThan(t.shape[d]!);
    off = off * t.shape[d]! + v;
  });
  return t.data[off]!;
}

describe("foreign layouts follow each system's documented gate order", () => {
  const lstm = cellMeta("lstm");
  const lstmMap = loadMapping(`${SPECS}lstm.map.json`);
  const params = randomParams(lstm, 3);
  const el = (name: string, r: number, c?: number) => params[name]![c === undefined ? r : r * (name.startsWith("W") ? I : H) + c]!;

  it("Keras / tfjs LSTM: kernel [I, 4H], recurrent_kernel [H, 4H], bias [4H], gates i, f, c, o", () => {
    const [kernel, rec, bias] = exportKeras(lstm, lstmMap, params);
    expect(kernel!.shape).toEqual([I, 4 * H]);
    expect(rec!.shape).toEqual([H, 4 * H]);
    expect(bias!.shape).toEqual([4 * H]);
    ["i", "f", "g", "o"].forEach((g, k) => {
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < I; c++) expect(at(kernel!, c, k * H + r)).toBe(el(`W_${g}`, r, c));
        for (let c = 0; c < H; c++) expect(at(rec!, c, k * H + r)).toBe(el(`U_${g}`, r, c));
        expect(at(bias!, k * H + r)).toBe(el(`b_${g}`, r));
      }
    });
  });

  it("PyTorch LSTM: weight_ih_l0 [4H, I] in order i, f, g, o; bias_ih + bias_hh sum to the spec bias", () => {
    const sd = exportPytorch(lstm, lstmMap, params) as Record<string, number[][] & number[]>;
    expect(Object.keys(sd)).toEqual(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
    ["i", "f", "g", "o"].forEach((g, k) => {
      for (let r = 0; r < H; r++) {
        expect(sd["weight_ih_l0"]![k * H + r]![2]).toBe(el(`W_${g}`, r, 2));
        expect(sd["weight_hh_l0"]![k * H + r]![5]).toBe(el(`U_${g}`, r, 5));
        expect(sd["bias_ih_l0"]![k * H + r]).toBe(el(`b_${g}`, r));
        expect(sd["bias_hh_l0"]![k * H + r]).toBe(0);
      }
    });
    // A state_dict with the bias split arbitrarily imports as the sum.
    const split = structuredClone(sd);
    const ih = split["bias_ih_l0"] as number[];
    const hh = split["bias_hh_l0"] as number[];
    for (let j = 0; j < 4 * H; j++) {
      hh[j] = 0.25 * j;
      ih[j] = ih[j]! - 0.25 * j;
    }
    const back = importPytorch(lstm, lstmMap, split);
    ["i", "f", "g", "o"].forEach((g, k) => {
      for (let r = 0; r < H; r++) expect(back[`b_${g}`]![r]).toBeCloseTo(ih[k * H + r]! + hh[k * H + r]!, 6);
    });
  });

  it("ONNX LSTM: W [1, 4H, I] in order i, o, f, c; B [1, 8H] = [Wb, Rb]", () => {
    const plan = planFor(lstm, lstmMap, "onnx");
    const [W, R, B] = pack(lstm, plan, params);
    expect(W!.shape).toEqual([1, 4 * H, I]);
    expect(R!.shape).toEqual([1, 4 * H, H]);
    expect(B!.shape).toEqual([1, 8 * H]);
    ["i", "o", "f", "g"].forEach((g, k) => {
      for (let r = 0; r < H; r++) {
        expect(at(W!, 0, k * H + r, 3)).toBe(el(`W_${g}`, r, 3));
        expect(at(R!, 0, k * H + r, 1)).toBe(el(`U_${g}`, r, 1));
        expect(at(B!, 0, k * H + r)).toBe(el(`b_${g}`, r));
        expect(at(B!, 0, 4 * H + k * H + r)).toBe(0);
      }
    });
  });

  it("ONNX peepholes: P [1, 3H] in order i, o, f", () => {
    const meta = cellMeta("lstm_peephole");
    const ps = randomParams(meta, 11);
    const plan = planFor(meta, loadMapping(`${SPECS}lstm_peephole.map.json`), "onnx");
    const Pt = pack(meta, plan, ps)[3]!;
    expect(Pt.shape).toEqual([1, 3 * H]);
    ["p_i", "p_o", "p_f"].forEach((name, k) => {
      for (let r = 0; r < H; r++) expect(at(Pt, 0, k * H + r)).toBe(ps[name]![r]);
    });
  });

  it("Keras reset_after GRU bias [2, 3H]: row 0 input biases, row 1 recurrent biases; PyTorch order r, z, n", () => {
    const meta = cellMeta("gru_reset_after");
    const ps = randomParams(meta, 5);
    const map = loadMapping(`${SPECS}gru_reset_after.map.json`);
    const bias = exportKeras(meta, map, ps)[2]!;
    expect(bias.shape).toEqual([2, 3 * H]);
    for (let r = 0; r < H; r++) {
      expect(at(bias, 0, r)).toBe(ps["b_z"]![r]);
      expect(at(bias, 0, H + r)).toBe(ps["b_r"]![r]);
      expect(at(bias, 0, 2 * H + r)).toBe(ps["b_in"]![r]);
      expect(at(bias, 1, r)).toBe(0);
      expect(at(bias, 1, 2 * H + r)).toBe(ps["b_hn"]![r]);
    }
    const sd = exportPytorch(meta, map, ps) as Record<string, number[][]>;
    for (let r = 0; r < H; r++) {
      expect(sd["weight_ih_l0"]![r]![0]).toBe(ps["W_r"]![r * I]);
      expect(sd["weight_ih_l0"]![H + r]![0]).toBe(ps["W_z"]![r * I]);
      expect(sd["weight_hh_l0"]![2 * H + r]![1]).toBe(ps["U_n"]![r * H + 1]);
    }
  });

  it("PyTorch stacks use the layer index in the key; LSTMP adds weight_hr_l{k} [P, H]", () => {
    const meta = cases.find(([n]) => n === "dlstmp")![1];
    const sd = exportPytorch(meta, loadMapping(`${SPECS}dlstmp.map.json`), randomParams(meta, 1)) as Record<string, number[][]>;
    expect(Object.keys(sd)).toContain("weight_hr_l1");
    expect([sd["weight_hr_l1"]!.length, sd["weight_hr_l1"]![0]!.length]).toEqual([P, H]);
    expect([sd["weight_ih_l1"]!.length, sd["weight_ih_l1"]![0]!.length]).toEqual([4 * H, P]);
    expect([sd["weight_hh_l0"]!.length, sd["weight_hh_l0"]![0]!.length]).toEqual([4 * H, P]);
  });

  it("Keras weights survive JSON and a tf.Tensor-like list", () => {
    const weights = exportKeras(lstm, lstmMap, params);
    const fromJson = importKeras(lstm, lstmMap, kerasWeightsToJson(weights));
    const tensorLike = weights.map((w) => ({ shape: w.shape, dataSync: () => w.data }));
    const fromTensors = importKeras(lstm, lstmMap, tensorLike);
    for (const p of lstm.params) {
      expect(fromJson[p.name]).toEqual(params[p.name]);
      expect(fromTensors[p.name]).toEqual(params[p.name]);
    }
  });
});

describe("bad mappings and bad weights are clear errors", () => {
  const lstm = cellMeta("lstm");
  const lstmJson = () =>
    JSON.parse(JSON.stringify({
      cell: "lstm",
      systems: {
        keras: {
          tensors: [
            { name: "kernel", transpose: true, blocks: ["W_i", "W_f", "W_g", "W_o"] },
            { name: "recurrent_kernel", transpose: true, blocks: ["U_i", "U_f", "U_g", "U_o"] },
            { name: "bias", blocks: ["b_i", "b_f", "b_g", "b_o"] },
          ],
        },
      },
    }));
  const fails = (f: () => unknown, ...parts: string[]) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InteropError);
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it("a parameter left out is named", () => {
    const json = lstmJson();
    json.systems.keras.tensors[2].blocks = ["b_i", "b_f", "b_g"];
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"b_o"', "not covered");
  });

  it("a block naming no parameter is named, with the cell's parameters listed", () => {
    const json = lstmJson();
    json.systems.keras.tensors[0].blocks[3] = "W_q";
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"W_q"', "W_i");
  });

  it("a parameter mapped twice, or whole and as a part, is named", () => {
    const json = lstmJson();
    json.systems.keras.tensors[2].blocks = ["b_i", "b_f", "b_g", "b_o", "b_i"];
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"b_i"', "more than once");
    json.systems.keras.tensors[2].blocks = ["b_i", "b_f", "b_g", "b_o", "b_i#1"];
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"b_i"', "both whole");
  });

  it("a missing part of a summed pair is named", () => {
    const json = lstmJson();
    json.systems.keras.tensors[2].blocks = ["b_i", "b_f#0", "b_g", "b_o", "b_f#2"];
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"b_f"', "#1");
  });

  it("blocks of different widths in one tensor name the parameter", () => {
    const json = lstmJson();
    json.systems.keras.tensors[0].blocks = ["W_i", "W_f", "W_g", "U_o"];
    json.systems.keras.tensors[1].blocks = ["U_i", "U_f", "U_g", "W_o"];
    fails(() => planFor(lstm, parseMapping(json), "keras"), '"U_o"', "columns");
  });

  it("foreign tensors of the wrong shape name the parameters they hold", () => {
    const map = parseMapping(lstmJson());
    const weights = exportKeras(lstm, map, randomParams(lstm, 2));
    const bad = [weights[0]!, { shape: [H, 3 * H], data: new Float32Array(3 * H * H) }, weights[2]!];
    fails(() => importKeras(lstm, map, bad), "recurrent_kernel", "[7, 21]", "[7, 28]", "U_i, U_f, U_g, U_o");
  });

  it("a wrong number of Keras weights, unknown or missing state_dict keys, and ragged arrays are refused", () => {
    const map = loadMapping(`${SPECS}lstm.map.json`);
    const weights = exportKeras(lstm, map, randomParams(lstm, 2));
    fails(() => importKeras(lstm, map, weights.slice(0, 2)), "3 Keras weights", "kernel, recurrent_kernel, bias");
    const named = weights.map((w) => ({ ...w, name: `lstm_LSTM1/${w.name}` }));
    expect(() => importKeras(lstm, map, named)).not.toThrow();
    fails(() => importKeras(lstm, map, [named[1]!, named[0]!, named[2]!]), '"lstm_LSTM1/recurrent_kernel"', 'expects "kernel"');
    const sd = exportPytorch(lstm, map, randomParams(lstm, 2), { prefix: "rnn." });
    fails(() => importPytorch(lstm, map, { ...sd, "rnn.weight_hr_l0": [[1]] }, { prefix: "rnn." }), '"rnn.weight_hr_l0"');
    const { ["rnn.bias_hh_l0"]: _dropped, ...partial } = sd;
    fails(() => importPytorch(lstm, map, partial, { prefix: "rnn." }), '"bias_hh_l0"', "missing", "b_i");
    fails(() => importPytorch(lstm, map, { ...sd, "rnn.weight_ih_l0": [[1, 2], [3]] }, { prefix: "rnn." }), "ragged");
    fails(() => importPytorch(lstm, map, "{not json"), "not valid JSON");
    // Keys outside the prefix belong to other modules and are ignored.
    expect(() => importPytorch(lstm, map, { ...sd, "decoder.weight": [[1]] }, { prefix: "rnn." })).not.toThrow();
  });

  it("a cell mapping used for a stack (and the reverse) is refused", () => {
    const deep = cases.find(([n]) => n === "deep_lstm")![1];
    fails(() => planFor(deep, loadMapping(`${SPECS}lstm.map.json`), "keras"), "deep_lstm is a stack");
    fails(() => planFor(lstm, loadMapping(`${SPECS}deep_lstm.map.json`), "keras"), "lstm is a cell");
  });

  it("a system the mapping lacks, and malformed mapping JSON, are reported", () => {
    fails(() => planFor(cellMeta("lstm_peephole"), loadMapping(`${SPECS}lstm_peephole.map.json`), "keras"), 'no "keras" layout');
    fails(() => parseMapping({ cell: "x", systems: { tf: {} } }), 'unknown system "tf"');
    fails(() => parseMapping({ cell: "x", systems: { keras: { tensors: [{ name: "k", blocks: ["W-1"] }] } } }), '"W-1"');
    fails(() => loadMapping(`${SPECS}no_such.map.json`), "cannot read mapping");
  });

  it("export refuses parameters of the wrong size", () => {
    const map: Mapping = loadMapping(`${SPECS}lstm.map.json`);
    const params = randomParams(lstm, 2);
    params["U_f"] = new Float32Array(3);
    fails(() => exportKeras(lstm, map, params), '"U_f"', "expected 49");
  });
});
