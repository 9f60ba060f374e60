// Checks the example data generators against the rules they claim to follow, on many samples:
// the adding problem against Hochreiter & Schmidhuber (1997) section 5.4, every embedded Reber
// string against an independent recognizer written here as a transition table, the synthetic
// reviews' labels against the XOR rule, and the character loader against the text it read.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addingData, addingScore, addingSequence } from "../studies/data/adding.ts";
import { embeddedReberData, embeddedReberString, reberStringsCorrect, REBER_SYMBOLS } from "../studies/data/reber.ts";
import { makeRng } from "../studies/data/rng.ts";
import { NEGATIONS, NEGATIVE, POSITIVE, sentimentData } from "../studies/data/sentiment.ts";
import { charCorpus, charSequences, DEFAULT_CORPUS, loadCharCorpus, oneHot, sampleWithTemperature } from "../studies/data/text.ts";

describe("rng", () => {
  it("is reproducible, in [0, 1), and roughly uniform", () => {
    const a = makeRng(7);
    const b = makeRng(7);
    const c = makeRng(8);
    const xs = Array.from({ length: 20000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs[0]).not.toBe(c());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    const deciles = new Array(10).fill(0);
    for (const x of xs) deciles[Math.floor(x * 10)]++;
    for (const d of deciles) expect(Math.abs(d - 2000)).toBeLessThan(200);
  });
});

describe("adding problem (Hochreiter & Schmidhuber 1997, 5.4)", () => {
  for (const T of [100, 20, 57]) {
    it(`follows the paper's rules on 3000 sequences, T = ${T}`, () => {
      const rng = makeRng(T);
      const maxLen = T + Math.floor(T / 10);
      const lengthsSeen = new Set<number>();
      const firstSeen = new Set<number>();
      let secondMax = 0;
      for (let n = 0; n < 3000; n++) {
        const s = addingSequence(T, rng);
        expect(s.length).toBeGreaterThanOrEqual(T);
        expect(s.length).toBeLessThanOrEqual(maxLen);
        lengthsSeen.add(s.length);
        // Markers recomputed from the rules: exactly two 1s; -1 at both ends unless marked; else 0.
        const ones: number[] = [];
        const expectedMarkers: number[] = [];
        for (let t = 0; t < s.length; t++) {
          if (s.markers[t] === 1) ones.push(t);
          expectedMarkers.push(s.markers[t] === 1 ? 1 : t === 0 || t === s.length - 1 ? -1 : 0);
        }
        expect(Array.from(s.markers)).toEqual(expectedMarkers);
        expect(Math.max(...Array.from(s.values, Math.abs))).toBeLessThanOrEqual(1);
        expect(ones).toHaveLength(2);
        const [first, second] = s.marked;
        expect(ones).toEqual([Math.min(first, second), Math.max(first, second)]);
        expect(first).toBeLessThan(10); // one of the first ten pairs
        expect(second).not.toBe(first);
        expect(second).toBeLessThan(Math.floor(T / 2)); // one of the first T/2 - 1 still unmarked pairs
        firstSeen.add(first);
        secondMax = Math.max(secondMax, second);
        // "X1 is set to zero in the rare case where the first pair got marked".
        if (ones[0] === 0) expect(s.values[0]).toBe(0);
        // Target: 0.5 + (X1 + X2) / 4, from the marked values.
        const expected = 0.5 + (s.values[ones[0]!]! + s.values[ones[1]!]!) / 4;
        expect(s.target).toBeCloseTo(expected, 12);
        expect(s.target).toBeGreaterThanOrEqual(0);
        expect(s.target).toBeLessThanOrEqual(1);
      }
      // Every length and first-mark position occurs; second marks reach the end of their range.
      expect(lengthsSeen.size).toBe(maxLen - T + 1);
      expect(firstSeen.size).toBe(10);
      expect(secondMax).toBe(Math.floor(T / 2) - 1);
    });
  }

  it("values are uniform in [-1, 1]", () => {
    const d = addingData(200, 100, 3);
    const vals: number[] = [];
    d.sequences.forEach((s) => s.values.forEach((v, t) => s.markers[t] !== 1 && t > 0 && vals.push(v)));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const meanSq = vals.reduce((a, b) => a + b * b, 0) / vals.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(meanSq).toBeCloseTo(1 / 3, 1);
  });

  it("packs padded inputs, lengths and targets consistently, and is seeded", () => {
    const d = addingData(50, 30, 11);
    expect(d.maxLength).toBe(33);
    expect(d.inputs.length).toBe(50 * 33 * 2);
    d.sequences.forEach((s, n) => {
      expect(d.lengths[n]).toBe(s.length);
      expect(d.targets[n]).toBeCloseTo(s.target, 6);
      for (let t = 0; t < d.maxLength; t++) {
        const base = (n * d.maxLength + t) * 2;
        expect(d.inputs[base]).toBe(t < s.length ? s.values[t] : 0);
        expect(d.inputs[base + 1]).toBe(t < s.length ? s.markers[t] : 0);
      }
    });
    expect(addingData(50, 30, 11).inputs).toEqual(d.inputs);
    expect(addingData(50, 30, 12).inputs).not.toEqual(d.inputs);
  });

  it("scores with the 0.04 criterion and rejects bad arguments", () => {
    const score = addingScore([0.5, 0.5, 0.5, 0.5], [0.5, 0.539, 0.541, 0.3]);
    expect(score.fractionSolved).toBe(0.5);
    expect(score.meanAbsError).toBeCloseTo((0 + 0.039 + 0.041 + 0.2) / 4, 9);
    expect(() => addingSequence(10, 1)).toThrow(/T must be an integer >= 20/);
    expect(() => addingData(0, 100, 1)).toThrow(/count/);
    expect(() => addingScore([1], [1, 2])).toThrow(/1 predictions for 2 targets/);
  });
});

// An independent recognizer for the embedded Reber grammar: states of the whole automaton,
// including the embedding, as a transition table state -> symbol -> next state. "T" and "P" name the
// branch the string took, which the table must remember to accept only the matching symbol at the end.
const RECOGNIZER: Record<string, Record<string, string>> = {
  start: { B: "b0" },
  b0: { T: "T:in", P: "P:in" },
};
for (const br of ["T", "P"]) {
  const s = (x: string) => `${br}:${x}`;
  Object.assign(RECOGNIZER, {
    [s("in")]: { B: s("1") },
    [s("1")]: { T: s("2"), P: s("3") },
    [s("2")]: { S: s("2"), X: s("4") },
    [s("3")]: { T: s("3"), V: s("5") },
    [s("4")]: { X: s("3"), S: s("6") },
    [s("5")]: { P: s("4"), V: s("6") },
    [s("6")]: { E: s("out") },
    [s("out")]: { [br]: "last" },
  });
}
RECOGNIZER["last"] = { E: "accept" };

function recognize(str: string): boolean {
  let state = "start";
  for (const ch of str) {
    const next = RECOGNIZER[state]?.[ch];
    if (!next) return false;
    state = next;
  }
  return state === "accept";
}

function legalNextFromTable(prefix: string): Set<string> {
  let state = "start";
  for (const ch of prefix) state = RECOGNIZER[state]![ch]!;
  return new Set(Object.keys(RECOGNIZER[state] ?? {}));
}

describe("embedded Reber grammar", () => {
  it("the recognizer itself accepts known strings and rejects broken ones", () => {
    expect(recognize("BTBTXSETE")).toBe(true);
    expect(recognize("BPBPVVEPE")).toBe(true);
    expect(recognize("BTBTSSXXTVVETE")).toBe(true);
    expect(recognize("BTBTXSEPE")).toBe(false); // long-lag symbol mismatched
    expect(recognize("BTBTXXEPE")).toBe(false);
    expect(recognize("BTBTXSET")).toBe(false);
  });

  it("every generated string is accepted; both branches and many lengths occur", () => {
    const rng = makeRng(5);
    const branches = new Map<string, number>();
    const lengths = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const s = embeddedReberString(rng);
      expect(recognize(s), s).toBe(true);
      branches.set(s[1]!, (branches.get(s[1]!) ?? 0) + 1);
      lengths.add(s.length);
      expect(s[s.length - 2]).toBe(s[1]);
    }
    expect(Math.abs(branches.get("T")! - 2500)).toBeLessThan(200);
    expect(lengths.size).toBeGreaterThan(8);
    expect(Math.min(...lengths)).toBe(9);
  });

  it("encodes one-hot inputs, next-symbol targets and legal-next sets that match the recognizer", () => {
    const d = embeddedReberData(400, 9);
    const K = REBER_SYMBOLS.length;
    d.strings.forEach((s, n) => {
      expect(d.lengths[n]).toBe(s.length - 1);
      for (let t = 0; t < d.maxLength; t++) {
        const row = n * d.maxLength + t;
        const inRow = Array.from(d.inputs.subarray(row * K, row * K + K));
        const tgRow = Array.from(d.targets.subarray(row * K, row * K + K));
        if (t >= s.length - 1) {
          expect(inRow.every((v) => v === 0) && tgRow.every((v) => v === 0)).toBe(true);
          expect(d.legal[row]).toBe(0);
          expect(d.targetIndices[row]).toBe(-1);
          continue;
        }
        expect(REBER_SYMBOLS[inRow.indexOf(1)]).toBe(s[t]);
        expect(inRow.reduce((a, b) => a + b, 0)).toBe(1);
        expect(REBER_SYMBOLS[tgRow.indexOf(1)]).toBe(s[t + 1]);
        expect(REBER_SYMBOLS[d.targetIndices[row]!]).toBe(s[t + 1]);
        const legal = new Set<string>(REBER_SYMBOLS.filter((_, k) => (d.legal[row]! >> k) & 1));
        expect(legal).toEqual(legalNextFromTable(s.slice(0, t + 1)));
        expect(legal.has(s[t + 1]!)).toBe(true);
      }
      // The long-lag step: after the inner E only the second symbol may follow.
      expect(legalNextFromTable(s.slice(0, s.length - 2))).toEqual(new Set([s[1]]));
    });
  });

  it("scores strings: legal above threshold and illegal below", () => {
    const d = embeddedReberData(3, 2, 20);
    const K = REBER_SYMBOLS.length;
    const perfect = new Float32Array(d.count * d.maxLength * K);
    for (let row = 0; row < d.count * d.maxLength; row++) {
      const mask = d.legal[row]!;
      const n = [...Array(K).keys()].filter((k) => (mask >> k) & 1).length;
      for (let k = 0; k < K; k++) if ((mask >> k) & 1) perfect[row * K + k] = 1 / n;
    }
    expect(reberStringsCorrect(d, perfect)).toEqual([true, true, true]);
    // Break the long-lag prediction of string 1: put weight on the wrong branch symbol.
    const broken = perfect.slice();
    const lag = 1 * d.maxLength + d.lengths[1]! - 2;
    const wrong = d.strings[1]![1] === "T" ? 2 : 1;
    broken[lag * K + wrong] = 0.5;
    expect(reberStringsCorrect(d, broken)).toEqual([true, false, true]);
    expect(() => reberStringsCorrect(d, new Float32Array(5))).toThrow(/expected/);
    expect(d.maxLength).toBe(20);
  });
});

