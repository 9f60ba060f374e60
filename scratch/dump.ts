import { readFileSync } from "node:fs";
import { planKernel } from "../compiler/index.ts";
import { printGraph } from "../compiler/ir.ts";
const r = planKernel(readFileSync(process.argv[2]!, "utf8"), { file: process.argv[2], dims: { I: 3, H: 4, P: 2, J: 2 }, target: "torch" });
if (!r.plan) { console.log(r.diagnostics); process.exit(1); }
console.log(printGraph(r.plan.steps.fwd));
console.log(printGraph(r.plan.steps.bwd));
console.log([...r.plan.steps.schedule.taped].map((v) => r.plan!.steps.fwd.values[v]!.name).join(" "));
