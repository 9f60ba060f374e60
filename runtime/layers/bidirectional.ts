// A bidirectional wrapper for any recurrent layer (so any kernel): one copy reads each sequence
// forward, a second copy with its own weights reads it backward, and their outputs are merged
// (concat by default, or sum, mul, ave), as Keras' Bidirectional. With per-sample lengths the
// backward copy starts at each sample's last real step: each sequence is reversed within its
// length (the padding stays at the end), run, and its outputs reversed back, so output t of the
// backward direction has read steps t..length-1. With returnState a call returns
// [output, ...forward states, ...backward states], and initial states are taken in that order.

import type { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { ensure, Layer, type ForwardContext, type Param, type Shape } from "./layer.ts";
import { MERGE_MODES, mergeBackward, mergedWidth, mergeForward, type MergeMode } from "./merge.ts";
import { Recurrent, type KernelSource } from "./recurrent.ts";

export interface BidirectionalOptions {
  /** How the two directions' outputs are joined. Default "concat". */
  mergeMode?: MergeMode;
  /** The layer for the backward direction (same output size); default a copy of the forward one. */
  backwardLayer?: Recurrent;
  name?: string;
}

/** Reverses each sample's first lengths[b] steps of a batch-major [B, T, n] array into `out`. */
export function reverseSequences(x: Float32Array, B: number, T: number, n: number, lengths: ArrayLike<number> | undefined, out: Float32Array): Float32Array {
  for (let b = 0; b < B; b++) {
    const L = lengths ? lengths[b]! : T;
    for (let t = 0; t < T; t++) {
      const src = t < L ? L - 1 - t : t;
      out.set(x.subarray((b * T + src) * n, (b * T + src + 1) * n), (b * T + t) * n);
    }
  }
  return out;
}

export class Bidirectional extends Layer {
  readonly type: string;
  override readonly sequenceInput = true;
  readonly forwardLayer: Recurrent;
  readonly backwardLayer: Recurrent;
  readonly mergeMode: MergeMode;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  private plist: Param[] = [];
  private H = 0;
  // Per-call buffers and what backward needs from forward.
  private xRev: Float32Array | undefined;
  private yRev: Float32Array | undefined;
  private y: Float32Array | undefined;
  private dyF: Float32Array | undefined;
  private dyB: Float32Array | undefined;
  private dyBRev: Float32Array | undefined;
  private dx: Float32Array | undefined;
  private dxRev: Float32Array | undefined;
  private yF: Float32Array | undefined;
  private yB: Float32Array | undefined;
  private shape: { B: number; T: number; F: number; lengths: Int32Array | undefined } = { B: 0, T: 0, F: 0, lengths: undefined };

  constructor(layer: Recurrent | KernelSource, opts: BidirectionalOptions = {}) {
    super(opts.name);
    const fwd = layer instanceof Recurrent ? layer : new Recurrent({ kernel: layer });
    if (fwd.built) throw new Error("bidirectional: the wrapped layer is already built; wrap a fresh layer");
    if (fwd.stateful) throw new Error(`bidirectional: the wrapped layer '${fwd.label}' is stateful; a backward direction cannot carry state across batches`);
    this.mergeMode = opts.mergeMode ?? "concat";
    if (!MERGE_MODES.includes(this.mergeMode)) throw new Error(`bidirectional: unknown mergeMode '${String(this.mergeMode)}' (expected one of ${MERGE_MODES.join(", ")})`);
    const bwd = opts.backwardLayer ?? fwd.copy();
    if (bwd === fwd) throw new Error("bidirectional: backwardLayer must be a different layer from the forward one");
    if (bwd.built) throw new Error("bidirectional: backwardLayer is already built; give a fresh layer");
    if (bwd.returnSequences !== fwd.returnSequences || bwd.returnState !== fwd.returnState) {
      throw new Error("bidirectional: the forward and backward layers must agree on returnSequences and returnState");
    }
    this.forwardLayer = fwd;
    this.backwardLayer = bwd;
    this.returnSequences = fwd.returnSequences;
    this.returnState = fwd.returnState;
    this.type = `Bidirectional(${fwd.type})`;
  }

  defaultName(): string {
    return `bidirectional`;
  }

  override callOutputs(inputCount: number): number {
    const fs = this.forwardLayer.stateNames();
    const bs = this.backwardLayer.stateNames();
    if (inputCount > 1 || this.returnState) {
      if (fs === undefined || bs === undefined) {
        throw new Error(`layer '${this.label}' ${this.returnState ? "returns" : "takes"} its cells' states, but which states its kernels have is not known before it is built; pass the kernel itself, or stateNames`);
      }
      const n = fs.length + bs.length;
      if (inputCount !== 1 && inputCount !== 1 + n) {
        throw new Error(`layer '${this.label}' takes its input and ${n} initial states (forward ${fs.join(", ")}, then backward ${bs.join(", ")}), got ${inputCount} tensors`);
      }
      return this.returnState ? 1 + n : 1;
    }
    return 1;
  }

  async build(inputShape: Shape, rng: Rng): Promise<Shape> {
    return (await this.buildCall([inputShape], rng))[0]!;
  }

  override async buildCall(inputShapes: Shape[], rng: Rng): Promise<Shape[]> {
    const nf = inputShapes.length > 1 ? (inputShapes.length - 1) / 2 : 0;
    this.forwardLayer.name = `${this.name}/forward`;
    this.backwardLayer.name = `${this.name}/backward`;
    const f = await this.forwardLayer.buildCall([inputShapes[0]!, ...inputShapes.slice(1, 1 + nf)], rng.fork());
    const b = await this.backwardLayer.buildCall([inputShapes[0]!, ...inputShapes.slice(1 + nf)], rng.fork());
    return this.finishBuild(inputShapes[0]!, f, b);
  }

  private finishBuild(inputShape: Shape, f: Shape[], b: Shape[]): Shape[] {
    const hf = f[0]![f[0]!.length - 1]!;
    const hb = b[0]![b[0]!.length - 1]!;
    if (hf !== hb) throw new Error(`layer '${this.label}': both directions must give outputs of the same size, got ${hf} (forward) and ${hb} (backward)`);
    this.H = hf;
    const wrap = (prefix: string, ps: Param[]): Param[] => ps.map((p) => ({ name: `${prefix}/${p.name}`, shape: p.shape, value: p.value, grad: p.grad }));
    this.plist = [...wrap("forward", this.forwardLayer.params()), ...wrap("backward", this.backwardLayer.params())];
    const out: Shape = [...f[0]!.slice(0, -1), mergedWidth(this.mergeMode, [hf, hb])];
    this.inputShape = [...inputShape];
    this.outputShape = out;
    return [out, ...f.slice(1), ...b.slice(1)];
  }

  override checkCall(inputShapes: Shape[]): Shape[] {
    const nf = inputShapes.length > 1 ? (inputShapes.length - 1) / 2 : 0;
    const f = this.forwardLayer.checkCall([inputShapes[0]!, ...inputShapes.slice(1, 1 + nf)]);
    const b = this.backwardLayer.checkCall([inputShapes[0]!, ...inputShapes.slice(1 + nf)]);
    return [[...this.outputShape!], ...f.slice(1), ...b.slice(1)];
  }

  override params(): Param[] {
    return this.plist;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardCall([x], ctx)[0]!;
  }

  backward(dy: Float32Array): Float32Array | null {
    return this.backwardCall([dy])[0]!;
  }

  /** True when the wrapped layer's kernel is asynchronous (WebGPU). */
  override get asynchronous(): boolean {
    return this.forwardLayer.asynchronous;
  }

  override forwardCall(xs: Tensor[], ctx: ForwardContext): Tensor[] {
    const [fIn, bIn] = this.splitInputs(xs);
    return this.merge(xs[0]!, this.forwardLayer.forwardCall(fIn, ctx), this.backwardLayer.forwardCall(bIn, ctx));
  }

  override async forwardCallAsync(xs: Tensor[], ctx: ForwardContext): Promise<Tensor[]> {
    const [fIn, bIn] = this.splitInputs(xs);
    return this.merge(xs[0]!, await this.forwardLayer.forwardCallAsync(fIn, ctx), await this.backwardLayer.forwardCallAsync(bIn, ctx));
  }

  /** The two directions' call inputs: x and the reversed x, each with its initial states. */
  private splitInputs(xs: Tensor[]): [Tensor[], Tensor[]] {
    const x = xs[0]!;
    const [B, T, F] = [x.shape[0]!, x.shape[1]!, x.shape[2]!];
    this.shape = { B, T, F, lengths: x.lengths };
    const nf = xs.length > 1 ? (xs.length - 1) / 2 : 0;
    this.forwardLayer.inputGradientNeeded = this.backwardLayer.inputGradientNeeded = this.inputGradientNeeded;
    const xr = reverseSequences(x.data, B, T, F, x.lengths, (this.xRev = ensure(this.xRev, x.data.length)));
    const rev: Tensor = { data: xr, shape: x.shape };
    if (x.lengths) rev.lengths = x.lengths;
    return [
      [x, ...xs.slice(1, 1 + nf)],
      [rev, ...xs.slice(1 + nf)],
    ];
  }

  /** The layer's outputs from the two directions' outputs. */
  private merge(x: Tensor, fOut: Tensor[], bOut: Tensor[]): Tensor[] {
    const { B, T } = this.shape;
    const H = this.H;
    const yF = fOut[0]!.data;
    let yB = bOut[0]!.data;
    if (this.returnSequences) yB = reverseSequences(yB, B, T, H, x.lengths, (this.yRev = ensure(this.yRev, yB.length)));
    this.yF = yF;
    this.yB = yB;
    const rows = yF.length / H;
    const W = mergedWidth(this.mergeMode, [H, H]);
    const y = (this.y = ensure(this.y, rows * W));
    mergeForward(this.mergeMode, [yF, yB], [H, H], rows, y);
    const out: Tensor = { data: y, shape: [...fOut[0]!.shape.slice(0, -1), W] };
    if (fOut[0]!.lengths) out.lengths = fOut[0]!.lengths;
    return [out, ...fOut.slice(1), ...bOut.slice(1)];
  }

  override backwardCall(dys: Float32Array[]): (Float32Array | null)[] {
    const [dF, dB] = this.splitGradients(dys);
    return this.mergeGradients(this.forwardLayer.backwardCall(dF), this.backwardLayer.backwardCall(dB));
  }

  override async backwardCallAsync(dys: Float32Array[]): Promise<(Float32Array | null)[]> {
    const [dF, dB] = this.splitGradients(dys);
    return this.mergeGradients(await this.forwardLayer.backwardCallAsync(dF), await this.backwardLayer.backwardCallAsync(dB));
  }

  /** The two directions' output gradients from the layer's. */
  private splitGradients(dys: Float32Array[]): [Float32Array[], Float32Array[]] {
    const { B, T, lengths } = this.shape;
    const H = this.H;
    const yF = this.yF!;
    const rows = yF.length / H;
    const dyF = (this.dyF = ensure(this.dyF, rows * H));
    let dyB = (this.dyB = ensure(this.dyB, rows * H));
    mergeBackward(this.mergeMode, [yF, this.yB!], [H, H], rows, dys[0]!, [dyF, dyB]);
    if (this.returnSequences) dyB = reverseSequences(dyB, B, T, H, lengths, (this.dyBRev = ensure(this.dyBRev, dyB.length)));
    const ns = this.returnState ? (dys.length - 1) / 2 : 0;
    return [
      [dyF, ...dys.slice(1, 1 + ns)],
      [dyB, ...dys.slice(1 + ns)],
    ];
  }

  /** d loss / d each call input from the two directions' input gradients. */
  private mergeGradients(gF: (Float32Array | null)[], gB: (Float32Array | null)[]): (Float32Array | null)[] {
    const { B, T, F, lengths } = this.shape;
    let dx: Float32Array | null = null;
    if (gF[0] && gB[0]) {
      // The backward copy read the reversed sequence: reverse its input gradient back and add.
      const back = reverseSequences(gB[0], B, T, F, lengths, (this.dxRev = ensure(this.dxRev, gB[0].length)));
      dx = this.dx = ensure(this.dx, back.length);
      const f = gF[0];
      for (let i = 0; i < dx.length; i++) dx[i] = f[i]! + back[i]!;
    }
    return [dx, ...gF.slice(1), ...gB.slice(1)];
  }

  override resetStates(): void {
    this.forwardLayer.resetStates();
    this.backwardLayer.resetStates();
  }

  override twin(): Bidirectional {
    const t = Object.create(Bidirectional.prototype) as Bidirectional;
    const fields = t as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(this)) fields[k] = ArrayBuffer.isView(v) ? undefined : v;
    fields["forwardLayer"] = this.forwardLayer.twin();
    fields["backwardLayer"] = this.backwardLayer.twin();
    fields["shape"] = { B: 0, T: 0, F: 0, lengths: undefined };
    return t;
  }
}
