// A recurrent layer around ANY generated kernel (abi/kernel.ts). It knows nothing of the
// cell inside: it feeds the kernel's inputs from a batch-major [B, T, F] tensor (as Keras takes
// it; transposed to the kernel's time-major [T, B, n]), reads the kernel's FIRST output as the
// layer's output, and adds the training machinery around it: initial and carried (stateful)
// state, per-sample lengths, variational input dropout (one mask per sequence on x) and
// recurrent dropout (one mask per sequence on every state the cell projects, via stateMasks).
// A kernel with several inputs gets the feature axis split across them in declaration order.
// In a functional model a call may also take the initial states as inputs (gradients flow back
// into whatever produced them) and, with returnState, return the final states after the output.
// An asynchronous kernel (AsyncCellKernel: WebGPU) runs through forwardCallAsync and
// backwardCallAsync, which the models' fit, evaluateAsync and predictAsync await; the synchronous
// calls refuse it. The moves between the layer's and the kernel's layouts: ./recurrent-layout.ts.

import type { AsyncCellKernel, BackwardOptions, CellKernel, ForwardOptions, ForwardResult, Gradients, Tape, Tensors } from "../../abi/kernel.ts";
import { initializeParams } from "../init.ts";
import type { Rng } from "../rng.ts";
import { batchShapeString, type Tensor } from "../tensor.ts";
import { checkThreadsOption, threadsFor, type ThreadsOption } from "../threads.ts";
import { checkRate, fillDropoutMask } from "./dropout.ts";
import { checkInput, ensure, Layer, shapesCompatible, type ForwardContext, type Param, type Shape } from "./layer.ts";
import { checkKernel, checkStateInputs, isAsyncKernel, type AnyCellKernel, type KernelSource } from "./recurrent-kernel.ts";
import { initialStateFor, inputGradientsToBatchMajor, statesFromInputs, outputGradientToTimeMajor, outputToBatchMajor, toTimeMajor } from "./recurrent-layout.ts";

export type { AnyCellKernel, KernelSource };

export interface RecurrentOptions {
  /** A kernel, or a factory given the input size (see rnn() for spec files). */
  kernel: KernelSource;
  /** Return the output at every step ([B, T, n]) instead of the last valid one ([B, n]). */
  returnSequences?: boolean;
  /** Carry the final state of a batch into the next batch (same batch size) until resetStates(). */
  stateful?: boolean;
  /** Input dropout rate (variational: one mask per sequence). */
  dropout?: number;
  /** Recurrent dropout rate on the states the cell projects (StateMeta.projected). */
  recurrentDropout?: number;
  /** State entering step 0 (and after resetStates): per state name, [n] shared by all samples or [B, n].
   *  In a functional model, apply(x, { initialState: [...] }) passes states from other layers instead. */
  initialState?: Partial<Tensors>;
  /** Also return the final states ([B, n] each, in the kernel's state order) after the output:
   *  applyAll(x) gives [output, ...states] (functional models only). */
  returnState?: boolean;
  /** The cell's state names in kernel order, when the kernel comes from a factory (rnn() reads them
   *  from the spec), so returnState knows its outputs before the kernel is built; checked then. */
  stateNames?: readonly string[] | (() => readonly string[]);
  /** Worker threads for the kernel's calls (WebAssembly kernels on Node; results are identical for
   *  any number): a number, or "auto" (default): the machine's cores for calls with enough work
   *  (runtime/threads.ts), one thread for small ones. */
  threads?: ThreadsOption;
  /** Shown by summary(); default the kernel's name. */
  type?: string;
  name?: string;
  /** The kernel's ONNX form for an input size, with `lengths` and initial-state inputs (rnn()
   *  makes it from the spec through the compiler's ONNX backend); model.exportOnnx fills in the
   *  layer's weights. Absent: the layer cannot be exported to ONNX. */
  onnx?: (inputSize: number) => Uint8Array | Promise<Uint8Array>;
}

export class Recurrent extends Layer {
  readonly type: string;
  override readonly sequenceInput = true;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly stateful: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  /** The kernel, once built. */
  kernel: AnyCellKernel | undefined;
  /** Worker threads for the kernel's calls (RecurrentOptions.threads). */
  readonly threads: ThreadsOption;
  /** When true (set by Sequential.predict's carryState), state carries across calls like `stateful`. */
  carryState = false;
  initialState: Partial<Tensors> | undefined;

