// Weights between a cellc kernel and the nn.Module the PyTorch backend prints for the same spec.
// No mapping file: the module's parameters carry the spec's names and shapes (a matrix [m, n] is
// [m, n] on both sides), so weights move by name. Two forms:
// - a cellc weights file (runtime/checkpoint.ts's header .json + .bin), which the module writes
//   with save_cellc() and reads with load_cellc(); names are the spec's, or "layer/param" in a
//   model's checkpoint;
// - a state_dict as JSON ({ name: nested arrays }, as `{k: v.tolist() for k, v in
//   cell.state_dict().items()}` writes it), keyed by the module's attribute names (the spec's
//   names, except the few renamed in formats/torch/names.ts) or by spec names, optionally under
//   a prefix such as "module." (a DistributedDataParallel wrapper's).
// Every weight is checked (present, shape, finite) before anything is returned.

import type { KernelMeta, Tensors } from "../../abi/kernel.ts";
import { torchAttributeNames } from "../../formats/torch/names.ts";
import { headerPath, isShape, loadWeights, MAX_HEADER_BYTES, saveWeights, type NamedWeight } from "../checkpoint.ts";
import { nodeCheckpointFs } from "../checkpoint-node.ts";
import { InteropError } from "./mapping.ts";
import { sameShape, toForeignTensor, toNested, type ForeignTensorInput, type NestedArray } from "./tensor.ts";

export interface TorchWeightsOptions {
  /** A layer name: weights are "layer/param" (a cellc model's checkpoint). Without it, the spec's
   *  names as they are, or the one layer of the file that holds all of them. */
  layer?: string;
}

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Which prefix the file's names carry this kernel's params under. */
function layerPrefix(meta: KernelMeta, names: ReadonlySet<string>, layer: string | undefined, where: string): string {
  if (layer !== undefined) return `${layer}/`;
  const params = meta.params.map((p) => p.name);
  if (params.every((n) => names.has(n))) return "";
  const layers = [...new Set([...names].filter((n) => n.includes("/")).map((n) => n.slice(0, n.indexOf("/"))))].sort();
  const fits = layers.filter((l) => params.every((n) => names.has(`${l}/${n}`)));
  if (fits.length === 1) return `${fits[0]}/`;
  if (fits.length > 1) throw new InteropError(`${where}: several layers hold ${meta.name}'s parameters (${fits.join(", ")}); pass { layer }`);
  const missing = params.filter((n) => !names.has(n));
  throw new InteropError(`${where}: no weights for ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " ..." : ""} (the file holds ${[...names].slice(0, 8).join(", ")}${names.size > 8 ? " ..." : ""})`);
}

/** The kernel's parameters from a cellc weights file the PyTorch module wrote (save_cellc), by name.
 *  The whole file is checked as Model.loadWeights checks it (checksum, shapes, finite values). */
