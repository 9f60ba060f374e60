// The number-words generator of the translation example: known spellings in both styles, every
// generated sentence read back by an independent parser of the language, and data sets that are
// reproducible, consistent (ids, teacher-forcing shift, lengths) and whose held-out numbers never
// occur in training. Beam search against exhaustive search over a small random decoder. The
// example's command: a bad flag is a usage error; a short run keeps the best validation epoch.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  MAX_NUMBER,
  numberToWords,
  SOURCE_WORDS,
  TARGET_BOS,
  TARGET_EOS,
  TARGET_WORDS,
  translationData,
  wordsToNumber,
} from "../examples/data/translate.ts";
import { beamSearch, type DecoderStep } from "../examples/data/beam.ts";

describe("number words", () => {
  it("spell known numbers in the American and British styles", () => {
    const cases: [number, string, string][] = [
      [0, "zero", "zero"],
      [15, "fifteen", "fifteen"],
      [40, "forty", "forty"],
      [105, "one hundred five", "one hundred and five"],
      [1005, "one thousand five", "one thousand and five"],
      [1100, "one thousand one hundred", "one thousand one hundred"],
      [20_013, "twenty thousand thirteen", "twenty thousand and thirteen"],
      [100_000, "one hundred thousand", "one hundred thousand"],
      [342_506, "three hundred forty two thousand five hundred six", "three hundred and forty two thousand five hundred and six"],
      [999_999, "nine hundred ninety nine thousand nine hundred ninety nine", "nine hundred and ninety nine thousand nine hundred and ninety nine"],
    ];
    for (const [n, us, uk] of cases) {
      expect(numberToWords(n, "us").join(" ")).toBe(us);
      expect(numberToWords(n, "uk").join(" ")).toBe(uk);
    }
    expect(() => numberToWords(MAX_NUMBER + 1)).toThrow(/not an integer in 0..999999/);
  });

  it("every spelling reads back as its number (an independent parser), and the parser refuses non-numbers", () => {
    for (let n = 0; n <= MAX_NUMBER; n += n < 3000 ? 1 : 97) {
      for (const style of ["us", "uk"] as const) {
        const words = numberToWords(n, style);
        expect(words.every((w) => SOURCE_WORDS.includes(w))).toBe(true);
        expect(wordsToNumber(words)).toBe(n);
      }
    }
    for (const bad of [["hundred"], ["one", "thousand", "thousand"], ["twenty", "twelve"], ["and", "five"], ["one", "hundred", "and"], []]) {
      expect(() => wordsToNumber(bad), bad.join(" ")).toThrow(/wordsToNumber/);
    }
  });
});

describe("translationData", () => {
  const d = translationData(3000, 200, 300, 5);

  it("is reproducible from its seed and differs between seeds", () => {
    const again = translationData(3000, 200, 300, 5);
    expect(again.train.pairs).toEqual(d.train.pairs);
    expect(Array.from(again.test.source)).toEqual(Array.from(d.test.source));
    expect(translationData(3000, 200, 300, 6).train.pairs).not.toEqual(d.train.pairs);
  });

  it("held-out numbers never occur in training or in each other", () => {
    const train = new Set(d.train.pairs.map((p) => p.n));
    const val = d.val.pairs.map((p) => p.n);
    const test = d.test.pairs.map((p) => p.n);
    expect(val.some((n) => train.has(n)) || test.some((n) => train.has(n))).toBe(false);
    expect(new Set([...val, ...test]).size).toBe(val.length + test.length);
  });

  it("tensors hold the sentences: source ids, BOS + digits in, digits + EOS out, lengths", () => {
    const uk = d.train.pairs.filter((p) => p.style === "uk").length / d.train.count;
    expect(uk).toBeGreaterThan(0.45);
    expect(uk).toBeLessThan(0.55);
    for (const s of [d.train, d.val, d.test]) {
      const digitCounts = new Set<number>();
      s.pairs.forEach((p, i) => {
        const L = s.sourceLengths[i]!;
        const ids = Array.from(s.source.subarray(i * s.sourceLength, (i + 1) * s.sourceLength));
        expect(wordsToNumber(ids.slice(0, L).map((id) => SOURCE_WORDS[id]!))).toBe(p.n);
        expect(ids.slice(L).every((id) => id === 0)).toBe(true);
        const digits = String(p.n);
        digitCounts.add(digits.length);
        const T = s.targetLength;
        expect(s.targetLengths[i]).toBe(digits.length + 1);
        const inp = Array.from(s.decoderIn.subarray(i * T, i * T + digits.length + 1)).map((id) => TARGET_WORDS[id]);
        const out = Array.from(s.decoderOut.subarray(i * T, i * T + digits.length + 1));
        expect(inp.join("")).toBe(`${TARGET_WORDS[TARGET_BOS]}${digits}`);
        expect(out.at(-1)).toBe(TARGET_EOS);
        expect(out.slice(0, -1).map((id) => TARGET_WORDS[id]).join("")).toBe(digits);
      });
      expect(digitCounts.size).toBeGreaterThan(3);
    }
  });
});

