// The child process of test/wasm-fma.test.ts, run as `node --experimental-wasm-relaxed-simd
// --import tsx test/helpers/fma-child.ts SPEC...` (the engine then has relaxed SIMD): builds each
// spec for WebAssembly with fma "auto" and "off" and for TypeScript, runs forward and backward
// on each (the FMA build on 1, 2 and 4 threads), and prints one JSON line per spec with what the
// test asserts: which binary ran, the worst difference of each build from the TypeScript kernel,
// how many numbers FMA changed, and whether every thread count gave the same bits.

import type { CellKernel, Tensors } from "../../abi/kernel.ts";
import { loadCellFile } from "../../driver/index.ts";
import { Rng } from "./rng.ts";

type Kernel = CellKernel & { threadsUsed?: () => number; meta: CellKernel["meta"] & { fma?: boolean } };

/** Every number a forward and backward call return (T 6, B 9 with lengths: loops by samples on 2
 *  threads, by columns on 4). */
function run(k: Kernel, threads: number): number[] {
  const rng = new Rng(7);
  const T = 6;
  const B = 9;
  const fill = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
  const params = k.createParams();
  for (const p of k.meta.params) params[p.name]!.set(fill(p.size, 0.6));
  const inputs: Tensors = {};
  for (const i of k.meta.inputs) inputs[i.name] = fill(T * B * i.size);
  const dOutputs: Tensors = {};
  for (const o of k.meta.outputs) dOutputs[o.name] = fill(T * B * o.size);
  const lengths = Array.from({ length: B }, (_, b) => T - (b % 3));
  const f = k.forward(params, inputs, { batchSize: B, timeSteps: T, lengths, threads });
  const g = k.backward(params, f.tape, dOutputs, { threads });
  const arrays = [...Object.values(f.outputs), ...Object.values(f.finalState), ...Object.values(g.params), ...Object.values(g.inputs), ...Object.values(g.initialState)];
  return arrays.flatMap((a) => Array.from(a));
}

/** The largest |a - b| / (1 + |b|). */
const worst = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!) / (1 + Math.abs(b[i]!))), 0);

const dims = { I: 13, H: 24, P: 7, J: 2 };
for (const spec of process.argv.slice(2)) {
  const fma = (await loadCellFile(spec, { dims, target: "wasm", fma: "auto" })) as Kernel;
  const plain = (await loadCellFile(spec, { dims, target: "wasm", fma: "off" })) as Kernel;
  const ts = (await loadCellFile(spec, { dims, target: "ts" })) as Kernel;
  const ref = run(ts, 1);
  const one = run(fma, 1);
  const flat = run(plain, 1);
  const threads = [2, 4].map((n) => run(fma, n).every((x, i) => Object.is(x, one[i])));
  console.log(
    JSON.stringify({
      spec,
      fma: [fma.meta.backend, fma.meta.fma],
      plain: [plain.meta.backend, plain.meta.fma],
      fmaVsTs: worst(one, ref),
      plainVsTs: worst(flat, ref),
      changed: one.filter((x, i) => !Object.is(x, flat[i])).length,
      count: one.length,
      sameBits: threads,
    }),
  );
}
