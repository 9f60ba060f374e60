// What a plan buffer holds while a graph is printed. ONNX values are immutable, so a buffer the
// plan writes piece by piece (a fused product's columns, a concatenation's parts) is tracked as
// segments: columns [col, col + width) of the buffer are columns [at, at + width) of a tensor.
// Reading a view slices and concatenates what covers it. Keys separate a state buffer's block read
// by a step (shift 0) from the block it writes (shift 1).

import { OnnxExportError, type OnnxGraph } from "./graph.ts";

interface Segment {
  col: number;
  width: number;
  name: string;
  /** Where the segment starts in the tensor, and the tensor's width (its last axis). */
  at: number;
  full: number;
}

export const bufKey = (buf: number, shift: 0 | 1 = 0): string => `${buf}:${shift}`;

export class Contents {
  private readonly segs = new Map<string, Segment[]>();

  /** Buffers read from another graph (the main graph's, seen from a Scan body), by key. */
  constructor(private readonly fallback?: (key: string, col: number, width: number) => string | undefined) {}

  has(key: string): boolean {
    return (this.segs.get(key)?.length ?? 0) > 0;
  }

  segments(key: string): readonly Segment[] {
    return this.segs.get(key) ?? [];
  }

  /** Columns [col, col + width) now hold columns [at, at + width) of `name` (full wide). */
  write(key: string, col: number, width: number, name: string, at = 0, full = width): void {
    const end = col + width;
    const kept: Segment[] = [];
    for (const s of this.segs.get(key) ?? []) {
      const sEnd = s.col + s.width;
      if (sEnd <= col || s.col >= end) {
        kept.push(s);
        continue;
      }
      // Keep the parts of an overwritten segment outside the new one.
      if (s.col < col) kept.push({ ...s, width: col - s.col });
      if (sEnd > end) kept.push({ ...s, col: end, width: sEnd - end, at: s.at + (end - s.col) });
    }
    kept.push({ col, width, name, at, full });
    kept.sort((a, b) => a.col - b.col);
    this.segs.set(key, kept);
  }

  /** The tensor holding columns [col, col + width), built from the segments that cover them. */
  read(g: OnnxGraph, key: string, col: number, width: number, what: string): string {
    const segs = this.segs.get(key) ?? [];
    const parts: string[] = [];
    let at = col;
    const end = col + width;
    for (const s of segs) {
      const sEnd = s.col + s.width;
      if (sEnd <= at || s.col >= end) continue;
      if (s.col > at) break;
      const to = Math.min(sEnd, end);
      parts.push(g.slice(s.name, s.at + (at - s.col), to - at, s.full));
      at = to;
      if (at >= end) break;
    }
    if (at < end) {
      if (parts.length === 0 && this.fallback) {
        const from = this.fallback(key, col, width);
        if (from !== undefined) return from;
      }
      throw new OnnxExportError(`onnx: ${what} [${at}:${end}] is read before anything is written there`);
    }
    return g.concat(parts);
  }
}
