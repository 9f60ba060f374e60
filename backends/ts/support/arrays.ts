// The entry points of a TypeScript module (inlined into every one; tests import it): the entry
// runtime of ./entry.ts over buffers that are arrays of their own, named as the plan names them.
// A module prints its descriptor and its stages (`run`, `runBackward`, which read the buffers by
// those names) and hands them here; the entry points are the same code in every module.

import { addPackGradients, backwardArgs, bufLength, fillBackward, fillForward, fillStep, forwardArgs, stepArgs, stepResult, gradientTargets, initialStateGradients, layoutParams, packWeights, paramIndex, put, zeroState, type KernelImpl, type KernelInfo, type Tensors } from "./entry.ts";
import { fail } from "./checks.ts";
import { Rng, type InitRule } from "../../../abi/init.ts";
import { initParams, paramsSeed } from "./init.ts";

/** Provided by each generated module. */
declare const meta: { readonly params: readonly { readonly name: string; readonly size: number; readonly shape: readonly number[]; readonly init: InitRule }[] };

// ---- inline from here

/** A module's forward stages: the weights, the tape's buffers (by their plan names), T and B. */
export type RunForward = (weights: never, fwd: never, T: number, B: number) => void;
/** A module's backward stages: as RunForward, with the tape's adjoints and the call's own buffers. */
export type RunBackward = (weights: never, fwd: never, adj: never, io: never, T: number, B: number, inputGradients: boolean) => void;

/** A tape of a TypeScript module: its buffers, and its adjoints once backward has run. */
interface ArrayTape {
  readonly timeSteps: number;
  readonly batchSize: number;
  buf: Tensors;
  adjoints: Tensors | null;
  /** Zero seeds for outputs backward was given no gradient of, by output. */
  zeros: Float32Array[];
  outputs: Tensors;
  finalState: Tensors;
}

export function arrayKernel(info: KernelInfo, runForward: RunForward, runBackward: RunBackward): KernelImpl {
  const run = runForward as unknown as (w: Tensors, fwd: Tensors, T: number, B: number) => void;
  const runB = runBackward as unknown as (w: Tensors, fwd: Tensors, adj: Tensors, io: Tensors, T: number, B: number, ig: boolean) => void;
  const name = (id: number) => info.bufs[id]!.name;
  const tapes = new WeakSet<object>();
  /** Stacked weights and pack gradients, used when the arrays passed in are not side by side. */
  const packed = info.weights.packs.map((p) => new Float32Array(p.size));
  const packedGrads = info.weights.packs.map((p) => new Float32Array(p.size));

  /** The buffers `which` selects, for T steps of B samples. */
  function alloc(which: (b: KernelInfo["bufs"][number]) => boolean, T: number, B: number): Tensors {
    const out: Tensors = {};
    for (const b of info.bufs) if (which(b)) out[b.name] = new Float32Array(bufLength(b, T, B));
    return out;
  }

  /** The weights the stages read: the checked params, and each stacked matrix (one object, its
   *  values replaced at each call). */
  const w: Tensors = {};
  function weights(arrays: Float32Array[]): Tensors {
    info.weights.params.forEach((p, i) => (w[name(p.buf)] = arrays[i]!));
    packWeights(info, arrays, (k) => packed[k]!).forEach((a, k) => (w[name(info.weights.packs[k]!.buf)] = a));
    return w;
  }

  function allocTape(T: number, B: number, reuse: unknown): ArrayTape {
    if (reuse !== undefined) {
      if (typeof reuse !== "object" || reuse === null || !tapes.has(reuse)) fail("forward", "options.tape was not made by this kernel");
      const given = reuse as ArrayTape;
      if (given.timeSteps === T && given.batchSize === B) return given;
    }
    const buf = alloc((b) => b.entry === "forward", T, B);
    const outputs: Tensors = {};
    for (const o of info.fwd.outputs) put(outputs, o.name, buf[name(o.buf)]!);
    const finalState: Tensors = {};
    for (const s of info.fwd.states) put(finalState, s.name, buf[name(s.buf)]!.subarray(T * B * info.bufs[s.buf]!.width));
    const tape: ArrayTape = { timeSteps: T, batchSize: B, buf, adjoints: null, zeros: [], outputs, finalState };
    tapes.add(tape);
    return tape;
  }

  let stepCache: ArrayTape | null = null;
  /** The buffers of a backward call that are not the tape's: gradients and seeds. */
  const io: Tensors = {};

  return {
    createParams(options?: unknown): Tensors {
      const seed = paramsSeed("createParams", options);
      const params = layoutParams(info);
      if (seed !== undefined) initParams(params, meta.params, new Rng(seed));
      return params;
    },
    createState: zeroState,
    step(params: Tensors, inputs: Tensors, state: Tensors, batchSize: number = 1): Tensors {
      const s = stepArgs("step", info, params, inputs, state, batchSize);
      const w = weights(s.params);
      // One step of forward, on a tape of the step's own, kept while B stays the same.
      if (stepCache === null || stepCache.batchSize !== s.B) stepCache = allocTape(1, s.B, undefined);
      const buf = stepCache.buf;
      fillStep(info, s, (id) => buf[name(id)]!);
      run(w, buf, 1, s.B);
      return stepResult(info, s, (id) => buf[name(id)]!);
    },
    forward(params: Tensors, inputs: Tensors, options: object) {
      const where = "forward";
      const a = forwardArgs(where, info, params, inputs, options);
      const w = weights(a.params);
      const tape = allocTape(a.T, a.B, a.tape);
      fillForward(where, info, a, (id) => tape.buf[name(id)]!);
      run(w, tape.buf, a.T, a.B);
      return { outputs: tape.outputs, finalState: tape.finalState, tape };
    },
    backward(params: Tensors, tapeIn: object, dOutputs: object, options: object = {}) {
      const a = backwardArgs("backward", info, params, tapeIn, (t) => (tapes.has(t) ? (t as ArrayTape) : undefined), dOutputs, options);
      const w = weights(a.params);
      const tape = a.tape;
      const T = tape.timeSteps;
      const B = tape.batchSize;
      const adj = (tape.adjoints ??= alloc((b) => b.entry === "backward" && (b.kind === "adjoint" || b.kind === "scratch" || b.kind === "carryAdj"), T, B));
      fillBackward(info, B, a.dFinal, (id) => adj[name(id)]!);
      // The gradients are written into the caller's arrays (a pack's in place where they allow).
      const grads = info.weights.params.map((p) => a.grads.params[p.name]!);
      const targets = gradientTargets(info, grads, (k) => packedGrads[k]!);
      info.bwd.params.forEach((p) => (io[name(p.buf)] = grads[paramIndex(info, p.param)]!));
      info.bwd.packs.forEach((pk, k) => (io[name(pk.buf)] = targets.packs[k]!));
      info.bwd.seeds.forEach((s, k) => (io[name(s.buf)] = a.dOuts[k] ?? (tape.zeros[k] ??= new Float32Array(bufLength(info.bufs[s.buf]!, T, B)))));
      info.bwd.inputs.forEach((i) => (io[name(i.buf)] = a.grads.inputs[i.name]!));
      runB(w, tape.buf, adj, io, T, B, a.inputGradients);
      addPackGradients(info, grads, targets);
      initialStateGradients(info, B, a.grads, (id) => adj[name(id)]!);
      return a.grads;
    },
  };
}
