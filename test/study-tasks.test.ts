// The study's tasks (studies/tasks): each one's data against the rules it states (the copy
// sequences decoded step by step, the language model's split, the reviews' length bound and label
// rule), the same data from the same seed and other data from another, shapes that fit the model
// the task builds, and each metric against a value worked out here by hand for a model whose output
// is known (a constant, an oracle, a uniform distribution).

import { describe, expect, it } from "vitest";
import { dense, sequential, tensor, type Sequential, type Tensor } from "../runtime/index.ts";
import { NEGATIONS, POSITIVE } from "../studies/data/sentiment.ts";
import { sentimentVocabulary } from "../studies/data/sentiment.ts";
import { REBER_SIZE } from "../studies/data/reber.ts";
import { charCorpus, DEFAULT_CORPUS, loadCharCorpus } from "../studies/data/text.ts";
import { resolveTask, taskNames } from "../studies/tasks/index.ts";
import { copyData, copyRecall, COPY_LENGTH as K, COPY_SYMBOLS as A } from "../studies/tasks/copy.ts";
import { charlmSplits, trigramBits } from "../studies/tasks/charlm.ts";
import type { Batch, StudyTask, TaskSettings } from "../studies/task.ts";

/** A stand-in model whose predictions are given: tasks only call predict (and evaluate, not here). */
function fixed(predict: (x: Tensor) => Tensor): Sequential {
  return { predict } as unknown as Sequential;
}

const settingsOf = (t: StudyTask): TaskSettings => ({ T: t.T?.default });

describe("the task registry", () => {
  it("lists five tasks, each loadable by name with a consistent description", async () => {
    expect([...taskNames].sort()).toEqual(["adding", "charlm", "copy", "reber", "sentiment"]);
    for (const name of taskNames) {
      const { task } = await resolveTask(name);
      expect(task.name).toBe(name);
      const s = settingsOf(task);
      const data = task.data(s, 3);
      const b = data.train(0, 5);
      // The batch has the model's per-sample input shape (null = any length).
      const shape = task.inputShape(s);
      expect(b.x.shape.length).toBe(shape.length + 1);
      shape.forEach((d, i) => d !== null && expect(b.x.shape[i + 1]).toBe(d));
      expect(b.x.shape[0]).toBe(5);
      expect(b.y.shape[0]).toBe(5);
      // A one-hot task feeds the cell exactly its input features.
      if (shape.length === 2) expect(task.cellInput(s).size).toBe(shape[1]);
    }
  });

  it("gives the same data for the same seed and chunk, other data otherwise", async () => {
    for (const name of taskNames) {
      const { task } = await resolveTask(name);
      const s = settingsOf(task);
      const a = task.data(s, 4);
      const b = task.data(s, 4);
      const c = task.data(s, 5);
      const same = (p: Batch, q: Batch) => Array.from(p.x.data).join() === Array.from(q.x.data).join() && Array.from(p.y.data).join() === Array.from(q.y.data).join();
      expect(same(a.train(2, 16), b.train(2, 16)), name).toBe(true);
      expect(same(a.heldOut, b.heldOut), name).toBe(true);
      expect(same(a.train(2, 16), a.train(3, 16)), name).toBe(false);
      expect(same(a.train(0, 16), c.train(0, 16)), name).toBe(false);
      expect(same(a.heldOut, a.test), name).toBe(false);
    }
  });

  it("refuses a module whose default export is not a task, and an unknown name", async () => {
    await expect(resolveTask("nope")).rejects.toThrow("unknown task 'nope'; known tasks: adding, reber, copy, charlm, sentiment");
    await expect(resolveTask("runtime/rng.ts")).rejects.toThrow("its default export is not a task object");
    await expect(resolveTask("no/such/task.ts")).rejects.toThrow("no such task file: no/such/task.ts");
  });
});

