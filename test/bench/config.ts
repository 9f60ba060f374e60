// What the benchmark measures: the sizes, cells, peers and modes of issue 4, the FLOP count used
// for GFLOP/s, and the job/result records passed between the parent and its child processes.

export interface Size {
  name: string;
  B: number;
  T: number;
  I: number;
  H: number;
}

export const SIZES: readonly Size[] = [
  { name: "S1", B: 1, T: 100, I: 32, H: 32 },
  { name: "S2", B: 32, T: 50, I: 64, H: 128 },
  { name: "S3", B: 64, T: 100, I: 256, H: 256 },
];

export interface BenchCell {
  name: string;
  /** Spec file the cellc peer builds, relative to the repository root. */
  spec: string;
  /** Gate rows per hidden unit: the matrices applied to x and to h have gates·H rows each. */
  gates: number;
  /** The tfjs layer with the same math. */
  tfjsLayer: "lstm" | "gru";
}

// gru.cell applies the reset gate before the recurrent matmul, as tfjs' GRU does.
export const CELLS: readonly BenchCell[] = [
  { name: "lstm", spec: "examples/specs/lstm.cell", gates: 4, tfjsLayer: "lstm" },
  { name: "gru", spec: "examples/specs/gru.cell", gates: 3, tfjsLayer: "gru" },
];

export const PEERS = ["cellc", "cellc-wasm", "cellc-wasm-fma", "cellc-wasm-2t", "tfjs-cpu", "tfjs-wasm", "ort-web", "ort-web-2t", "ort-node", "ort-node-2t", "handwritten", "cellc-noopt"] as const;
export type Peer = (typeof PEERS)[number];
/** Peers run when --peers is not given (cellc-noopt, the unoptimized lowering, is opt-in).
 *  cellc is the TypeScript backend, cellc-wasm the WebAssembly SIMD one; -2t peers run on two
 *  threads (cellc-wasm-2t: the same module, its calls' `threads` option 2); cellc-wasm-fma is the
 *  WebAssembly kernel built with fused multiply-add (relaxed SIMD; its process runs with
 *  --experimental-wasm-relaxed-simd where the engine needs the flag). */
export const DEFAULT_PEERS: readonly Peer[] = ["cellc", "cellc-wasm", "cellc-wasm-fma", "cellc-wasm-2t", "tfjs-cpu", "tfjs-wasm", "ort-web", "ort-web-2t", "ort-node", "ort-node-2t", "handwritten"];

/** The cellc peers: the kernel module each imports, by backend, optimize and fma setting (the
 *  plain WebAssembly peers are built with fma "off", so the engine's flags cannot change them). */
export const CELLC_PEERS: Readonly<Record<string, { target: "ts" | "wasm"; optimize: boolean; threads?: number; fma?: "on" | "off" }>> = {
  cellc: { target: "ts", optimize: true },
  "cellc-wasm": { target: "wasm", optimize: true, fma: "off" },
  "cellc-wasm-fma": { target: "wasm", optimize: true, fma: "on" },
  "cellc-wasm-2t": { target: "wasm", optimize: true, threads: 2, fma: "off" },
  "cellc-noopt": { target: "ts", optimize: false },
};

export const MODES = ["forward", "train"] as const;
export type Mode = (typeof MODES)[number];

/** Which cells a peer implements (the hand-written peer is an LSTM only). */
export function peerSupports(peer: Peer, cell: string): boolean {
  return peer === "handwritten" ? cell === "lstm" : true;
}

/** Which modes a peer implements (onnxruntime's inference builds do not train). */
export function peerSupportsMode(peer: Peer, mode: Mode): boolean {
  return peer.startsWith("ort-") ? mode === "forward" : true;
}

/**
 * Matmul FLOPs of one forward pass: 2·G·(I+H)·B·T with G = gates·H the gate rows. A training step
 * counts three forward passes' worth (forward, plus the two backward products: into the
 * activations and into the weights); the Dense(1) head and pointwise math are not counted.
 */
export function matmulFlops(cell: BenchCell, size: Size, mode: Mode): number {
  const G = cell.gates * size.H;
  const forward = 2 * G * (size.I + size.H) * size.B * size.T;
  return mode === "forward" ? forward : 3 * forward;
}

/** One measurement, run in its own child process. */
export interface Job {
  kind: "measure";
  peer: Peer;
  cell: BenchCell;
  size: Size;
  mode: Mode;
  runs: number;
  warmup: number;
  /** Stop timing after this many seconds (at least one timed run is always made). */
  capSeconds: number;
  /** For cellc peers: the generated kernel module to import. */
  kernelPath?: string;
}

/** A child that loads what `peer` needs and does nothing else: the memory baseline. */
export interface IdleJob {
  kind: "idle";
  peer: Peer;
  cell: BenchCell;
  size: Size;
  kernelPath?: string;
}

export interface GemmJob {
  kind: "gemm";
  sizes: readonly Size[];
  cells: readonly BenchCell[];
}

export type ChildJob = Job | IdleJob | GemmJob;

export interface Measurement {
  peer: Peer;
  cell: string;
  size: string;
  mode: Mode;
  /** Every timed run, milliseconds. */
  timesMs: number[];
  medianMs: number;
  /** Median CPU time (user + system, all threads of the process) per run: steadier than wall
   *  time when other processes compete for the cores. */
  cpuMs: number;
  gflops: number;
  /** Peak resident set of the child over its life (MB, process.resourceUsage().maxRSS). */
  peakRssMB: number;
  /** Peak RSS while the peer built its model and ran, above the RSS once its code was loaded. */
  workPeakMB?: number;
  /** The reported figure: workPeakMB, or where unavailable peakRssMB minus an idle child's. */
  peakMB: number;
  /** Fewer timed runs than asked because of the time cap. */
  capped: boolean;
  /** Free-form facts about the peer, e.g. the wasm backend's SIMD/threads. */
  notes?: string;
  error?: string;
}
