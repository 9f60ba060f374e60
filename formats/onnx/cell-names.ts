// The graph-level names of a cell's ONNX form (backends/onnx writes them; whole-model export and
// callers feed and read them): one convention, kept here where both sides can read it.
//   inputs   each spec input by its name, [T, B, n] (a cell without inputs: time_steps and
//            batch_size, int64 [1]); `lengths` int32 [B]; `initial_<state>` [B, n]
//   outputs  `output_<name>` [T, B, n] per output; `final_<state>` [B, n] per state

import type { KernelMeta } from "../../abi/kernel.ts";

export interface CellOnnxNames {
  inputs: string[];
  lengths: string;
  initial: string[];
  outputs: string[];
  finals: string[];
}

export function cellOnnxNames(meta: Pick<KernelMeta, "inputs" | "states" | "outputs">): CellOnnxNames {
  return {
    inputs: meta.inputs.length ? meta.inputs.map((v) => v.name) : ["time_steps", "batch_size"],
    lengths: "lengths",
    initial: meta.states.map((s) => `initial_${s.name}`),
    outputs: meta.outputs.map((o) => `output_${o.name}`),
    finals: meta.states.map((s) => `final_${s.name}`),
  };
}
