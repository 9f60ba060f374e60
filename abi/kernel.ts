// The contract every generated kernel module satisfies: a leaf that imports nothing, read by the
// compiler, every backend and the runtime alike. A generated module imports nothing either, so it
// does not import this file; it matches these types structurally, and the runtime (layers,
// interop, benchmarks) is written against them, never against one cell.
//
// Layout conventions:
// - A per-step vector of size n over a batch is a Float32Array of batchSize * n, sample-major
//   ([B, n]); over a sequence it is timeSteps * batchSize * n, time-major ([T, B, n]).
// - A parameter of shape [m, n] is a row-major Float32Array of m * n; a vector param is [n].

/** The version of this contract. A module states the version it was generated for in
 *  `meta.abiVersion`; the runtime refuses a kernel of another version with a clear error.
 *  1: kernels of cellc 0.2 (createParams owns memory; unknown keys are errors). */
export const ABI_VERSION = 1;

export type InitSpec =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "const"; value: number }
  | { kind: "uniform"; low: number; high: number }
  | { kind: "normal"; std: number }
  | { kind: "glorot" }
  | { kind: "orthogonal" };

export interface ParamMeta {
  readonly name: string;
  /** [n] for a vector, [m, n] for a matrix. */
  readonly shape: readonly number[];
  readonly size: number;
  readonly init: InitSpec;
}

export interface VectorMeta {
  readonly name: string;
  readonly size: number;
}

export interface StateMeta extends VectorMeta {
  /** True when the cell multiplies this state by a matrix (where Keras applies recurrent dropout). */
  readonly projected: boolean;
}

export interface KernelMeta {
  /** The contract version the module was generated for (ABI_VERSION). */
  readonly abiVersion: number;
  /** What runs the kernel: "ts" (TypeScript), or another backend's name. A backend listed in
   *  ASYNC_BACKENDS makes AsyncCellKernel modules. */
  readonly backend: string;
  readonly name: string;
  readonly kind: "cell" | "stack";
  /** The size binding this module was built for, e.g. { I: 64, H: 128 }. */
  readonly dims: Readonly<Record<string, number>>;
  readonly inputs: readonly VectorMeta[];
  readonly states: readonly StateMeta[];
  /** Per-step outputs, in the order the spec lists them. */
  readonly outputs: readonly VectorMeta[];
  readonly params: readonly ParamMeta[];
  /** Total number of trainable scalars. */
  readonly paramCount: number;
  /** Present where calls can run on worker threads (WebAssembly kernels on Node): the threads a
   *  call runs on when its `threads` option does not say (cellc build --threads; 1). */
  readonly threads?: number;
}

export type Tensors = Record<string, Float32Array>;

export interface ForwardOptions {
  /** B. Required. */
  batchSize: number;
  /** T. Inferred from the inputs' lengths; required only for a cell with no inputs. */
  timeSteps?: number;
  /** State entering step 0, [B, n] per state; zeros where absent. */
  initialState?: Partial<Tensors>;
  /** Per-sample sequence lengths (B entries, each 0..T): past its length a sample's states carry
   *  through unchanged and its outputs are zero. */
  lengths?: ArrayLike<number>;
  /** Multiplicative masks [B, n] applied to a state where the cell reads it (variational recurrent
   *  dropout: one mask per sequence). The carried state itself is not masked. */
  stateMasks?: Partial<Tensors>;
  /** A tape from an earlier call with the same timeSteps and batchSize whose buffers are reused. */
  tape?: Tape;
  /** Worker threads to run on (1-64): WebAssembly kernels on Node share the batch among them, with
   *  results identical to one thread's; TypeScript kernels and browsers run on one. Default: the
   *  module's (cellc build --threads; 1). */
  threads?: number;
}

/** What forward records for backward. Opaque apart from its sizes. */
export interface Tape {
  readonly timeSteps: number;
  readonly batchSize: number;
}

