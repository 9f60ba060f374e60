// The compilation pipeline after checking: lower, optimise, differentiate, optimise again.
// Each pass is `(g) => g`, listed in order here; the IR is verified after every pass, and
// CELLC_DUMP_IR=1 prints it after each step.

import { differentiate, type BackwardGraph } from "./autodiff.ts";
import { printGraph, verify, type Graph } from "./ir.ts";
import { cse } from "./passes/cse.ts";
import { dce } from "./passes/dce.ts";
import { fuseMatvec } from "./passes/fuse-matvec.ts";
import { reassociate } from "./passes/reassociate.ts";
import { remat } from "./passes/remat.ts";

type Pass<G extends Graph> = { name: string; run: (g: G) => G };

const forwardPasses: Pass<Graph>[] = [
  { name: "cse", run: cse },
  { name: "reassociate", run: reassociate },
  { name: "fuse-matvec", run: fuseMatvec },
  { name: "dce", run: dce },
];
const backwardPasses: Pass<BackwardGraph>[] = [
  { name: "cse", run: cse },
  { name: "dce", run: dce },
];

function runPasses<G extends Graph>(g: G, passes: Pass<G>[], optimize: boolean, dump: boolean): G {
  for (const p of passes) {
    if (!optimize && p.name !== "dce") continue;
    g = p.run(g);
    verify(g, `after ${p.name}`);
    if (dump) console.error(`--- ${g.name} after ${p.name}\n${printGraph(g)}`);
  }
  return g;
}

export interface Pipeline {
  fwd: Graph;
  bwd: BackwardGraph;
}

export function runPipeline(lowered: Graph, optimize: boolean): Pipeline {
  const dump = process.env.CELLC_DUMP_IR === "1";
  verify(lowered, "after lowering");
  if (dump) console.error(`--- ${lowered.name} lowered\n${printGraph(lowered)}`);
  const fwd = runPasses(lowered, forwardPasses, optimize, dump);
  const grad = differentiate(fwd);
  verify(grad, "after autodiff");
  const passes: Pass<BackwardGraph>[] = [...backwardPasses.slice(0, 1), { name: "remat", run: (g) => remat(fwd, g) }, ...backwardPasses.slice(1)];
  const bwd = runPasses(grad, passes, optimize, dump);
  return { fwd, bwd };
}
