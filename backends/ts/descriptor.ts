// The kernel's descriptor: the small data object every TypeScript and WebAssembly module prints
// for the entry runtime (./support/entry.ts, KernelInfo) — its buffers, where the weights lie, and
// which buffers hold the inputs, states, masks, outputs and gradients.

import type { Plan } from "../../compiler/plan/types.ts";

const ROWS: Record<string, number> = { seq: 0, carry: 1, batch: 2, none: 3 };

/** What the entry runtime needs of the plan (support/entry.ts, KernelInfo). */
export function kernelInfo(plan: Plan): object {
  return {
    bufs: plan.buffers.map((b) => ({ name: b.name, kind: b.kind, rows: ROWS[b.rows], width: b.width, size: b.size ?? b.width, entry: b.entry })),
    weights: plan.weights,
    fwd: { inputs: plan.forward.inputs, active: plan.forward.active, states: plan.forward.states, outputs: plan.forward.outputs },
    bwd: { seeds: plan.backward.seeds, states: plan.backward.states, inputs: plan.backward.inputs, params: plan.backward.params, packs: plan.backward.packs },
  };
}
