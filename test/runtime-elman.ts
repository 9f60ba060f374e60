// A hand-written Elman RNN kernel (h' = tanh(W x + U (h * mask) + b), output h') that satisfies
// the CellKernel contract with plain loops. Tests use it as an independent reference for the
// runtime's recurrent layer, and it records every stateMasks it is given and the mask it read
// at each step, so tests can check variational dropout.

import type { CellKernel, ForwardOptions, ForwardResult, Gradients, KernelMeta, Tape, Tensors } from "../abi/kernel.ts";

interface ElmanTape extends Tape {
  xs: Float32Array;
  hs: Float32Array; // [T + 1, B, H]: state entering each step, then the last
  lengths: ArrayLike<number> | undefined;
  mask: Float32Array | undefined;
}

export interface ElmanKernel extends CellKernel {
  /** Per forward call: the h mask read at each step t (copies), or none. */
  readonly stepMasks: Float32Array[][];
  forwardCalls: number;
}

export function elmanKernel(I: number, H: number): ElmanKernel {
  const meta: KernelMeta = {
    abiVersion: 1,
    backend: "handwritten",
    name: "elman",
    kind: "cell",
    dims: { I, H },
    inputs: [{ name: "x", size: I }],
    states: [{ name: "h", size: H, projected: true }],
    outputs: [{ name: "y", size: H }],
    params: [
      { name: "W", shape: [H, I], size: H * I, init: { kind: "glorot" } },
      { name: "U", shape: [H, H], size: H * H, init: { kind: "orthogonal" } },
      { name: "b", shape: [H], size: H, init: { kind: "zeros" } },
    ],
    paramCount: H * I + H * H + H,
  };
  const stepMasks: Float32Array[][] = [];
  const k: ElmanKernel = {
    meta,
    stepMasks,
    forwardCalls: 0,
    createParams: () => ({ W: new Float32Array(H * I), U: new Float32Array(H * H), b: new Float32Array(H) }),
    createState: (B: number) => ({ h: new Float32Array(B * H) }),
    step(params: Tensors, inputs: Tensors, state: Tensors, batchSize = 1): Tensors {
      const r = k.forward(params, { x: inputs.x! }, { batchSize, timeSteps: 1, initialState: state });
      state.h!.set(r.finalState.h!);
      return { y: r.outputs.y! };
    },
    forward(params: Tensors, inputs: Tensors, o: ForwardOptions): ForwardResult {
      k.forwardCalls++;
      const B = o.batchSize;
      const x = inputs.x!;
      const T = o.timeSteps ?? x.length / (B * I);
      const { W, U, b } = params as { W: Float32Array; U: Float32Array; b: Float32Array };
      const hs = new Float32Array((T + 1) * B * H);
      if (o.initialState?.h) hs.set(o.initialState.h);
      const y = new Float32Array(T * B * H);
      const mask = o.stateMasks?.h;
      const seen: Float32Array[] = [];
      for (let t = 0; t < T; t++) {
        if (mask) seen.push(Float32Array.from(mask));
        for (let bb = 0; bb < B; bb++) {
          const prev = (t * B + bb) * H;
          const next = ((t + 1) * B + bb) * H;
          if (o.lengths && t >= o.lengths[bb]!) {
            for (let i = 0; i < H; i++) hs[next + i] = hs[prev + i]!;
            continue;
          }
          for (let i = 0; i < H; i++) {
            let a = b[i]!;
            for (let j = 0; j < I; j++) a += W[i * I + j]! * x[(t * B + bb) * I + j]!;
            for (let j = 0; j < H; j++) a += U[i * H + j]! * hs[prev + j]! * (mask ? mask[bb * H + j]! : 1);
            const h = Math.tanh(a);
            hs[next + i] = h;
            y[(t * B + bb) * H + i] = h;
          }
        }
      }
      stepMasks.push(seen);
      const tape: ElmanTape = { timeSteps: T, batchSize: B, xs: x.slice(), hs, lengths: o.lengths ? Array.from(o.lengths) : undefined, mask: mask?.slice() };
      return { outputs: { y }, finalState: { h: hs.slice(T * B * H) }, tape };
    },
    backward(params: Tensors, tapeIn: Tape, dOutputs: Partial<Tensors>, opts = {}): Gradients {
      const tp = tapeIn as ElmanTape;
      const { timeSteps: T, batchSize: B, xs, hs, lengths, mask } = tp;
      const { W, U } = params as { W: Float32Array; U: Float32Array };
      const dW = new Float32Array(H * I);
      const dU = new Float32Array(H * H);
      const db = new Float32Array(H);
      const dx = new Float32Array(T * B * I);
      const dh = new Float32Array(B * H);
      if (opts.dFinalState?.h) dh.set(opts.dFinalState.h);
      const dy = dOutputs.y;
      const da = new Float32Array(H);
      for (let t = T - 1; t >= 0; t--) {
        for (let bb = 0; bb < B; bb++) {
          if (lengths && t >= lengths[bb]!) continue; // state carried: dh passes through
          const next = ((t + 1) * B + bb) * H;
          const prev = (t * B + bb) * H;
          for (let i = 0; i < H; i++) {
            const g = dh[bb * H + i]! + (dy ? dy[(t * B + bb) * H + i]! : 0);
            const h = hs[next + i]!;
            da[i] = g * (1 - h * h);
          }
          const dprev = new Float32Array(H);
          for (let i = 0; i < H; i++) {
            const a = da[i]!;
            db[i]! += a;
            for (let j = 0; j < I; j++) {
              dW[i * I + j]! += a * xs[(t * B + bb) * I + j]!;
              dx[(t * B + bb) * I + j]! += a * W[i * I + j]!;
            }
            for (let j = 0; j < H; j++) {
              const m = mask ? mask[bb * H + j]! : 1;
              dU[i * H + j]! += a * hs[prev + j]! * m;
              dprev[j]! += a * U[i * H + j]! * m;
            }
          }
          dh.set(dprev, bb * H);
        }
      }
      return { params: { W: dW, U: dU, b: db }, inputs: { x: dx }, initialState: { h: dh } };
    },
  };
  return k;
}
