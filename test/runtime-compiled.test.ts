// The runtime with kernels the compiler emits: the compiled rnn.cell agrees with the
// hand-written Elman reference under the kernel contract (lengths, state masks, initial state,
// backward); a layer around the compiled lstm.cell has finite-difference-correct gradients; and
// the seeds' Keras text model (Embedding -> Dropout -> LSTM -> Dense -> Dropout -> Dense) builds,
// summarises and learns.
import { describe, expect, it } from "vitest";
import { checkLayerGradients } from "./helpers/layer-gradcheck.ts";
import { Recurrent, Rng, sequential, embedding, dropout, dense, rmsprop, type Tensors, type Tensor } from "../runtime/index.ts";
import { rnn, loadKernel, specPath, lstm } from "../jit/index.ts";
import { elmanKernel } from "./runtime-elman.ts";

function rand(n: number, rng: Rng, s = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-s, s);
  return a;
}

describe("compiled kernels in the runtime", () => {
  it("compiled rnn.cell matches the hand-written Elman kernel under the contract", async () => {
    const I = 2;
    const H = 3;
    const B = 3;
    const T = 4;
    const k = await loadKernel(specPath("rnn"), { I, H });
    const ref = elmanKernel(I, H);
    const rng = new Rng(1);
    const params: Tensors = { W: rand(H * I, rng), U: rand(H * H, rng), b: rand(H, rng) };
    const x = rand(T * B * I, rng);
    const opts = {
      batchSize: B,
      lengths: [4, 2, 0],
      initialState: { h: rand(B * H, rng, 0.5) },
      stateMasks: { h: Float32Array.from([2, 0, 2, 0, 2, 2, 2, 2, 0]) },
    };
    const a = k.forward(params, { x }, opts);
    const b = ref.forward(params, { x }, opts);
    const outName = k.meta.outputs[0]!.name;
    for (let i = 0; i < T * B * H; i++) expect(a.outputs[outName]![i]).toBeCloseTo(b.outputs.y![i]!, 5);
    for (let i = 0; i < B * H; i++) expect(a.finalState.h![i]).toBeCloseTo(b.finalState.h![i]!, 5);
    const dy = rand(T * B * H, rng);
    const dFinal = { h: rand(B * H, rng) };
    const ga = k.backward(params, a.tape, { [outName]: dy }, { dFinalState: dFinal });
    const gb = ref.backward(params, b.tape, { y: dy }, { dFinalState: dFinal });
    for (const p of ["W", "U", "b"]) for (let i = 0; i < params[p]!.length; i++) expect(ga.params[p]![i]).toBeCloseTo(gb.params[p]![i]!, 4);
    for (let i = 0; i < x.length; i++) expect(ga.inputs.x![i]).toBeCloseTo(gb.inputs.x![i]!, 4);
    for (let i = 0; i < B * H; i++) expect(ga.initialState.h![i]).toBeCloseTo(gb.initialState.h![i]!, 4);
  });

  it("a layer around compiled lstm.cell: gradients match finite differences", async () => {
    const I = 2;
    const H = 3;
    const layer = new Recurrent({ kernel: (F) => loadKernel(specPath("lstm"), { I: F, H }), returnSequences: true, name: "l" });
    await layer.build([null, I], new Rng(2));
    expect(layer.params().map((p) => p.name)).toContain("U_f");
    // The forget bias is initialised to ones as the spec declares.
    expect(Array.from(layer.params().find((p) => p.name === "b_f")!.value)).toEqual([1, 1, 1]);
    const rng = new Rng(3);
    const x: Tensor = { data: rand(2 * 3 * I, rng), shape: [2, 3, I], lengths: Int32Array.from([3, 2]) };
    const c = rand(2 * 3 * H, rng);
    checkLayerGradients(layer, x, c, { tol: 2e-3 });
  });

  it("the seeds' Keras text model builds, summarises and its loss falls", async () => {
    const V = 12;
    const T = 8;
    const N = 64;
    const rng = new Rng(4);
    // Label: does token 1 ("not") appear in the first half?
    const x = new Float32Array(N * T);
    const y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      for (let t = 0; t < T; t++) x[i * T + t] = 2 + rng.int(V - 2);
      if (rng.next() < 0.5) {
        x[i * T + rng.int(T / 2)] = 1;
        y[i] = 1;
      }
    }
    const model = sequential(
      [embedding(V, 5), dropout(0.2), lstm(6, { dropout: 0.2, recurrentDropout: 0.2 }), dense(10, { activation: "relu" }), dropout(0.2), dense(1, { activation: "sigmoid" })],
      { seed: 1 },
    );
    model.compile({ optimizer: rmsprop({ learningRate: 0.01 }), loss: "binaryCrossentropy", metrics: ["accuracy"] });
    const h = await model.fit({ data: x, shape: [N, T] }, { data: y, shape: [N, 1] }, { epochs: 6, batchSize: 16, verbose: 0 });
    const s = model.summary();
    expect(s).toMatch(/embedding \(Embedding\)\s+\[batch, \?, 5\]\s+60/);
    expect(s).toMatch(/lstm \(lstm\)\s+\[batch, 6\]\s+288/); // 4 * (6*5 + 6*6 + 6)
    expect(s).toMatch(/dropout_1 \(Dropout\)/);
    expect(s).toContain(`Total params: ${60 + 288 + 70 + 11}`);
    const loss = h.history.loss!;
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
  });

  it("a spec with errors fails the build with the compiler's diagnostics", async () => {
    const m = sequential([rnn({ spec: "no/such/file.cell", units: 4 })]);
    await expect(m.build([null, 2])).rejects.toThrow(/building layer 'file': .*CE301.*no such file/s);
  });
});
