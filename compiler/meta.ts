// A kernel's metadata (the contract's KernelMeta) from its forward step graph.

import { ABI_VERSION, type KernelMeta } from "../abi/kernel.ts";
import { width, type Graph, type ValueId } from "./ir.ts";

export function kernelMeta(g: Graph, backend: string): KernelMeta {
  const size = (v: ValueId) => width(g, v);
  const params = g.params.map((p) => {
    const shape = [...g.values[p.value]!.shape];
    return { name: p.name, shape, size: shape.reduce((a, b) => a * b, 1), init: p.init };
  });
  return {
    abiVersion: ABI_VERSION,
    backend,
    name: g.name,
    kind: g.kind,
    dims: { ...g.dims },
    inputs: g.inputs.map((i) => ({ name: i.name, size: size(i.value) })),
    states: g.states.map((s) => ({ name: s.name, size: size(s.prev), projected: s.projected })),
    outputs: g.outputs.map((o) => ({ name: o.name, size: size(o.value) })),
    params,
    paramCount: params.reduce((a, p) => a + p.size, 0),
  };
}
