// Messages between the page and its workers (compiler-worker.ts, train-worker.ts). Offsets are
// UTF-16 offsets into the spec text the request carried.

export interface Mark {
  from: number;
  to: number;
}

export interface PgDiagnostic extends Mark {
  code: string;
  severity: "error" | "warning";
  message: string;
  line: number;
  column: number;
}

export interface PgSymbol extends Mark {
  name: string;
  kind: string;
  detail: string;
  scope?: string;
}

export interface GraphNode {
  id: string;
  label: string;
  kind: "input" | "state" | "param" | "gate" | "new-state" | "output" | "op";
  /** The spec line (1-based) the node comes from. */
  line: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
}

export interface CellGraph {
  cell: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The sizes a cell declares, with their defaults. */
export interface SizeParam {
  name: string;
  default?: number;
}

export interface CheckReply {
  kind: "check";
  id: number;
  diagnostics: PgDiagnostic[];
  /** Every name's occurrence (for hover) and the names in scope (for completion). */
  occurrences: PgSymbol[];
  symbols: PgSymbol[];
  functions: readonly string[];
  graph?: CellGraph;
  sizes: SizeParam[];
}

export type CodeTarget = "ts" | "wat" | "torch" | "plan";

export interface ParamCount {
  name: string;
  shape: readonly number[];
  size: number;
}

export interface CodeReply {
  kind: "code";
  id: number;
  target: CodeTarget;
  code?: string;
  /** The spec file's name as the module's spec-line comments write it. */
  origin: string;
  params?: ParamCount[];
  paramCount?: number;
  dims?: Record<string, number>;
  error?: string;
}

export interface ArtifactReply {
  kind: "artifact";
  id: number;
  fileName?: string;
  text?: string;
  bytes?: Uint8Array;
  error?: string;
}

export type CompilerRequest =
  | { kind: "check"; id: number; text: string }
  | { kind: "code"; id: number; text: string; dims: Record<string, number>; target: CodeTarget }
  | { kind: "artifact"; id: number; text: string; dims: Record<string, number>; what: "kernel-js" | "kernel-ts" | "torch" | "onnx-cell" | "train"; example?: string };

export type CompilerReply = CheckReply | CodeReply | ArtifactReply;

export interface TrainStart {
  kind: "start";
  label: string;
  kernelJs: string;
  /** The cell's ONNX graph (with lengths and initial-state inputs) for the model's export; absent
   *  when the kernel has no ONNX form. */
  cellOnnx?: Uint8Array;
  task: string;
  units: number;
  budget: number;
  seed: number;
}

export type TrainRequest = { kind: "plan"; task: string } | TrainStart | { kind: "stop" } | { kind: "resume" } | { kind: "onnx"; id: number } | { kind: "checkpoint"; id: number } | { kind: "predict"; id: number; x: number[]; shape: number[] };

export interface TrainPoint {
  seen: number;
  steps: number;
  loss: number;
  metric: number;
  stepsPerSecond: number;
}

/** What a task needs of the kernel: its input size, and the playground's default hidden size. */
export interface TaskPlan {
  kind: "plan";
  I: number;
  units: number;
  budget: number;
  summary: string;
}

/** One held-out sequence and the model's output on it, for comparing exports with the page. */
export interface Sample {
  x: number[];
  shape: number[];
  y: number[];
}

export type TrainReply =
  | TaskPlan
  | { kind: "sample"; sample: Sample }
  | { kind: "ready"; paramCount: number; metricName: string; better: "lower" | "higher"; inputShape: (number | null)[] }
  | { kind: "point"; point: TrainPoint }
  | { kind: "paused" }
  | { kind: "done"; status: "ok" | "diverged" | "failed" | "stopped"; message?: string; test?: number; seen: number; seconds: number }
  | { kind: "onnx"; id: number; bytes?: Uint8Array; error?: string }
  | { kind: "checkpoint"; id: number; files?: Record<string, Uint8Array | string>; error?: string }
  | { kind: "predict"; id: number; y?: number[]; error?: string };