describe("copy task", () => {
  it("holds each of K symbols for exactly T steps, with a go signal at T - 1", () => {
    for (const T of [K + 1, 9, 30]) {
      const d = copyData(50, T, 11 + T);
      const F = A + 2;
      expect(d.steps).toBe(T + K);
      for (let n = 0; n < d.count; n++) {
        const feature = (t: number) => {
          const row = Array.from(d.inputs.subarray((n * d.steps + t) * F, (n * d.steps + t + 1) * F));
          expect(row.reduce((a, b) => a + b, 0)).toBe(1); // one-hot
          return row.indexOf(1);
        };
        const seen: number[] = [];
        for (let t = 0; t < d.steps; t++) {
          const f = feature(t);
          if (t < K) {
            expect(f).toBeLessThan(A);
            seen.push(f + 1);
          } else if (t === T - 1) expect(f).toBe(A + 1);
          else expect(f).toBe(A);
        }
        for (let t = 0; t < d.steps; t++) {
          const want = t >= T ? seen[t - T]! : 0;
          expect(d.targets[n * d.steps + t]).toBe(want); // symbol seen at step j is due at j + T
        }
        expect(Array.from(d.symbols.subarray(n * K, (n + 1) * K))).toEqual(seen);
      }
    }
    expect(() => copyData(1, K, 1)).toThrow(`T must be an integer >= ${K + 1}`);
  });

  it("scores recall: 1 for the targets themselves, the share of symbol 1 for always answering 1", () => {
    const d = copyData(200, 10, 5);
    const C = A + 1;
    const oracle = new Float32Array(d.count * d.steps * C);
    const ones = new Float32Array(d.count * d.steps * C);
    for (let i = 0; i < d.count * d.steps; i++) {
      oracle[i * C + d.targets[i]!] = 1;
      ones[i * C + 1] = 1;
    }
    expect(copyRecall(d, oracle)).toBe(1);
    const share = Array.from(d.symbols).filter((s) => s === 1).length / d.symbols.length;
    expect(copyRecall(d, ones)).toBeCloseTo(share, 12);
    expect(share).toBeGreaterThan(0.15); // about 1/A
    expect(share).toBeLessThan(0.35);
  });
});

