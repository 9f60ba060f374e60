// The kernel plan: what a kernel computes, as data every backend prints. It is made after
// scheduling and holds every decision: buffers (their rows, width and lifetime), the weight
// layout, and per entry point an ordered list of stages (all rows at once, or a loop over time)
// holding GEMMs, fused elementwise maps, reductions and copies over views of buffers. Names are
// assigned here, once. A printer chooses nothing; `verifyPlan` checks shapes, bounds and that
// nothing is read before it is written or overwritten while it is still needed.
//
// Rows: a buffer holds one row per (step, sample) or per sample:
//   seq    T·B rows: row t·B + b is step t of sample b
//   carry  (T+1)·B rows: a state for every step; step t reads block t and writes block t+1
//   batch  B rows: per-step scratch, reused by every step (or per-sequence data: masks)
//   none   one row: weights and gradients
// An op runs over the rows of its stage: every row of a seq buffer at once ("all"), or one
// step's B rows ("step"; row b of a seq buffer is then t·B + b). A per-sample matrix value [m, n]
// is m·n columns of one row, row-major; a weight view (rows "none") reads the same numbers for
// every row.

import type { KernelMeta } from "../../abi/kernel.ts";
import type { BackwardGraph } from "../autodiff.ts";
import type { Eqn, Graph, ValueId } from "../ir.ts";
import { isRowOpName, type RowOpName } from "../primitives/rows.ts";
import type { Attrs } from "../primitives/types.ts";
import { isStructOpName, type StructOpName } from "../primitives/structural.ts";
import type { StructAttrs } from "../primitives/structural-types.ts";
import type { KernelSchedule } from "./schedule.ts";

export type RowSpace = "seq" | "carry" | "batch" | "none";

export type BufferKind =
  | "param" // a parameter (user array or a view of the module's own weight memory)
  | "pack" // parameter matrices stacked by rows, shared by one GEMM
  | "grad" // gradient of a parameter or a pack
  | "input" // forward: a copy of an input sequence (on the tape)
  | "active" // forward: 1 while a step is within its sample's length (on the tape)
  | "mask" // forward: a state's recurrent-dropout mask, one per sequence (on the tape)
  | "state" // forward: a state at every step (carry rows, on the tape)
  | "output" // forward: an output sequence handed to the caller (on the tape)
  | "tape" // forward: a value kept for backward or for a later stage
  | "scratch" // a per-step value (batch rows)
  | "seed" // backward: the caller's gradient of an output sequence (or zeros)
  | "carryAdj" // backward: a state's gradient carried from step to step
  | "adjoint" // backward: a value kept for a later stage
  | "inputGrad"; // backward: the gradient of an input sequence handed to the caller

export interface PlanBuffer {
  id: number;
  /** A valid identifier, unique in the module. */
  name: string;
  kind: BufferKind;
  rows: RowSpace;
  width: number;
  /** For param/pack/grad buffers: the param's or pack's element count (rows "none"). */
  size?: number;
  /** Which entry point allocates it: forward buffers live on the tape, backward ones with it. */
  entry: "forward" | "backward" | "weights";
}

/** Columns [col, col + width) of a buffer; `shift` 1 addresses the next step's block (carry
 *  buffers only: where a step writes its new state). `value` is the IR value it holds. */
export interface View {
  buf: number;
  col: number;
  width: number;
  shift: 0 | 1;
  value: ValueId;
}

/** A scalar expression inside a map: an operand read from a view (or a number), or a primitive. */
export type Term =
  | { kind: "load"; view: View; broadcast: boolean; name: string }
  | { kind: "fn"; fn: string; args: Arg[]; attrs?: Attrs; value: ValueId; name: string };
export type Arg = { t: number } | { c: number };

export type GemmForm =
  /** C[r, n] (+)= Σ_k X[r, k] · W[n, k]: a matrix times every row's vector (W is [N, K]). */
  | "xwT"
  /** C[r, n] (+)= Σ_k X[r, k] · W[k, n]: the transposed product (W is [K, N]). */
  | "xw"
  /** G[n, k] += Σ_r D[r, n] · X[r, k]: a weight gradient, summed over the stage's rows. */
  | "dw";

/** A row primitive of the registry (compiler/primitives/rows.ts), named by its op: each row of src
 *  to one number (a reduction, dst of width 1) or to a row of its width (a scan, `reverse` its
 *  direction; src and dst are distinct storage). */
export interface RowPlanOp {
  op: RowOpName;
  src: View;
  dst: View;
  reverse: boolean;
  lines: string[];
}

/** A structural primitive of the registry (compiler/primitives/structural.ts), named by its op:
 *  per row, the operands' rows (`src`, widths as the entry's shape rule says; a view of a weight
 *  reads the same numbers every row) to a result row in `dst`, which overlaps no operand; or, for
 *  an entry `into: "grad"`, every row's result added in row order into the gradient buffer `dst`. */