export async function loadTorchWeights(meta: KernelMeta, file: string, options: TorchWeightsOptions = {}): Promise<Tensors> {
  const hdr = headerPath(file);
  let entries: { name: string; shape: unknown[] }[] | undefined;
  try {
    // The guarded reader: a FIFO or a device is refused (loadWeights below says so), never blocks.
    const h = JSON.parse(new TextDecoder().decode(await nodeCheckpointFs.readFile(hdr, MAX_HEADER_BYTES))) as { weights?: unknown };
    if (Array.isArray(h.weights) && h.weights.every((w) => typeof w?.name === "string" && Array.isArray(w?.shape))) entries = h.weights as typeof entries;
  } catch {
    entries = undefined;
  }
  // Shapes must be sizes before anything multiplies or prints them (nested 10,000 deep, or 1e39).
  const bad = entries?.findIndex((w) => !isShape(w.shape));
  if (bad !== undefined && bad >= 0) throw new InteropError(`${hdr}: weight #${bad} ('${entries![bad]!.name}') has a shape that is not a list of sizes (non-negative integers)`);
  // A header that cannot be read as a list of weights: loadWeights says precisely what is wrong.
  if (!entries) {
    await loadWeights([], file);
    throw new InteropError(`${hdr} is not a weights header`);
  }
  // Read every weight of the file in its own order (so a model's other layers are checked too).
  const all: NamedWeight[] = entries.map((w) => {
    const shape = w.shape as number[];
    return { name: w.name, shape, value: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
  });
  await loadWeights(all, file);
  const byName = new Map(all.map((w) => [w.name, w]));
  const prefix = layerPrefix(meta, new Set(byName.keys()), options.layer, hdr);
  const out: Tensors = {};
  for (const p of meta.params) {
    const w = byName.get(prefix + p.name);
    if (!w) throw new InteropError(`${hdr}: no weight "${prefix}${p.name}" for ${meta.name}`);
    if (!sameShape(w.shape, p.shape)) throw new InteropError(`${hdr}: weight "${prefix}${p.name}" has shape ${shapeText(w.shape)}; ${meta.name}'s ${p.name} is ${shapeText(p.shape)}`);
    setOwn(out, p.name, w.value);
  }
  return out;
}

/** Writes the kernel's parameters as a cellc weights file for the module's load_cellc(). */
export function saveTorchWeights(meta: KernelMeta, params: Tensors, file: string, options: TorchWeightsOptions = {}): Promise<string> {
  const prefix = options.layer === undefined ? "" : `${options.layer}/`;
  return saveWeights(meta.params.map((p) => ({ name: prefix + p.name, shape: p.shape, value: checkedParam(meta, params, p.name, p.size) })), file);
}

function checkedParam(meta: KernelMeta, params: Tensors, name: string, size: number): Float32Array {
  const v: unknown = Object.hasOwn(params, name) ? params[name] : undefined;
  if (!(v instanceof Float32Array) || v.length !== size) throw new InteropError(`${meta.name}: params.${name} must be a Float32Array of ${size} values`);
  return v;
}

/** A PyTorch state_dict: { name: nested arrays or {shape, data} } or its JSON text. */
export type TorchStateDict = string | Readonly<Record<string, ForeignTensorInput>>;

/** The kernel's parameters from the module's state_dict (JSON or an object), by name. Keys are
 *  the module's attribute names or the spec's names, after `prefix` ("module." for a DDP wrapper);
 *  keys of other modules (without the prefix) are ignored, unknown ones under it are errors. */
export function importTorchStateDict(meta: KernelMeta, stateDict: TorchStateDict, options: { prefix?: string } = {}): Tensors {
  let value: unknown = stateDict;
  if (typeof stateDict === "string") {
    try {
      value = JSON.parse(stateDict);
    } catch (e) {
      throw new InteropError(`the state_dict JSON is not valid: ${(e as Error).message}`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InteropError("a state_dict must be an object keyed by parameter name (or its JSON)");
  const prefix = options.prefix ?? "";
  const record = value as Record<string, ForeignTensorInput>;
  const attrs = torchAttributeNames(meta.params.map((p) => p.name));
  const known = new Map<string, number>();
  meta.params.forEach((p, i) => {
    known.set(attrs[i]!, i);
    known.set(p.name, i);
  });
  const found = new Map<number, { key: string; v: ForeignTensorInput }>();
  for (const key of Object.keys(record)) {
    if (!key.startsWith(prefix)) continue;
    const i = known.get(key.slice(prefix.length));
    if (i === undefined) throw new InteropError(`state_dict key "${key}" is not a parameter of ${meta.name} (expected: ${attrs.map((a) => prefix + a).join(", ")})`);
    const prev = found.get(i);
    if (prev) throw new InteropError(`state_dict keys "${prev.key}" and "${key}" both name ${meta.name}'s ${meta.params[i]!.name}`);
    found.set(i, { key, v: record[key]! });
  }
  const out: Tensors = {};
  meta.params.forEach((p, i) => {
    const f = found.get(i);
    if (!f) throw new InteropError(`the state_dict lacks "${prefix}${attrs[i]}" (${meta.name}'s ${p.name} ${shapeText(p.shape)})`);
    const t = toForeignTensor(f.v, `state_dict["${f.key}"]`);
    if (!sameShape(t.shape, p.shape)) throw new InteropError(`state_dict["${f.key}"] has shape ${shapeText(t.shape)}; ${meta.name}'s ${p.name} is ${shapeText(p.shape)}`);
    setOwn(out, p.name, t.data);
  });
  return out;
}

/** The kernel's parameters as a JSON-ready state_dict keyed by the module's attribute names:
 *  `cell.load_state_dict({k: torch.tensor(v) for k, v in json.load(f).items()})`. */
export function exportTorchStateDict(meta: KernelMeta, params: Tensors): Record<string, NestedArray> {
  const attrs = torchAttributeNames(meta.params.map((p) => p.name));
  const out: Record<string, NestedArray> = {};
  meta.params.forEach((p, i) => {
    setOwn(out, attrs[i]!, toNested({ shape: p.shape, data: checkedParam(meta, params, p.name, p.size) }));
  });
  return out;
}

/** out[name] = v as an own property, whatever the name (a spec may call a parameter __proto__). */
function setOwn<V>(out: Record<string, V>, name: string, v: V): void {
  Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
}