export interface ForwardResult {
  /** Each output over the sequence, [T, B, n]. */
  outputs: Tensors;
  /** State after the last step (after each sample's length), [B, n]. */
  finalState: Tensors;
  tape: Tape;
}

export interface BackwardOptions {
  /** Gradient of the loss with respect to the final state, [B, n] per state; zeros where absent. */
  dFinalState?: Partial<Tensors>;
  /** Gradients from an earlier call whose buffers are overwritten instead of allocating. */
  into?: Gradients;
  /** false skips computing the inputs' gradients (they are left zero): a first layer needs none. */
  inputGradients?: boolean;
  /** Worker threads to run on, as in ForwardOptions. Default: the forward call's. */
  threads?: number;
}

export interface Gradients {
  /** d loss / d parameter, summed over batch and time; same layout as the params. */
  params: Tensors;
  /** d loss / d input, [T, B, n]. */
  inputs: Tensors;
  /** d loss / d initial state, [B, n]. */
  initialState: Tensors;
}

export interface CreateParamsOptions {
  /** The seed the initializers draw from: a whole number from 0 to 2^32 - 1. Default: a random one. */
  seed?: number;
  /** true: zero-filled parameters, no initializer run (e.g. before loading trained weights). */
  zeros?: boolean;
}

export interface CellKernel {
  readonly meta: KernelMeta;
  /** Parameters initialized by each one's rule (meta.params[k].init: the spec's `= glorot`,
   *  `= ones`, ...), drawn from `options.seed` (the same numbers for a seed on every backend, and
   *  the same as the runtime's initializeParams with new Rng(seed)); without a seed, from a random
   *  one, as PyTorch and Keras initialize a new layer. `{ zeros: true }` gives zero-filled ones.
   *  Views of one buffer laid out as the kernel's products read them, so passing them back costs
   *  no copy. Separate arrays are accepted too (copied into place at each call). */
  createParams(options?: CreateParamsOptions): Tensors;
  /** Zero-filled state for a batch. */
  createState(batchSize: number): Tensors;
  /** One step for streaming inference: reads inputs [B, n], updates `state` in place, returns the
   *  step's outputs [B, n]. */
  step(params: Tensors, inputs: Tensors, state: Tensors, batchSize?: number): Tensors;
  /** A whole sequence; records a tape for backward. */
  forward(params: Tensors, inputs: Tensors, options: ForwardOptions): ForwardResult;
  /** Backward through time. `dOutputs` holds d loss / d output, [T, B, n]; absent outputs are zero. */
  backward(params: Tensors, tape: Tape, dOutputs: Partial<Tensors>, options?: BackwardOptions): Gradients;
}

/** The backends whose modules are AsyncCellKernel (forward and backward return promises). */
export const ASYNC_BACKENDS: readonly string[] = ["webgpu"];

/**
 * The asynchronous form of the contract, for kernels whose work runs elsewhere and whose results
 * arrive later (WebGPU: the GPU runs a call's dispatches and the arrays are read back). It is
 * CellKernel with forward and backward returning promises; createParams, createState and step stay
 * synchronous (step runs the same plan on the CPU, for streaming). A tape lives where the kernel
 * runs (GPU memory) until the garbage collector takes it. Calls may be issued without waiting for
 * earlier ones: they run in the order they were made. The parameters stay on the device between
 * calls: a call uploads only the span of them whose numbers changed since the last call (so a
 * training loop that updates the CPU arrays in place uploads once per update, and inference none).
 */
export interface AsyncCellKernel {
  readonly meta: KernelMeta;
  createParams(options?: CreateParamsOptions): Tensors;
  createState(batchSize: number): Tensors;
  step(params: Tensors, inputs: Tensors, state: Tensors, batchSize?: number): Tensors;
  forward(params: Tensors, inputs: Tensors, options: ForwardOptions): Promise<ForwardResult>;
  backward(params: Tensors, tape: Tape, dOutputs: Partial<Tensors>, options?: BackwardOptions): Promise<Gradients>;
}
