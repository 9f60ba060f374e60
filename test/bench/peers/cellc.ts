// cellc's generated kernel as a benchmark peer, driven only through the kernel contract
// (abi/kernel.ts), so any spec works. The parent process compiles the spec and writes the
// self-contained module to a file; this child imports just that module, so the compiler's own
// memory (TypeScript, ts-morph, prettier) is not counted against the kernel.
// Forward = kernel.forward over the whole sequence. Training step = forward, Dense(1) on the last
// step's first output, MSE, kernel.backward, the runtime's Adam over the kernel's params and the
// head. Tapes and gradient buffers are reused across runs (ForwardOptions.tape, BackwardOptions.into).

import { pathToFileURL } from "node:url";
import type { IdleJob, Job } from "../config.ts";
import type { CellKernel, Gradients, Tape, Tensors } from "../../../abi/kernel.ts";
import { initializeParams } from "../../../runtime/init.ts";
import type { Param } from "../../../runtime/layers/layer.ts";
import { adam } from "../../../runtime/optimizers.ts";
import { Rng } from "../../../runtime/rng.ts";
import { lcg } from "../handwritten-lstm.ts";
import { DenseMseHead } from "../train-head.ts";
import type { PeerRunner } from "./runner.ts";

/** Imports a generated module; accepts the contract as the namespace itself or its default export. */
export async function importKernel(file: string): Promise<CellKernel> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  for (const candidate of [mod, mod["default"], mod["kernel"]]) {
    const k = candidate as Partial<CellKernel> | undefined;
    if (k && typeof k.forward === "function" && typeof k.backward === "function" && k.meta) return k as CellKernel;
  }
  throw new Error(`${file} does not export a CellKernel (meta, forward, backward)`);
}

/** `threads`: every call's `threads` option (absent: the module's default, one thread). */
export async function cellcPeer(job: Job | IdleJob, loaded: () => void, threads?: number): Promise<PeerRunner> {
  if (!job.kernelPath) throw new Error("no kernel was built for this measurement");
  const kernel = await importKernel(job.kernelPath);
  loaded();
  if (job.kind === "idle") return { run: () => {} };
  const { B, T, I, H } = job.size;
  const { meta } = kernel;
  const input = meta.inputs[0];
  const output = meta.outputs[0];
  if (meta.inputs.length !== 1 || !input || input.size !== I) {
    throw new Error(`${meta.name}: expected one input of size ${I}, found ${meta.inputs.map((v) => `${v.name}[${v.size}]`).join(", ")}`);
  }
  if (!output || output.size !== H) throw new Error(`${meta.name}: expected a first output of size ${H}`);
  const params = kernel.createParams();
  initializeParams(params, meta.params, new Rng(1));
  const rand = lcg(3);
  const inputs: Tensors = { [input.name]: new Float32Array(T * B * I).map(() => 2 * rand() - 1) };
  const target = Array.from({ length: B }, () => 2 * rand() - 1);
  const fma = (meta as { fma?: boolean }).fma;
  if (job.peer === "cellc-wasm-fma" && fma !== true) throw new Error("this engine does not run relaxed SIMD: the FMA kernel fell back to TypeScript");
  const notes = `${meta.name}, ${meta.paramCount} params${threads ? `, ${threads} threads` : ""}${fma !== undefined ? `, FMA ${fma ? "on" : "off"}` : ""}`;
  const th = threads ? { threads } : {};
  let tape: Tape | undefined;

  if (job.mode === "forward") {
    return {
      notes,
      run() {
        tape = kernel.forward(params, inputs, { batchSize: B, tape, ...th }).tape;
      },
    };
  }

  const head = new DenseMseHead(H, (n) => new Float32Array(n));
  const optimizer = adam();
  // d loss / d output: zero except the last step, whose rows the head overwrites each run.
  const dOut = new Float32Array(T * B * H);
  const last = (T - 1) * B * H;
  let grads: Gradients | undefined;
  // The optimizer keeps its moments per Param object, so these are made once, on the first
  // backward, around the kernel's gradient buffers (copied into only if a later call hands back
  // different buffers).
  let trainable: Param[] | undefined;
  const headParams: Param[] = [
    { name: "dense_w", shape: [H], value: head.w as Float32Array, grad: head.dw as Float32Array },
    { name: "dense_b", shape: [1], value: head.bias as Float32Array, grad: head.dbias as Float32Array },
  ];
  return {
    notes: `${notes}; forward + Dense(1)/MSE + backward + runtime Adam`,
    run() {
      const fwd = kernel.forward(params, inputs, { batchSize: B, tape, ...th });
      tape = fwd.tape;
      const out = fwd.outputs[output.name];
      if (!out) throw new Error(`${meta.name}: forward returned no output ${output.name}`);
      head.lossAndGrad(out, last, B, target, dOut, last);
      // The recurrent layer is the model's first: like tfjs' trainOnBatch, no input gradient.
      grads = kernel.backward(params, fwd.tape, { [output.name]: dOut }, grads ? { into: grads, inputGradients: false } : { inputGradients: false });
      const g = grads.params;
      if (!trainable) {
        trainable = meta.params.map((p) => {
          const grad = g[p.name];
          if (!grad) throw new Error(`${meta.name}: backward returned no gradient for ${p.name}`);
          return { name: p.name, shape: p.shape, value: params[p.name]!, grad };
        });
        trainable.push(...headParams);
      } else {
        for (const p of trainable) {
          const fresh = g[p.name];
          if (fresh && fresh !== p.grad) p.grad.set(fresh);
        }
      }
      optimizer.step(trainable);
    },
  };
}
