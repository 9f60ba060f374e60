// Data as the user gives it to a model, checked and made into tensors: one tensor for a single
// input (or output), else a list in order or an object keyed by name; and settings given once for
// all outputs, as a list or by output name.

import { toTensor, type Tensor, type TensorLike } from "./tensor.ts";

/** One validated tensor per name in `names` from data `d`; `what` names the argument. */
export function toList(d: unknown, names: readonly string[], what: string, kind: string): { tensors: Tensor[]; labels: string[] } {
  if (names.length === 1) return { tensors: [toTensor(d as TensorLike, what)], labels: [what] };
  if (d === undefined || d === null) throw new Error(`${what} is missing`);
  if (Array.isArray(d)) {
    if (d.length !== names.length) throw new Error(`${what} must give the model's ${names.length} ${kind}s (${names.join(", ")}) in order; got a list of ${d.length}`);
    const labels = names.map((_, i) => `${what}[${i}]`);
    return { tensors: d.map((t, i) => toTensor(t as TensorLike, labels[i]!)), labels };
  }
  if (typeof d === "object" && !("data" in d && "shape" in d)) {
    const rec = d as Record<string, TensorLike>;
    for (const k of Object.keys(rec)) if (!names.includes(k)) throw new Error(`${what} names '${k}', which is not one of the model's ${kind}s (${names.join(", ")})`);
    const labels = names.map((n) => `${what}.${n}`);
    return { tensors: names.map((n, i) => toTensor(rec[n], labels[i]!)), labels };
  }
  throw new Error(`${what} must give the model's ${names.length} ${kind}s (${names.join(", ")}): a list in order or an object keyed by name`);
}

/** One value per output from a single value, a list in output order, or an object keyed by name. */
export function perOutput<T>(v: T | readonly T[] | Record<string, T>, outs: readonly string[], what: string, isOne: (v: unknown) => boolean): T[] {
  if (isOne(v)) return outs.map(() => v as T);
  if (Array.isArray(v)) {
    if (v.length !== outs.length) throw new Error(`compile: ${what} lists ${v.length} entries but the model has ${outs.length} outputs (${outs.join(", ")})`);
    return [...(v as T[])];
  }
  if (typeof v === "object" && v !== null) {
    const rec = v as Record<string, T>;
    for (const k of Object.keys(rec)) if (!outs.includes(k)) throw new Error(`compile: ${what} names '${k}', which is not an output of the model (${outs.join(", ")})`);
    return outs.map((o) => {
      if (!(o in rec)) throw new Error(`compile: ${what} gives nothing for output '${o}'`);
      return rec[o]!;
    });
  }
  throw new Error(`compile: ${what} must be one value, a list with one per output, or an object keyed by output name`);
}
