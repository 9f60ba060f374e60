// A plain hand-written TypeScript LSTM: the benchmark's "what a careful engineer writes by hand"
// peer. It is honest and reasonably efficient: the input projection for all T·B rows is one
// GEMM hoisted out of the recurrence, each step adds one [B, H]·Uᵀ GEMM, the weight gradients are
// one GEMM each over all steps, and every buffer is allocated once and reused across calls.
//
// Gates are stacked in one [4H, ·] matrix in the order i, f, g, o (as lstm.cell writes them):
//   z = W x + U h + b;  i, f, o = σ(z_i, z_f, z_o);  g = tanh(z_g)
//   c' = f c + i g;     h' = o tanh(c')
// Layouts follow the kernel contract: sequences are time-major [T, B, n]. The storage type is a
// parameter (Float32Array for the benchmark, Float64Array for precise gradient tests).

import { gemm, GemmWorkspace, type FloatArray } from "./gemm.ts";
import { Adam, DenseMseHead } from "./train-head.ts";

type ArrayMaker = (n: number) => FloatArray;
export const float32: ArrayMaker = (n) => new Float32Array(n);
export const float64: ArrayMaker = (n) => new Float64Array(n);

export interface LstmParams extends Record<string, FloatArray> {
  /** [4H, I] */
  W: FloatArray;
  /** [4H, H] */
  U: FloatArray;
  /** [4H] */
  b: FloatArray;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class HandwrittenLstm {
  readonly params: LstmParams;
  readonly grads: LstmParams;
  private readonly ws = new GemmWorkspace();
  // Per-(T, B) buffers, (re)allocated only when the sequence shape changes.
  private T = -1;
  private B = -1;
  /** Gate activations [T, B, 4H] (pre-activations until the step's pointwise pass). */
  private gates: FloatArray = new Float32Array(0);
  /** Hidden states [T, B, H] (the layer's output sequence) and cell states [T, B, H]. */
  hs: FloatArray = new Float32Array(0);
  private cs: FloatArray = new Float32Array(0);
  /** tanh(c_t), kept for the backward pass. */
  private tcs: FloatArray = new Float32Array(0);
  /** Gate gradients dz for all steps [T, B, 4H]. */
  private dz: FloatArray = new Float32Array(0);
  private dh: FloatArray = new Float32Array(0);
  private dhPrev: FloatArray = new Float32Array(0);
  private dc: FloatArray = new Float32Array(0);
  /** d loss / d input [T, B, I], filled by backward when asked for. */
  dx: FloatArray = new Float32Array(0);
  private x: FloatArray = new Float32Array(0);

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly make: ArrayMaker = float32,
  ) {
    const G = 4 * hiddenSize;
    this.params = { W: make(G * inputSize), U: make(G * hiddenSize), b: make(G) };
    this.grads = { W: make(G * inputSize), U: make(G * hiddenSize), b: make(G) };
  }