describe("synthetic reviews", () => {
  it("labels follow the rule: polarity XOR negation, with a long gap", () => {
    const d = sentimentData(2000, 500, 4, { minGap: 10, maxGap: 20 });
    const pos = new Set<string>(POSITIVE);
    const neg = new Set<string>(NEGATIVE);
    const nots = new Set<string>(NEGATIONS);
    let labelOnes = 0;
    let polarityAgrees = 0;
    for (const split of [d.train, d.test]) {
      split.reviews.forEach((r, n) => {
        const words = Array.from(split.tokens.subarray(n * split.maxLength, n * split.maxLength + split.lengths[n]!), (id) => d.vocab.words[id]!);
        expect(words).toEqual(r.words);
        for (let t = split.lengths[n]!; t < split.maxLength; t++) expect(split.tokens[n * split.maxLength + t]).toBe(0);
        const sentimentIdx = words.map((w, i) => (pos.has(w) || neg.has(w) ? i : -1)).filter((i) => i >= 0);
        const negIdx = words.map((w, i) => (nots.has(w) ? i : -1)).filter((i) => i >= 0);
        expect(sentimentIdx).toHaveLength(1);
        expect(negIdx.length).toBeLessThanOrEqual(1);
        const positive = pos.has(words[sentimentIdx[0]!]!);
        const expected = positive !== negIdx.length > 0 ? 1 : 0;
        expect(split.labels[n]).toBe(expected);
        if (negIdx.length) {
          expect(negIdx[0]).toBeLessThanOrEqual(4);
          expect(sentimentIdx[0]! - negIdx[0]!).toBeGreaterThan(10);
        }
        labelOnes += expected;
        if (positive === (expected === 1)) polarityAgrees++;
      });
    }
    // Balanced labels; the sentiment word alone is right exactly when there is no negation (70%).
    expect(Math.abs(labelOnes / 2500 - 0.5)).toBeLessThan(0.04);
    expect(Math.abs(polarityAgrees / 2500 - 0.7)).toBeLessThan(0.04);
    const trainText = new Set(d.train.reviews.map((r) => r.words.join(" ")));
    for (const r of d.test.reviews) expect(trainText.has(r.words.join(" "))).toBe(false);
    expect(() => sentimentData(0, 5, 1)).toThrow(/nTrain/);
    // With negationRate 0.5 the sentiment word alone is a coin flip.
    const half = sentimentData(2000, 1, 9, { negationRate: 0.5 }).train.reviews;
    const agree = half.filter((r) => r.label === (pos.has(r.words[r.sentimentAt]!) ? 1 : 0)).length;
    expect(Math.abs(agree / 2000 - 0.5)).toBeLessThan(0.04);
  });
});