describe("beam search", () => {
  // Tokens: 0 padding, 1 BOS, 2 EOS, 3 "a", 4 "b". The state is the sentence's history, one float per
  // step (so the step sees which row is which after beams are reordered).
  const V = 5;
  const L = 4;
  /** A decoder whose next-token distribution is a fixed random function of (sentence, history). */
  function randomDecoder(seed: number): { step: DecoderStep; prob: (sentence: number, history: number[], tok: number) => number } {
    const table = new Map<string, number[]>();
    let s = seed >>> 0;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const dist = (key: string) => {
      let d = table.get(key);
      if (!d) {
        const w = [0, 0, rnd(), rnd(), rnd()].map((v) => v * v * v);
        const z = w.reduce((a, b) => a + b, 0);
        d = w.map((v) => v / z);
        table.set(key, d);
      }
      return d;
    };
    const prob = (sentence: number, history: number[], tok: number) => dist(`${sentence}|${history.join(",")}`)[tok]!;
    const step: DecoderStep = (tokens, [st]) => {
      const R = tokens.length;
      const next = new Float32Array(R * (L + 2));
      const probs = new Float32Array(R * V);
      for (let r = 0; r < R; r++) {
        const row = Array.from(st!.subarray(r * (L + 2), (r + 1) * (L + 2)));
        const sentence = row[0]!;
        const len = row[1]!;
        const history = row.slice(2, 2 + len);
        if (tokens[r] !== 1) history.push(tokens[r]!);
        next.set([sentence, history.length, ...history], r * (L + 2));
        dist(`${sentence}|${history.join(",")}`).forEach((p, v) => (probs[r * V + v] = p));
      }
      return { probs, states: [next] };
    };
    return { step, prob };
  }

  /** The most probable finished output of up to L tokens, by enumeration. */
  function exhaustive(prob: (s: number, h: number[], t: number) => number, sentence: number): number[] {
    let best: { seq: number[]; lp: number } = { seq: [], lp: -Infinity };
    const walk = (h: number[], lp: number) => {
      const end = lp + Math.log(prob(sentence, h, 2));
      if (end > best.lp) best = { seq: h, lp: end };
      if (h.length < L - 1) for (const t of [3, 4]) walk([...h, t], lp + Math.log(prob(sentence, h, t)));
    };
    walk([], 0);
    return best.seq;
  }

  it("a beam as wide as every path finds the most probable output; K = 1 is greedy", () => {
    const N = 6;
    const { step, prob } = randomDecoder(11);
    const init = [new Float32Array(N * (L + 2))];
    for (let i = 0; i < N; i++) init[0]![i * (L + 2)] = i;
    const opts = { maxLength: L, vocab: V, bos: 1, eos: 2, never: [0, 1] };
    const wide = beamSearch(step, init, N, { ...opts, beam: 32 }); // at most 31 candidates ever compete
    const greedy = beamSearch(step, init, N, { ...opts, beam: 1 });
    let differ = 0;
    for (let i = 0; i < N; i++) {
      expect(wide[i]).toEqual(exhaustive(prob, i));
      // Greedy: the most probable token at each step until EOS.
      const h: number[] = [];
      while (h.length < L) {
        const t = [2, 3, 4].reduce((a, b) => (prob(i, h, b) > prob(i, h, a) ? b : a));
        if (t === 2) break;
        h.push(t);
      }
      expect(greedy[i]).toEqual(h);
      if (greedy[i]!.join() !== wide[i]!.join()) differ++;
    }
    expect(differ).toBeGreaterThan(0); // the random decoder has cases where greedy is not the best
  });
});

describe("the translation example's command", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "examples/translate.ts", ...args], { cwd: root, encoding: "utf8" });

  it("rejects a bad --schedule with usage and exit 2", () => {
    const r = run(["--schedule", "linear"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("example:translate: --schedule must be cosine or constant, got linear");
    expect(r.stderr).toContain("--patience <n>");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("keeps the weights of the epoch with the best validation exact match (rescored after training)", () => {
    const out = join(mkdtempSync(join(tmpdir(), "cellc-translate-")), "curve.svg");
    // A constant, high rate: validation exact match goes 7%, 16%, 20%, 16% on seed 1, so the last
    // epoch is not the best.
    const r = run(["--train", "2000", "--val", "100", "--test", "40", "--epochs", "4", "--units", "16", "--lr", "0.1", "--schedule", "constant", "--examples", "0", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const scores = [...r.stdout.matchAll(/validation: ([\d.]+)% of sentences exactly right/g)].map((m) => Number(m[1]));
    expect(scores.length).toBe(4);
    const best = scores.indexOf(Math.max(...scores)) + 1;
    expect(best).toBeLessThan(4);
    expect(r.stdout).toContain(`Kept the weights of epoch ${best} of 4 (validation exact match ${scores[best - 1]!.toFixed(1)}%)`);
  });
});
