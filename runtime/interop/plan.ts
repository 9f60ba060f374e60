// Binds a mapping to one compiled kernel: resolves every block to a kernel parameter (with the
// stack's "l{k}_" prefix), computes each foreign tensor's shape from the parameter shapes, and
// checks that the mapping covers every parameter exactly once. Everything downstream (the packing
// engine, the Keras/PyTorch/ONNX adapters) works from this plan, never from a cell's name.

import type { KernelMeta, ParamMeta } from "../../abi/kernel.ts";
import { InteropError, type CellMapping, type Mapping, type System, type TensorMapping } from "./mapping.ts";

export interface BlockPlan {
  /** Kernel parameter name (stack prefix included). */
  readonly param: string;
  /** Part index when the foreign system splits the parameter into a sum (import adds the parts;
   *  export writes part 0 and zeros elsewhere); undefined for a plain block. */
  readonly part?: number;
  /** Rows of the block along the gate axis (a vector's length, or a matrix's first dimension). */
  readonly rows: number;
  /** Row offset of this block along the gate axis. */
  readonly offset: number;
}

export interface TensorPlan {
  /** Resolved foreign name: "{k}" replaced by the layer index; in a stack, names without "{k}" get "l{k}/". */
  readonly name: string;
  /** The name as the mapping writes it for one layer, "{k}" replaced ("kernel", "W", "weight_ih_l0"). */
  readonly localName: string;
  readonly layer: number;
  /** Foreign shape, e.g. Keras kernel [I, 4H], ONNX W [1, 4H, I]. */
  readonly shape: readonly number[];
  readonly size: number;
  readonly blocks: readonly BlockPlan[];
  /** Total rows along the gate axis. */
  readonly gateRows: number;
  /** Columns of every block (0 when the blocks are vectors). */
  readonly cols: number;
  readonly transpose: boolean;
  readonly optional: boolean;
}

export interface LayerPlan {
  readonly layer: number;
  readonly op?: string;
  readonly attributes: Readonly<Record<string, number | string | readonly string[]>>;
  readonly tensors: readonly TensorPlan[];
}

export interface SystemPlan {
  readonly system: System;
  readonly kernelName: string;
  readonly layers: readonly LayerPlan[];
  /** All tensors of all layers, in order. */
  readonly tensors: readonly TensorPlan[];
  readonly source: string;
}

/** Which parts of a parameter the mapping has placed so far (parts = 1 for a whole parameter). */
interface Seen {
  parts: number;
  found: Set<number>;
  where: string;
}

/** Resolves `mapping` for `system` against a kernel's parameters; throws InteropError naming the
 *  parameter when a block names no parameter, a parameter is left out or shapes disagree. */
export function planFor(meta: KernelMeta, mapping: Mapping, system: System): SystemPlan {
  const params = new Map<string, ParamMeta>(meta.params.map((p) => [p.name, p]));
  const cells: readonly CellMapping[] = mapping.kind === "stack" ? mapping.layers : [mapping];
  const isStack = mapping.kind === "stack";
  if (isStack !== (meta.kind === "stack")) {
    throw new InteropError(
      `${mapping.source} describes a ${mapping.kind} but ${meta.name} is a ${meta.kind}; use the ${meta.kind}'s own mapping`,
    );
  }
  const layers: LayerPlan[] = [];
  const seen = new Map<string, Seen>();
  cells.forEach((cell, k) => {
    const sys = cell.systems[system];
    if (!sys) {
      throw new InteropError(`${cell.source} has no "${system}" layout for ${cell.cell}`);
    }
    const prefix = isStack ? `l${k}_` : "";
    const where = `${cell.source} (${system})`;
    const tensors = sys.tensors.map((t) => planTensor(t, k, prefix, isStack, params, where, meta.name, seen));
    layers.push(sys.op === undefined ? { layer: k, attributes: sys.attributes, tensors } : { layer: k, op: sys.op, attributes: sys.attributes, tensors });
  });
  for (const p of meta.params) {
    const s = seen.get(p.name);
    if (!s) {
      throw new InteropError(`${mappingWhere(mapping, system)}: parameter "${p.name}" of ${meta.name} is not covered by any tensor`);
    }
    if (s.parts > 1) {
      for (let j = 0; j < s.parts; j++) {
        if (!s.found.has(j)) {
          throw new InteropError(`${s.where}: parameter "${p.name}" is split into parts but part #${j} is missing`);
        }
      }
    }
  }
  return { system, kernelName: meta.name, layers, tensors: layers.flatMap((l) => l.tensors), source: mapping.source };
}