describe("character corpus", () => {
  it("the default corpus exists, is several KB and round-trips through the vocabulary", () => {
    const c = loadCharCorpus(DEFAULT_CORPUS);
    expect(c.text.length).toBeGreaterThan(8000);
    expect(c.encoded.length).toBe(c.text.length);
    expect(Array.from(c.encoded, (i) => c.chars[i]).join("")).toBe(c.text);
  });

  it("makes (input, next-char) windows and handles non-ASCII characters", () => {
    const c = charCorpus("héllo wörld, héllo");
    expect(c.chars).toContain("é");
    const s = charSequences(c.encoded, 5, 3);
    expect(s.count).toBe(Math.floor((c.encoded.length - 6) / 3) + 1);
    for (let n = 0; n < s.count; n++) {
      for (let t = 0; t < 5; t++) {
        expect(c.chars[s.inputs[n * 5 + t]!]).toBe(Array.from(c.text)[n * 3 + t]);
        expect(c.chars[s.targets[n * 5 + t]!]).toBe(Array.from(c.text)[n * 3 + t + 1]);
      }
    }
    expect(Array.from(oneHot([2, 0], 3))).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => charSequences(c.encoded, 100)).toThrow(/too short/);
    expect(() => oneHot([3], 3)).toThrow(/outside/);
  });

  it("gives clear errors for missing or empty files", () => {
    const dir = mkdtempSync(join(tmpdir(), "cellc-data-"));
    expect(() => loadCharCorpus(join(dir, "nope.txt"))).toThrow(/no such file/);
    writeFileSync(join(dir, "empty.txt"), "  \n");
    expect(() => loadCharCorpus(join(dir, "empty.txt"))).toThrow(/is empty/);
    expect(() => loadCharCorpus(dir)).toThrow(/not a file/);
  });

  it("samples with temperature: 0 is argmax, frequencies follow p^(1/temperature)", () => {
    const p = [0.6, 0.3, 0.1];
    expect(sampleWithTemperature(p, 0, 1)).toBe(0);
    for (const temp of [1, 0.5, 2]) {
      const rng = makeRng(42);
      const counts = [0, 0, 0];
      const N = 20000;
      for (let i = 0; i < N; i++) counts[sampleWithTemperature(p, temp, rng)]!++;
      const w = p.map((x) => Math.pow(x, 1 / temp));
      const z = w.reduce((a, b) => a + b, 0);
      w.forEach((wi, k) => expect(Math.abs(counts[k]! / N - wi / z)).toBeLessThan(0.015));
    }
    expect(() => sampleWithTemperature(p, -1, 1)).toThrow(/temperature/);
  });
});