  private readonly source: KernelSource;
  private readonly options: RecurrentOptions;
  private declaredStates: readonly string[] | undefined;
  private rng: Rng | undefined;
  private kparams: Tensors = {};
  private plist: Param[] = [];
  private inSize = 0;
  private outName = "";
  private outSize = 0;
  /** Carried state for stateful / carryState, [B, n] per state. */
  private state: Tensors | undefined;

  // Per-call buffers, reused while T and B stay the same.
  private xs: Tensors = {};
  private inMask: Float32Array | undefined;
  private stateMasks: Tensors = {};
  private tape: Tape | undefined;
  private grads: Gradients | undefined;
  /** Tapes and gradient buffers by "TxB", a few kept so a smaller last batch or a validation pass
   *  does not make the training batches reallocate. */
  private readonly buffers = new Map<string, { tape?: Tape; grads?: Gradients }>();
  private current: { tape?: Tape; grads?: Gradients } = {};
  private y: Float32Array | undefined;
  private dOut: Float32Array | undefined;
  private dx: Float32Array | undefined;
  private T = 0;
  private B = 0;
  private lengths: Int32Array | undefined;
  private inputMasked = false;
  /** The kernel's final state of the last forward (its tape's buffers). */
  private lastFinal: Tensors | undefined;
  /** Whether the last forward took its initial states as call inputs (their gradients are returned). */
  private statesIn = false;
  /** The state masks handed to the kernel on the last forward (for inspection and tests). */
  lastStateMasks: Tensors | undefined;

  constructor(opts: RecurrentOptions) {
    super(opts.name);
    if (!opts || !opts.kernel) throw new Error("Recurrent: a kernel (or a kernel factory) is required");
    this.source = opts.kernel;
    this.options = { ...opts };
    this.returnSequences = opts.returnSequences ?? false;
    this.returnState = opts.returnState ?? false;
    this.stateful = opts.stateful ?? false;
    this.dropout = checkRate(opts.dropout ?? 0, "Recurrent dropout");
    this.recurrentDropout = checkRate(opts.recurrentDropout ?? 0, "Recurrent recurrentDropout");
    this.initialState = opts.initialState;
    this.threads = checkThreadsOption("Recurrent", opts.threads ?? "auto");
    this.type = opts.type ?? (typeof opts.kernel === "object" ? opts.kernel.meta.name : "Recurrent");
  }

  /** A new, unbuilt layer with the same options and kernel source (its own weights, no name). */
  copy(overrides: Partial<RecurrentOptions> = {}): Recurrent {
    const { name: _name, ...rest } = this.options;
    return new Recurrent({ ...rest, ...overrides });
  }

  /** The cell's state names in kernel order, or undefined while they are not known. */
  stateNames(): readonly string[] | undefined {
    if (this.kernel) return this.kernel.meta.states.map((s) => s.name);
    if (typeof this.source === "object") return this.source.meta.states.map((s) => s.name);
    if (this.declaredStates === undefined && this.options.stateNames !== undefined) {
      const d = this.options.stateNames;
      this.declaredStates = typeof d === "function" ? d() : [...d];
    }
    return this.declaredStates;
  }

  override callOutputs(inputCount: number): number {
    const states = inputCount > 1 || this.returnState ? this.stateNames() : [];
    if (states === undefined) {
      throw new Error(
        `layer '${this.label}' ${this.returnState ? "returns" : "takes"} its cell's states, but which states its kernel has is not known before it is built; pass the kernel itself, or stateNames`,
      );
    }
    if (inputCount !== 1 && inputCount !== 1 + states.length) {
      throw new Error(`layer '${this.label}' takes its input and ${states.length} initial state${states.length === 1 ? "" : "s"} (${states.join(", ")}), got ${inputCount} tensors`);
    }
    if (inputCount > 1 && this.stateful) throw new Error(`layer '${this.label}' is stateful: it carries its own state and cannot take initial states as inputs`);
    return this.returnState ? 1 + states.length : 1;
  }

