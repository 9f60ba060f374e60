// The weight-layout mapping format: which spec parameter is which gate block of a foreign
// framework's fused tensor. A mapping is data (a `<cell>.map.json` next to the spec), so the
// interop engine never contains code for one cell; this file parses and validates that data.
//
// A cell mapping:
//   { "cell": "lstm",
//     "systems": {
//       "keras":   { "tensors": [ { "name": "kernel", "blocks": ["W_i", "W_f", "W_g", "W_o"], "transpose": true }, ... ] },
//       "pytorch": { "tensors": [ { "name": "bias_ih_l{k}", "blocks": ["b_i#0", ...] }, ... ] },
//       "onnx":    { "op": "LSTM", "tensors": [ { "name": "W", "lead": [1], "blocks": [...] }, ... ] } } }
// A stack mapping names one cell mapping per layer:
//   { "stack": "deep_lstm", "layers": ["lstm.map.json", "lstm.map.json", "lstm.map.json"] }
//
// Block syntax: "W_i" is the spec parameter W_i; "b_i#0", "b_i#1" are the parts of a parameter the
// foreign system splits into a sum (PyTorch bias_ih + bias_hh, ONNX Wb + Rb): import adds the parts,
// export writes the value into part 0 and zeros into the others.


/** Every interop problem a user can cause (bad mapping, wrong shapes, missing tensors). */
export { InteropError } from "./errors.ts";
import { InteropError } from "./errors.ts";

export const SYSTEMS = ["keras", "pytorch", "onnx"] as const;
export type System = (typeof SYSTEMS)[number];

export interface BlockRef {
  /** Spec parameter name (without any stack prefix). */
  readonly param: string;
  /** Which part of a summed pair this block is; undefined for a plain block. */
  readonly part?: number;
}

export interface TensorMapping {
  /** Foreign tensor name; "{k}" stands for the layer index (PyTorch "weight_ih_l{k}"). */
  readonly name: string;
  /** Spec parameter blocks, concatenated in order along the gate axis (rows). */
  readonly blocks: readonly BlockRef[];
  /** The foreign tensor is the transpose of the row concatenation (Keras kernels are [in, 4u]). */
  readonly transpose: boolean;
  /** Split the gate axis into this many equal rows (Keras reset_after GRU bias is [2, 3u]). */
  readonly split?: number;
  /** Leading dimensions of size 1 or more placed before the gate axis (ONNX num_directions). */
  readonly lead: readonly number[];
  /** Absent on import means zeros (ONNX B and P are optional inputs). */
  readonly optional: boolean;
}

export interface SystemMapping {
  readonly tensors: readonly TensorMapping[];
  /** ONNX only: the operator (LSTM, GRU, RNN). */
  readonly op?: string;
  /** ONNX only: attribute values the node must carry (linear_before_reset, activations, ...). */
  readonly attributes: Readonly<Record<string, number | string | readonly string[]>>;
}

export interface CellMapping {
  readonly kind: "cell";
  readonly cell: string;
  readonly systems: Readonly<Partial<Record<System, SystemMapping>>>;
  /** Where it came from, for error messages. */
  readonly source: string;
}

export interface StackMapping {
  readonly kind: "stack";
  readonly stack: string;
  readonly layers: readonly CellMapping[];
  readonly source: string;
}

export type Mapping = CellMapping | StackMapping;

/** The mapping that sits next to a spec: examples/specs/lstm.cell -> examples/specs/lstm.map.json. */
export function mappingPathForSpec(specPath: string): string {
  return specPath.replace(/\.cell$/, "") + ".map.json";
}

export interface ParseOptions {
  /** Name used in error messages. */
  source?: string;
  /** Loads a stack's layer mapping by the reference written in "layers". */
  load?: (ref: string) => unknown;
}

export function parseMapping(json: unknown, options: ParseOptions = {}): Mapping {
  const source = options.source ?? "<mapping>";
  const obj = asObject(json, source, "the mapping");
  if ("stack" in obj) {
    const stack = asString(obj["stack"], source, '"stack"');
    const refs = obj["layers"];
    if (!Array.isArray(refs) || refs.length === 0) {
      throw new InteropError(`${source}: a stack mapping needs "layers", a non-empty list of layer mappings`);
    }
    const layers = refs.map((ref, k) => {
      if (typeof ref === "string") {
        if (!options.load) throw new InteropError(`${source}: layer ${k} refers to "${ref}" but no loader was given`);
        return parseCell(options.load(ref), `${source} -> ${ref}`);
      }
      return parseCell(ref, `${source} layer ${k}`);
    });
    return { kind: "stack", stack, layers, source };
  }
  return parseCell(obj, source);
}

