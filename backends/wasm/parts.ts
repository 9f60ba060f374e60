// What the WebAssembly printer shares across a module's entry points: the products (one function
// per distinct shape and stride), the math functions used, and the packed weight panels' slots.

import type { Plan, PlanOp, View } from "../../compiler/plan/types.ts";
import { dwScratchBytes, KC, NV, type GemmSpec } from "./gemm.ts";
import type { HostFn, MathFn } from "./math.ts";
import type { Elem } from "./wat.ts";

type Gemm = Extract<PlanOp, { op: "gemm" }>;

/** What the printer shares across entry points: products (deduplicated) and functions used. */
export class ModuleParts {
  readonly gemms = new Map<string, GemmSpec>();
  readonly math = new Set<MathFn>();
  /** Host functions the row primitives call directly (f64 -> f64). */
  readonly hosts = new Set<HostFn>();
  /** Weights packed into column panels for xwT and xw products: "buf:form" -> table slot of the
   *  panels (after the buffers), with the product's shape. */
  readonly panels = new Map<string, { slot: number; buf: number; form: "xwT" | "xw"; n: number; k: number }>();
  /** Ops and stages printed so far that one worker runs whole (see whole()). */
  wholeOps = 0;
  /** The next free counter of a dynamic loop since the last barrier (backends/wasm/threads.ts). */
  dynamicSlot = 0;
  /** Scratch bytes per worker for the weight gradients' packing (table slot buffers.length holds
   *  the scratch's address; worker w's part starts w·dwScratch after it). */
  readonly dwScratch: number;
  constructor(
    readonly plan: Plan,
    readonly e: Elem,
  ) {
    const ops = [...plan.forward.stages, ...plan.backward.stages].flatMap((st) => [...st.ops, ...(st.carry ?? [])]);
    this.dwScratch = Math.max(0, ...ops.map((op) => (op.op === "gemm" && op.form === "dw" ? dwScratchBytes(e, op.k) : 0)));
  }

  panelSlot(buf: number, form: "xwT" | "xw", n: number, k: number): number {
    const key = `${buf}:${form}`;
    let s = this.panels.get(key);
    if (s === undefined) this.panels.set(key, (s = { slot: this.plan.buffers.length + 1 + this.panels.size, buf, form, n, k }));
    return s.slot;
  }

  /** Elements of each panel slot, in slot order. */
  panelSizes(): number[] {
    const NR = NV * this.e.lanes;
    return [...this.panels.values()].map((q) => Math.ceil(q.n / NR) * NR * q.k);
  }

  /** The function computing a product (one per distinct shape and stride). */
  gemmFn(op: Gemm): string {
    const { plan, e } = this;
    const stride = (v: { buf: number }) => (plan.buffers[v.buf]!.rows === "none" ? 0 : plan.buffers[v.buf]!.width) * e.bytes;
    let s: Omit<GemmSpec, "fn" | "doc">;
    if (op.form === "dw") {
      const x = op.w as View;
      s = { M: op.n, N: op.k, K: null, ai: e.bytes, ak: stride(op.a), ldb: stride(x), cs: op.k * e.bytes, accumulate: true };
    } else {
      const c = op.c as View;
      s = { M: null, N: op.n, K: op.k, ai: stride(op.a), ak: e.bytes, ldb: op.n * e.bytes, cs: stride(c), accumulate: op.accumulate, packed: true };
    }
    const key = JSON.stringify(s);
    let g = this.gemms.get(key);
    if (!g) {
      const what = op.form === "dw" ? `G[${op.n}, ${op.k}] += Σ_r D[r, :]ᵀ · X[r, :] (rows summed in blocks of ${KC})` : `C[r, ${op.n}] ${op.accumulate ? "+=" : "="} A[r, ${op.k}] · W${op.form === "xwT" ? "ᵀ" : ""} (W packed into column panels once per call)`;
      g = { ...s, fn: `gemm${this.gemms.size}`, doc: [`${what}; strides in bytes: A ${s.ai}/${s.ak}, B ${s.ldb}, C ${s.cs}`] };
      this.gemms.set(key, g);
    }
    return g.fn;
  }
}