  override async buildCall(inputShapes: Shape[], rng: Rng): Promise<Shape[]> {
    const out = await this.build(inputShapes[0]!, rng);
    return [out, ...this.checkStateShapes(inputShapes)];
  }

  override checkCall(inputShapes: Shape[]): Shape[] {
    const [out] = super.checkCall(inputShapes.slice(0, 1));
    return [out!, ...this.checkStateShapes(inputShapes)];
  }

  /** Checks the initial-state inputs of a call; returns the shapes of the returned states. */
  private checkStateShapes(inputShapes: Shape[]): Shape[] {
    checkStateInputs(this.kernel!.meta.states, inputShapes, this.label);
    return this.returnState ? this.kernel!.meta.states.map((s) => [s.size]) : [];
  }

  /** Copies kernel parameters in (e.g. from runtime/interop), checking names and sizes first. */
  setParams(values: Readonly<Partial<Tensors>>): void {
    if (!this.kernel) throw new Error(`layer '${this.label}' is not built`);
    for (const name of Object.keys(values)) {
      if (!this.plist.some((p) => p.name === name)) throw new Error(`layer '${this.label}': cell '${this.kernel.meta.name}' has no parameter '${name}'`);
    }
    for (const p of this.plist) {
      const v = values[p.name];
      if (v === undefined) throw new Error(`layer '${this.label}': parameter '${p.name}' is missing`);
      if (v.length !== p.value.length) throw new Error(`layer '${this.label}': parameter '${p.name}' has ${v.length} values, expected ${p.value.length} ([${p.shape.join(", ")}])`);
    }
    for (const p of this.plist) p.value.set(values[p.name]!);
  }

  /** The kernel parameters by name (live arrays). */
  kernelParams(): Readonly<Tensors> {
    return this.kparams;
  }

  /** The built kernel's ONNX form (see RecurrentOptions.onnx), or undefined when it has none. */
  async onnxCell(): Promise<Uint8Array | undefined> {
    if (!this.kernel) throw new Error(`layer '${this.label}' is not built`);
    return this.options.onnx ? this.options.onnx(this.inSize) : undefined;
  }

  override twin(): Recurrent {
    const t = this.copy({ kernel: this.kernel! });
    t.name = this.name;
    t.kernel = this.kernel;
    t.rng = this.rng;
    t.kparams = this.kparams;
    t.plist = this.plist;
    t.inSize = this.inSize;
    t.outName = this.outName;
    t.outSize = this.outSize;
    t.inputShape = this.inputShape && [...this.inputShape];
    t.outputShape = this.outputShape && [...this.outputShape];
    t.initialState = this.initialState;
    return t;
  }

  defaultName(): string {
    return this.kernel ? this.kernel.meta.name : this.type.toLowerCase();
  }

  async build(inputShape: Shape, rng: Rng): Promise<Shape> {
    if (inputShape.length !== 2 || inputShape[1] === null) {
      throw new Error(`recurrent layer '${this.name}' needs input [batch, time, features] with known features, got per-sample shape [${inputShape.join(", ")}]`);
    }
    const F = inputShape[1]!;
    const k = typeof this.source === "function" ? await this.source(F) : this.source;
    const meta = k.meta;
    checkKernel(meta, F, this.stateNames(), this.name);
    this.kernel = k;
    this.rng = rng;
    this.inSize = F;
    this.outName = meta.outputs[0]!.name;
    this.outSize = meta.outputs[0]!.size;
    this.kparams = k.createParams({ zeros: true });
    initializeParams(this.kparams, meta.params, rng);
    this.plist = meta.params.map((m) => ({ name: m.name, shape: [...m.shape], value: this.kparams[m.name]!, grad: new Float32Array(m.size) }));
    this.inputShape = [...inputShape];
    this.outputShape = this.returnSequences ? [inputShape[0]!, this.outSize] : [this.outSize];
    return this.outputShape;
  }

  override params(): Param[] {
    return this.plist;
  }

  override resetStates(): void {
    this.state = undefined;
  }

  /** The state carried to the next batch (stateful / carryState), [B, n] per state, if any. */
  get currentState(): Readonly<Tensors> | undefined {
    return this.state;
  }

