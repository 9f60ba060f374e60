import { writeFileSync } from "node:fs";
import { compile } from "../compiler/index.ts";
import { sampleSpecs } from "../test/fuzz/sample.ts";
const all = sampleSpecs(12, 100);
for (const i of process.argv.slice(2).map(Number)) {
  const c = all[i]!;
  writeFileSync(`scratch/rand${i}.cell`, c.source);
  const r = await compile(c.source, { file: "random.cell", dims: c.dims, cell: c.unit, target: "torch" });
  writeFileSync(`scratch/rand${i}.py`, r.module!.code);
  console.log(i, c.unit, JSON.stringify(c.dims));
}