function parseCell(json: unknown, source: string): CellMapping {
  const obj = asObject(json, source, "a cell mapping");
  const cell = asString(obj["cell"], source, '"cell"');
  const systemsObj = asObject(obj["systems"], source, '"systems"');
  const systems: Partial<Record<System, SystemMapping>> = {};
  for (const [key, value] of Object.entries(systemsObj)) {
    if (!(SYSTEMS as readonly string[]).includes(key)) {
      throw new InteropError(`${source}: unknown system "${key}" (known: ${SYSTEMS.join(", ")})`);
    }
    systems[key as System] = parseSystem(value, `${source} (${key})`, key as System);
  }
  return { kind: "cell", cell, systems, source };
}

function parseSystem(json: unknown, where: string, system: System): SystemMapping {
  const obj = asObject(json, where, "a system mapping");
  const list = obj["tensors"];
  if (!Array.isArray(list) || list.length === 0) throw new InteropError(`${where}: "tensors" must be a non-empty list`);
  const tensors = list.map((t, i) => parseTensor(t, `${where} tensor ${i}`));
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new InteropError(`${where}: tensor "${t.name}" is listed twice`);
    names.add(t.name);
  }
  let op: string | undefined;
  if (system === "onnx") op = asString(obj["op"], where, '"op"');
  const attributes: Record<string, number | string | readonly string[]> = {};
  if (obj["attributes"] !== undefined) {
    for (const [k, v] of Object.entries(asObject(obj["attributes"], where, '"attributes"'))) {
      if (typeof v === "number" || typeof v === "string") attributes[k] = v;
      else if (Array.isArray(v) && v.every((s) => typeof s === "string")) attributes[k] = v as string[];
      else throw new InteropError(`${where}: attribute "${k}" must be a number, a string or a list of strings`);
    }
  }
  return op === undefined ? { tensors, attributes } : { tensors, op, attributes };
}

function parseTensor(json: unknown, where: string): TensorMapping {
  const obj = asObject(json, where, "a tensor mapping");
  const name = asString(obj["name"], where, '"name"');
  const at = `${where} ("${name}")`;
  const rawBlocks = obj["blocks"];
  if (!Array.isArray(rawBlocks) || rawBlocks.length === 0) {
    throw new InteropError(`${at}: "blocks" must be a non-empty list of parameter names`);
  }
  const blocks = rawBlocks.map((b) => parseBlock(b, at));
  const transpose = obj["transpose"] === undefined ? false : asBool(obj["transpose"], at, '"transpose"');
  const optional = obj["optional"] === undefined ? false : asBool(obj["optional"], at, '"optional"');
  let split: number | undefined;
  if (obj["split"] !== undefined) {
    split = obj["split"] as number;
    if (!Number.isInteger(split) || split < 1) throw new InteropError(`${at}: "split" must be a positive integer`);
  }
  let lead: number[] = [];
  if (obj["lead"] !== undefined) {
    const l = obj["lead"];
    if (!Array.isArray(l) || !l.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new InteropError(`${at}: "lead" must be a list of positive integers`);
    }
    lead = l as number[];
  }
  return split === undefined ? { name, blocks, transpose, lead, optional } : { name, blocks, transpose, split, lead, optional };
}

function parseBlock(json: unknown, where: string): BlockRef {
  if (typeof json !== "string" || json.length === 0) {
    throw new InteropError(`${where}: a block must be a parameter name such as "W_i" or "b_i#0", got ${JSON.stringify(json)}`);
  }
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:#(\d+))?$/.exec(json);
  if (!m) throw new InteropError(`${where}: "${json}" is not a parameter name or "name#part"`);
  return m[2] === undefined ? { param: m[1]! } : { param: m[1]!, part: Number(m[2]) };
}

function asObject(v: unknown, where: string, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InteropError(`${where}: ${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function asString(v: unknown, where: string, what: string): string {
  if (typeof v !== "string" || v.length === 0) throw new InteropError(`${where}: ${what} must be a non-empty string`);
  return v;
}

function asBool(v: unknown, where: string, what: string): boolean {
  if (typeof v !== "boolean") throw new InteropError(`${where}: ${what} must be true or false`);
  return v;
}