  /** The initial state for a batch of B: carried, given, or absent (zeros). */
  private startState(B: number): Partial<Tensors> | undefined {
    const k = this.kernel!;
    if ((this.stateful || this.carryState) && this.state) {
      const carriedB = this.state[k.meta.states[0]!.name]!.length / k.meta.states[0]!.size;
      if (carriedB !== B) {
        throw new Error(`stateful layer '${this.name}' got a batch of ${B} after batches of ${carriedB}; use one batch size or call resetStates()`);
      }
      return this.state;
    }
    return this.initialState && initialStateFor(this.initialState, k.meta.states, B, this.name, k.meta.name);
  }

  /** True when the kernel is asynchronous (AsyncCellKernel): calls go through forwardCallAsync
   *  and backwardCallAsync. */
  override get asynchronous(): boolean {
    return this.kernel !== undefined && isAsyncKernel(this.kernel);
  }

  /** The kernel for a synchronous call; an asynchronous one is refused, naming what to call. */
  private syncKernel(): CellKernel {
    const k = this.kernel!;
    if (this.asynchronous) {
      throw new Error(`layer '${this.name}': cell '${k.meta.name}' runs on ${k.meta.backend}, whose results arrive asynchronously, and this call is synchronous: use await model.fit(...), model.evaluateAsync(...) or model.predictAsync(...)`);
    }
    return k as CellKernel;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardCall([x], ctx)[0]!;
  }

  override forwardCall(xs: Tensor[], ctx: ForwardContext): Tensor[] {
    const k = this.syncKernel();
    const opts = this.beforeForward(xs, ctx);
    return this.afterForward(xs, k.forward(this.kparams, this.xs, opts));
  }

  override async forwardCallAsync(xs: Tensor[], ctx: ForwardContext): Promise<Tensor[]> {
    if (!this.asynchronous) return this.forwardCall(xs, ctx);
    const opts = this.beforeForward(xs, ctx);
    return this.afterForward(xs, await (this.kernel as AsyncCellKernel).forward(this.kparams, this.xs, opts));
  }

  backward(dy: Float32Array): Float32Array | null {
    return this.backwardCall([dy])[0]!;
  }

  override backwardCall(dys: Float32Array[]): (Float32Array | null)[] {
    const k = this.syncKernel();
    const { dOut, opts } = this.beforeBackward(dys);
    return this.afterBackward(k.backward(this.kparams, this.tape!, { [this.outName]: dOut }, opts));
  }

  override async backwardCallAsync(dys: Float32Array[]): Promise<(Float32Array | null)[]> {
    if (!this.asynchronous) return this.backwardCall(dys);
    const { dOut, opts } = this.beforeBackward(dys);
    return this.afterBackward(await (this.kernel as AsyncCellKernel).backward(this.kparams, this.tape!, { [this.outName]: dOut }, opts));
  }

  /** Everything a forward does before the kernel's call: the layouts, the masks, the options. */
  private beforeForward(xs: Tensor[], ctx: ForwardContext): ForwardOptions {
    const given = xs.length > 1 ? statesFromInputs(xs, this.kernel!.meta.states, this.name) : undefined;
    return this.prepare(xs[0]!, ctx, given);
  }

  /** The call's outputs from the kernel's result: the layer's output, then the final states under returnState. */
  private afterForward(xs: Tensor[], res: ForwardResult): Tensor[] {
    const y = this.finish(xs[0]!, res);
    if (!this.returnState) return [y];
    const fin = this.lastFinal!;
    return [y, ...this.kernel!.meta.states.map((s) => ({ data: fin[s.name]!, shape: [xs[0]!.shape[0]!, s.size] }))];
  }

  /** Everything a backward does before the kernel's call. */
  private beforeBackward(dys: Float32Array[]): { dOut: Float32Array; opts: BackwardOptions } {
    const { T, B } = this;
    const H = this.outSize;
    const dOut = (this.dOut = ensure(this.dOut, T * B * H));
    outputGradientToTimeMajor(dys[0]!, B, T, H, this.returnSequences, this.lengths, dOut);
    const opts: BackwardOptions = { inputGradients: this.inputGradientNeeded };
    if (this.grads) opts.into = this.grads;
    if (this.returnState && dys.length > 1) {
      const dFinal: Tensors = {};
      this.kernel!.meta.states.forEach((s, i) => (dFinal[s.name] = dys[i + 1]!));
      opts.dFinalState = dFinal;
    }
    return { dOut, opts };
  }