export interface StructPlanOp {
  op: StructOpName;
  src: View[];
  dst: View | { buf: number };
  attrs: StructAttrs;
  lines: string[];
}

export type PlanOp =
  | {
      op: "gemm";
      /** An identifier for the product (printers name its shape constant after it). */
      name: string;
      form: GemmForm;
      n: number;
      k: number;
      /** xwT/xw: the rows' vectors X; dw: the adjoints D. */
      a: View;
      /** xwT/xw: the weight buffer; dw: the rows' vectors X. */
      w: { buf: number } | View;
      /** xwT/xw: the result rows; dw: the gradient buffer. */
      c: View | { buf: number };
      accumulate: boolean;
      /** A panel slot: the weight's packing is kept across the steps of one call. */
      slot: number | null;
      lines: string[];
    }
  | { op: "map"; width: number; terms: Term[]; stores: { term: number; view: View }[]; lines: string[] }
  | RowPlanOp
  | StructPlanOp
  | { op: "copy"; src: View; dst: View; lines: string[] }
  | { op: "fill"; dst: View; value: number; lines: string[] };

export interface Stage {
  /** "all": every row of the sequence at once; "loop": one step at a time. */
  kind: "all" | "loop";
  /** A loop's direction: forward t = 0..T-1 or backward t = T-1..0. */
  reverse?: boolean;
  /** Runs only when the caller asks for input gradients (or only when they do not). */
  when?: "inputGradients" | "noInputGradients";
  /** What the stage is for, as a comment. */
  title: string;
  ops: PlanOp[];
  /** A loop's last ops: carry what the next step needs (backward: the states' gradients). */
  carry?: PlanOp[];
}

export interface ForwardEntry {
  /** Caller's input sequences copied to the tape. */
  inputs: { name: string; buf: number }[];
  /** The per-step active flags, from the caller's lengths (all 1 without). */
  active: number;
  /** Each state: its carry buffer (initial state in block 0, final in block T) and its mask (ones without). */
  states: { name: string; buf: number; mask: number }[];
  /** Output sequences handed to the caller. */
  outputs: { name: string; buf: number }[];
  stages: Stage[];
}

export interface BackwardEntry {
  /** The caller's gradients of the outputs (zeros where absent). */
  seeds: { name: string; buf: number }[];
  /** Each state: the buffer holding its gradient entering a step (from the caller's dFinalState
   *  at the last step); after the loop it holds the initial state's gradient. */
  states: { name: string; carry: number }[];
  /** Input gradients handed to the caller. */
  inputs: { name: string; buf: number }[];
  /** Every parameter's gradient buffer, and each pack's (added into its parts at the end). */
  params: { name: string; buf: number; param: number }[];
  packs: { buf: number; pack: number; parts: { param: number; offset: number }[] }[];
  stages: Stage[];
}

/** The module's own weight memory: params in one buffer, a pack's parts contiguous in its order,
 *  so a GEMM reads the stacked matrix in place when the caller's params are the module's own. */
export interface WeightLayout {
  size: number;
  params: { name: string; buf: number; offset: number; size: number }[];
  /** offset null: the pack's parts are not contiguous in the layout (a param in two packs), so
   *  it is always stacked by copying. */
  packs: { buf: number; offset: number | null; size: number; parts: { param: number; offset: number }[] }[];
}

export interface Plan {
  meta: KernelMeta;
  optimize: boolean;
  /** Use fast exp/sigmoid/tanh (optimised float32 builds). */
  fastMath: boolean;
  buffers: PlanBuffer[];
  weights: WeightLayout;
  /** GEMM panel slots used by loops (weights packed once per call). */
  slots: number;
  forward: ForwardEntry;
  backward: BackwardEntry;
  /** Values stored inside another value's storage: a slice inside its source, a concatenation's
   *  part inside the whole (inner -> outer), for verifyPlan. */
  nested: [number, number][];
  /** The step graphs the plan was made from, with how they were scheduled and each equation's
   *  spec lines: what value-level printers read (compiler/schedule). */
  steps: { fwd: Graph; bwd: BackwardGraph; schedule: KernelSchedule; lines: Map<Eqn, string[]> };
}

/** Whether a plan op is a row primitive's. */
export const isRowOp = (op: PlanOp): op is RowPlanOp => isRowOpName(op.op);

/** Whether a plan op is a structural primitive's. */
export const isStructOp = (op: PlanOp): op is StructPlanOp => isStructOpName(op.op);

/** A structural op's result view (undefined: it adds into a whole gradient buffer). */
export const structDst = (op: StructPlanOp): View | undefined => ("col" in op.dst ? op.dst : undefined);
