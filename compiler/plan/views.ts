// The views a plan op reads and writes, for every printer and the verifier: which buffers a loop
// needs as inputs, which it produces, and what the verifier simulates.

import { isRowOp, isStructOp, structDst, type PlanOp, type View } from "./types.ts";

/** The views an op reads: its operands, and the result it adds into when it accumulates. */
export function viewsRead(op: PlanOp): View[] {
  if (isRowOp(op)) return [op.src];
  if (isStructOp(op)) return op.src;
  switch (op.op) {
    case "gemm": {
      const views: View[] = [op.a];
      if ("col" in op.w) views.push(op.w);
      if (op.accumulate && "col" in op.c) views.push(op.c);
      return views;
    }
    case "map":
      return op.terms.flatMap((t) => (t.kind === "load" ? [t.view] : []));
    case "copy":
      return [op.src];
    case "fill":
      return [];
  }
}

/** The views an op writes (a dw GEMM and a gradient sum write a gradient buffer, not a view). */
export function viewsWritten(op: PlanOp): View[] {
  if (isRowOp(op)) return [op.dst];
  if (isStructOp(op)) return structDst(op) ? [op.dst as View] : [];
  switch (op.op) {
    case "gemm":
      return "col" in op.c ? [op.c] : [];
    case "map":
      return op.stores.map((s) => s.view);
    case "fill":
    case "copy":
      return [op.dst];
  }
}