  /** Adds the parameter gradients; returns d loss / d each call input. */
  private afterBackward(g: Gradients): (Float32Array | null)[] {
    const meta = this.kernel!.meta;
    this.grads = this.current.grads = g;
    for (const p of this.plist) {
      const src = g.params[p.name]!;
      const dst = p.grad;
      for (let i = 0; i < dst.length; i++) dst[i]! += src[i]!;
    }
    let dx: Float32Array | null = null;
    if (this.inputGradientNeeded) {
      const { T, B } = this;
      dx = this.dx = ensure(this.dx, B * T * this.inSize);
      inputGradientsToBatchMajor(g.inputs, B, T, this.inSize, meta.inputs, this.inputMasked ? this.inMask! : undefined, dx);
    }
    if (!this.statesIn) return [dx];
    return [dx, ...meta.states.map((s) => g.initialState[s.name]!)];
  }

  /** The forward pass up to the kernel's call; `given` holds initial states passed as call inputs ([B, n] each). */
  private prepare(x: Tensor, ctx: ForwardContext, given: Tensors | undefined): ForwardOptions {
    checkInput(this, x);
    const meta = this.kernel!.meta;
    const B = x.shape[0]!;
    const T = x.shape[1]!;
    const F = this.inSize;
    const key = `${T}x${B}`;
    let slot = this.buffers.get(key);
    if (!slot) {
      if (this.buffers.size >= 4) this.buffers.delete(this.buffers.keys().next().value!);
      slot = {};
      this.buffers.set(key, slot);
    }
    this.current = slot;
    this.tape = slot.tape;
    this.grads = slot.grads;
    this.T = T;
    this.B = B;
    this.lengths = x.lengths;

    // Input dropout: one mask [B, F] for the whole sequence.
    this.inputMasked = ctx.training && this.dropout > 0;
    let mask: Float32Array | undefined;
    if (this.inputMasked) {
      mask = this.inMask = ensure(this.inMask, B * F);
      fillDropoutMask(mask, this.dropout, this.rng!);
    }
    toTimeMajor(x.data, B, T, F, meta.inputs, mask, this.xs);

    // Recurrent dropout: one mask [B, n] per projected state for the whole sequence.
    let stateMasks: Tensors | undefined;
    if (ctx.training && this.recurrentDropout > 0) {
      stateMasks = {};
      for (const s of meta.states) {
        if (!s.projected) continue;
        const m = (this.stateMasks[s.name] = ensure(this.stateMasks[s.name], B * s.size));
        fillDropoutMask(m, this.recurrentDropout, this.rng!);
        stateMasks[s.name] = m;
      }
    }
    this.lastStateMasks = stateMasks;

    const opts: ForwardOptions = { batchSize: B, timeSteps: T };
    this.statesIn = given !== undefined;
    const init = given ?? this.startState(B);
    if (init) opts.initialState = init;
    if (x.lengths) opts.lengths = x.lengths;
    if (stateMasks) opts.stateMasks = stateMasks;
    if (this.tape) opts.tape = this.tape;
    const threads = threadsFor(this.threads, meta, T, B);
    if (threads !== undefined) opts.threads = threads;
    return opts;
  }

  /** The forward pass after the kernel's call: carried state and the layer's output. */
  private finish(x: Tensor, res: ForwardResult): Tensor {
    const meta = this.kernel!.meta;
    const { T, B } = this;
    this.tape = this.current.tape = res.tape;
    this.lastFinal = res.finalState;
    if (this.stateful || this.carryState) {
      const carried: Tensors = {};
      for (const s of meta.states) carried[s.name] = Float32Array.from(res.finalState[s.name]!);
      this.state = carried;
    }
    const H = this.outSize;
    const y = (this.y = ensure(this.y, this.returnSequences ? B * T * H : B * H));
    outputToBatchMajor(res.outputs[this.outName]!, B, T, H, this.returnSequences, x.lengths, y);
    const out: Tensor = { data: y, shape: this.returnSequences ? [B, T, H] : [B, H] };
    if (this.returnSequences && x.lengths) out.lengths = x.lengths;
    return out;
  }
}