describe("metrics against hand-computed values", () => {
  it("adding: mean |err| of a constant prediction, and the 95% criterion", async () => {
    const { task } = await resolveTask("adding");
    const b = task.data({ T: 20 }, 1).heldOut;
    const N = b.y.shape[0]!;
    let sum = 0;
    for (let i = 0; i < N; i++) sum += Math.abs(0.5 - b.y.data[i]!);
    const half = task.evaluate(fixed(() => tensor(new Float32Array(N).fill(0.5), [N, 1])), b, { T: 20 });
    expect(half.metric).toBeCloseTo(sum / N, 6);
    expect(half.success).toBe(false);
    const exact = task.evaluate(fixed(() => tensor(Float32Array.from(b.y.data), [N, 1])), b, { T: 20 });
    expect(exact).toEqual({ metric: 0, success: true });
  });

  it("reber: an oracle that spreads probability over the legal next symbols is always right; uniform never", async () => {
    const { task } = await resolveTask("reber");
    const b = task.data({ T: undefined }, 2).heldOut;
    const [N, T] = b.x.shape as [number, number, number];
    // The legal next symbols, rebuilt from the inputs by an automaton written here.
    const oracle = new Float32Array(N * T * REBER_SIZE);
    const sym = (n: number, t: number) => Array.from(b.x.data.subarray((n * T + t) * REBER_SIZE, (n * T + t + 1) * REBER_SIZE)).indexOf(1);
    const inner: Record<number, [number, number][]> = { 0: [[1, 1], [2, 2]], 1: [[3, 1], [4, 3]], 2: [[1, 2], [5, 4]], 3: [[4, 2], [3, 5]], 4: [[2, 3], [5, 5]] };
    for (let n = 0; n < N; n++) {
      const L = b.x.lengths![n]!;
      let node = -1;
      let branch = -1;
      for (let t = 0; t < L; t++) {
        const s = sym(n, t);
        let legal: number[];
        if (t === 0) legal = [1, 2];
        else if (t === 1) (branch = s), (legal = [0]);
        else if (t === 2) (node = 0), (legal = [1, 2]);
        else if (node >= 0 && node < 5) {
          node = inner[node]!.find(([x]) => x === s)![1];
          legal = node === 5 ? [6] : inner[node]!.map(([x]) => x);
        } else if (node === 5) (node = 6), (legal = [branch]);
        else legal = [6];
        for (const k of legal) oracle[(n * T + t) * REBER_SIZE + k] = 1 / legal.length;
      }
    }
    expect(task.evaluate(fixed(() => tensor(oracle, [N, T, REBER_SIZE])), b, { T: undefined })).toEqual({ metric: 1, success: true });
    const uniform = new Float32Array(N * T * REBER_SIZE).fill(1 / REBER_SIZE);
    expect(task.evaluate(fixed(() => tensor(uniform, [N, T, REBER_SIZE])), b, { T: undefined })).toEqual({ metric: 0, success: false });
  });

  it("charlm: a uniform predictor scores log2(V) bits per character; held-out text comes after all training text", async () => {
    const { task } = await resolveTask("charlm");
    const corpus = loadCharCorpus(DEFAULT_CORPUS);
    const V = corpus.chars.length;
    const s = { T: 16 };
    const model = sequential([dense(V, { activation: "softmax" })], { seed: 1 });
    model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
    await model.build([null, V]);
    for (const p of model.params()) p.value.fill(0);
    const d = task.data(s, 1);
    const e = task.evaluate(model, d.heldOut, s);
    expect(e.metric).toBeCloseTo(Math.log2(V), 5);
    expect(e.success).toBe(false);
    // The windows' characters: training ones (with the character each predicts last) decode to text
    // before the held-out text; held-out and test windows tile their own tenth of the corpus.
    const split = charlmSplits(corpus);
    const decode = (b: Batch, n: number) => {
      let out = "";
      for (let t = 0; t < s.T; t++) out += corpus.chars[Array.from(b.x.data.subarray((n * s.T + t) * V, (n * s.T + t + 1) * V)).indexOf(1)];
      return out;
    };
    const chars = Array.from(corpus.text);
    const trainText = chars.slice(0, split.heldOut).join("");
    const train = d.train(0, 40);
    for (let n = 0; n < 40; n++) {
      const next = corpus.chars[train.y.data[n * s.T + s.T - 1]!]!;
      expect(trainText).toContain(decode(train, n) + next);
    }
    for (const [b, from, to] of [[d.heldOut, split.heldOut, split.test], [d.test, split.test, chars.length]] as const) {
      expect(b.x.shape[0]).toBe(Math.floor((to - from - 1) / s.T));
      for (let n = 0; n < b.x.shape[0]!; n++) expect(decode(b, n)).toBe(chars.slice(from + n * s.T, from + (n + 1) * s.T).join(""));
    }
  });

  it("sentiment: reviews fit T + 7 words, labels follow polarity XOR negation, accuracy of an oracle is 1", async () => {
    const { task } = await resolveTask("sentiment");
    const vocab = sentimentVocabulary();
    const s = { T: 12 };
    const b = task.data(s, 3).heldOut;
    const [N, L] = b.x.shape as [number, number];
    expect(L).toBe(19);
    const labels: number[] = [];
    for (let n = 0; n < N; n++) {
      const words = Array.from(b.x.data.subarray(n * L, n * L + b.x.lengths![n]!), (id) => vocab.words[id]!);
      const negated = words.some((w) => (NEGATIONS as readonly string[]).includes(w));
      const positive = words.some((w) => (POSITIVE as readonly string[]).includes(w));
      labels.push(positive !== negated ? 1 : 0);
    }
    expect(labels).toEqual(Array.from(b.y.data));
    const oracle = task.evaluate(fixed(() => tensor(Float32Array.from(labels, (l) => (l ? 0.9 : 0.1)), [N, 1])), b, s);
    expect(oracle).toEqual({ metric: 1, success: true });
    const flipped = task.evaluate(fixed(() => tensor(Float32Array.from(labels, (l) => (l ? 0.1 : 0.9)), [N, 1])), b, s);
    expect(flipped.metric).toBe(0);
  });
});

describe("charlm's success criterion: a trigram baseline", () => {
  it("matches counts taken by scanning the text, with back-off for an unseen pair", () => {
    const text = "abracadabra, cabbage and a cab; abba banana bandana";
    const c = charCorpus(text);
    const V = c.chars.length;
    const trainEnd = 30;
    const k = 0.05;
    const train = text.slice(0, trainEnd);
    // Occurrences of `s` in the training text ending before trainEnd (overlapping).
    const occ = (s: string) => {
      let n = 0;
      for (let i = 0; i + s.length <= train.length; i++) if (train.slice(i, i + s.length) === s) n++;
      return n;
    };
    let bits = 0;
    for (let i = 35; i < text.length; i++) {
      const pair = text.slice(i - 2, i);
      // Contexts followed by something in the training text: the pair at positions up to trainEnd - 2.
      const seen = occ(pair) - (train.endsWith(pair) ? 1 : 0);
      const [ctx, total] = seen > 0 ? [pair, seen] : [text[i - 1]!, occ(text[i - 1]!) - (train.endsWith(text[i - 1]!) ? 1 : 0)];
      bits -= Math.log2((occ(ctx + text[i]!) + k) / (total + k * V));
    }
    expect(trigramBits(c, trainEnd, 35, text.length, k)).toBeCloseTo(bits / (text.length - 35), 12);
  });
});