  /** Glorot-uniform weights from a seeded generator, forget-gate bias 1 (as lstm.cell). */
  initialize(seed = 1): void {
    const H = this.hiddenSize, I = this.inputSize;
    const rand = lcg(seed);
    const fill = (a: FloatArray, fanIn: number, fanOut: number): void => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < a.length; i++) a[i] = (2 * rand() - 1) * limit;
    };
    fill(this.params.W, I, 4 * H);
    fill(this.params.U, H, 4 * H);
    this.params.b.fill(0);
    this.params.b.fill(1, H, 2 * H);
  }

  private ensure(T: number, B: number): void {
    if (T === this.T && B === this.B) return;
    const H = this.hiddenSize, G = 4 * H, make = this.make;
    this.T = T;
    this.B = B;
    this.gates = make(T * B * G);
    this.hs = make(T * B * H);
    this.cs = make(T * B * H);
    this.tcs = make(T * B * H);
    this.dz = make(T * B * G);
    this.dh = make(B * H);
    this.dhPrev = make(B * H);
    this.dc = make(B * H);
    this.dx = make(T * B * this.inputSize);
  }

  /** Runs the sequence x [T, B, I] from zero state; the outputs are this.hs [T, B, H]. */
  forward(x: FloatArray, B: number): FloatArray {
    const I = this.inputSize, H = this.hiddenSize, G = 4 * H;
    const T = x.length / (B * I);
    if (!Number.isInteger(T) || T < 1) throw new Error(`input length ${x.length} is not T*B*I with B=${B}, I=${I}`);
    this.ensure(T, B);
    this.x = x;
    const { gates, hs, cs, tcs, params, ws } = this;
    // Hoisted input projection: one GEMM for all T·B rows.
    gemm({ m: T * B, n: G, k: I, a: x, b: params.W, c: gates }, ws);
    const bias = params.b;
    for (let t = 0; t < T; t++) {
      const zOff = t * B * G;
      if (t > 0) {
        gemm({ m: B, n: G, k: H, a: hs, aOffset: (t - 1) * B * H, b: params.U, c: gates, cOffset: zOff, accumulate: true }, ws);
      }
      for (let bb = 0; bb < B; bb++) {
        const z = zOff + bb * G;
        const s = (t * B + bb) * H;
        const sPrev = s - B * H;
        for (let j = 0; j < H; j++) {
          const ig = sigmoid(gates[z + j]! + bias[j]!);
          const fg = sigmoid(gates[z + H + j]! + bias[H + j]!);
          const gg = Math.tanh(gates[z + 2 * H + j]! + bias[2 * H + j]!);
          const og = sigmoid(gates[z + 3 * H + j]! + bias[3 * H + j]!);
          gates[z + j] = ig;
          gates[z + H + j] = fg;
          gates[z + 2 * H + j] = gg;
          gates[z + 3 * H + j] = og;
          const c = fg * (t > 0 ? cs[sPrev + j]! : 0) + ig * gg;
          const tc = Math.tanh(c);
          cs[s + j] = c;
          tcs[s + j] = tc;
          hs[s + j] = og * tc;
        }
      }
    }
    return hs;
  }

  /**
   * Backward through time after forward. dLast is d loss / d h_T [B, H]; dOutputs, when given, is
   * d loss / d h_t for every step [T, B, H]. Fills this.grads, and this.dx when wantInputGrad.
   */
  backward(dLast: FloatArray | null, dOutputs: FloatArray | null = null, wantInputGrad = false): void {
    const T = this.T, B = this.B, I = this.inputSize, H = this.hiddenSize, G = 4 * H;
    const { gates, hs, cs, tcs, dz, dc, params, grads, ws } = this;
    // dh holds d loss / d h_t for the step being processed; dhPrev receives d loss / d h_{t-1}.
    let dh = this.dh;
    let dhPrev = this.dhPrev;
    if (dLast) for (let i = 0; i < B * H; i++) dh[i] = dLast[i]!;
    else dh.fill(0);
    dc.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      const zOff = t * B * G;
      for (let bb = 0; bb < B; bb++) {
        const z = zOff + bb * G;
        const s = (t * B + bb) * H;
        const sPrev = s - B * H;
        const r = bb * H;
        for (let j = 0; j < H; j++) {
          const dhj = dh[r + j]! + (dOutputs ? dOutputs[s + j]! : 0);
          const ig = gates[z + j]!, fg = gates[z + H + j]!, gg = gates[z + 2 * H + j]!, og = gates[z + 3 * H + j]!;
          const tc = tcs[s + j]!;
          const dcj = dc[r + j]! + dhj * og * (1 - tc * tc);
          const cPrev = t > 0 ? cs[sPrev + j]! : 0;
          dz[z + j] = dcj * gg * ig * (1 - ig);
          dz[z + H + j] = dcj * cPrev * fg * (1 - fg);
          dz[z + 2 * H + j] = dcj * ig * (1 - gg * gg);
          dz[z + 3 * H + j] = dhj * tc * og * (1 - og);
          dc[r + j] = dcj * fg;
        }
      }
      if (t > 0) {
        // d h_{t-1} = dz_t · U   ([B, 4H] · [4H, H]).
        gemm({ m: B, n: H, k: G, a: dz, aOffset: zOff, b: params.U, transB: true, c: dhPrev }, ws);
        const done = dh;
        dh = dhPrev;
        dhPrev = done;
      }
    }
    // Weight gradients: one GEMM each over all steps.
    gemm({ m: G, n: I, k: T * B, a: dz, transA: true, b: this.x, transB: true, c: grads.W }, ws);
    if (T > 1) {
      gemm({ m: G, n: H, k: (T - 1) * B, a: dz, aOffset: B * G, transA: true, b: hs, transB: true, c: grads.U }, ws);
    } else {
      grads.U.fill(0);
    }
    const db = grads.b;
    db.fill(0);
    for (let row = 0; row < T * B; row++) {
      const z = row * G;
      for (let g = 0; g < G; g++) db[g] += dz[z + g]!;
    }
    if (wantInputGrad) {
      gemm({ m: T * B, n: I, k: G, a: dz, b: params.W, transB: true, c: this.dx }, ws);
    }
  }
}

/** The benchmark's training step: LSTM, Dense(1) on the last output, MSE, Adam over all parameters. */
export class HandwrittenLstmTrainer {
  readonly lstm: HandwrittenLstm;
  readonly head: DenseMseHead;
  readonly adam = new Adam();
  private readonly dLast: FloatArray;

  constructor(inputSize: number, hiddenSize: number, readonly batch: number, make: ArrayMaker = float32) {
    this.lstm = new HandwrittenLstm(inputSize, hiddenSize, make);
    this.lstm.initialize();
    this.head = new DenseMseHead(hiddenSize, make);
    this.dLast = make(batch * hiddenSize);
  }

  /** Forward, loss, backward and one Adam update; returns the loss before the update. */
  trainStep(x: FloatArray, target: ArrayLike<number>): number {
    const H = this.lstm.hiddenSize, B = this.batch;
    const hs = this.lstm.forward(x, B);
    const T = hs.length / (B * H);
    const loss = this.head.lossAndGrad(hs, (T - 1) * B * H, B, target, this.dLast, 0);
    this.lstm.backward(this.dLast);
    const { params, grads } = this.lstm;
    this.adam.step(
      { W: params.W, U: params.U, b: params.b, dense_w: this.head.w, dense_b: this.head.bias },
      { W: grads.W, U: grads.U, b: grads.b, dense_w: this.head.dw, dense_b: this.head.dbias },
    );
    return loss;
  }
}

/** A small seeded generator (uniform in [0, 1)) so runs are reproducible. */
export function lcg(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