function planTensor(
  t: TensorMapping,
  layer: number,
  prefix: string,
  isStack: boolean,
  params: Map<string, ParamMeta>,
  where: string,
  kernelName: string,
  seen: Map<string, Seen>,
): TensorPlan {
  const localName = t.name.replaceAll("{k}", String(layer));
  const name = isStack && !t.name.includes("{k}") ? `l${layer}/${localName}` : localName;
  const at = `${where} tensor "${t.name}"`;
  const blocks: BlockPlan[] = [];
  let offset = 0;
  let cols = -1;
  let rank = -1;
  for (const b of t.blocks) {
    const full = prefix + b.param;
    const p = params.get(full);
    if (!p) {
      const names = [...params.keys()].filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
      throw new InteropError(`${at}: block "${b.param}" is not a parameter of ${kernelName} (its parameters: ${names.join(", ")})`);
    }
    const r = p.shape.length;
    const c = r === 2 ? p.shape[1]! : 0;
    if (rank === -1) {
      rank = r;
      cols = c;
    } else if (r !== rank) {
      throw new InteropError(`${at}: parameter "${b.param}" is ${describe(p)} but the tensor's other blocks are ${rank === 1 ? "vectors" : "matrices"}`);
    } else if (c !== cols) {
      throw new InteropError(`${at}: parameter "${b.param}" has ${c} columns ([${p.shape.join(", ")}]) but the tensor's other blocks have ${cols}`);
    }
    const rows = p.shape[0]!;
    noteSeen(seen, full, b.part, at);
    blocks.push(b.part === undefined ? { param: full, rows, offset } : { param: full, part: b.part, rows, offset });
    offset += rows;
  }
  if (t.transpose && rank !== 2) throw new InteropError(`${at}: "transpose" needs matrix blocks, but they are vectors`);
  let gateShape = rank === 2 ? [offset, cols] : [offset];
  if (t.split !== undefined) {
    if (offset % t.split !== 0) {
      throw new InteropError(`${at}: ${offset} rows do not split evenly into ${t.split}`);
    }
    gateShape = [t.split, offset / t.split, ...gateShape.slice(1)];
  }
  if (t.transpose) gateShape = [gateShape[1]!, gateShape[0]!];
  const shape = [...t.lead, ...gateShape];
  return {
    name,
    localName,
    layer,
    shape,
    size: shape.reduce((a, b) => a * b, 1),
    blocks,
    gateRows: offset,
    cols,
    transpose: t.transpose,
    optional: t.optional,
  };
}

function noteSeen(
  seen: Map<string, Seen>,
  param: string,
  part: number | undefined,
  at: string,
): void {
  const s = seen.get(param);
  if (part === undefined) {
    if (s) throw new InteropError(`${at}: parameter "${param}" is mapped more than once`);
    seen.set(param, { parts: 1, found: new Set([0]), where: at });
    return;
  }
  if (s && s.parts === 1) throw new InteropError(`${at}: parameter "${param}" is mapped both whole and as part #${part}`);
  const entry = s ?? { parts: 0, found: new Set<number>(), where: at };
  if (entry.found.has(part)) throw new InteropError(`${at}: part #${part} of parameter "${param}" is mapped more than once`);
  entry.found.add(part);
  entry.parts = Math.max(entry.parts, part + 1, 2);
  seen.set(param, entry);
}

function describe(p: ParamMeta): string {
  return p.shape.length === 1 ? `a vector [${p.shape.join(", ")}]` : `a matrix [${p.shape.join(", ")}]`;
}

function mappingWhere(mapping: Mapping, system: System): string {
  return `${mapping.source} (${system})`;
}
