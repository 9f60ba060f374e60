// A seeded sample of the fuzzer's random well-typed programs for differential tests outside the
// fuzzer: the ONNX and PyTorch backends compare what they print with the TypeScript kernel on
// these (test/onnx-specs.test.ts, test/torch-parity.test.ts). The same generator, names and
// domains as `npm run fuzz -- --kind compile`.

import fc from "fast-check";
import { tapeArb } from "./choices.ts";
import { generateProgram } from "./gen-cell.ts";
import { plainNames } from "./names.ts";

export interface SampleSpec {
  source: string;
  /** The binding to build with. */
  dims: Record<string, number>;
  /** The cell or stack to build (the last one the source declares). */
  unit: string;
  origin: string;
}

export function sampleSpecs(count: number, seed: number): SampleSpec[] {
  return fc.sample(tapeArb(), { seed, numRuns: count }).map((tape, i) => {
    const p = generateProgram(tape, { names: plainNames() });
    return { source: p.text, dims: p.dims, unit: p.unit, origin: `fuzz sample ${seed}#${i}` };
  });
}
