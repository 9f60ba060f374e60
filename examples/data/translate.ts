// A toy translation task for the encoder-decoder example: English number words into digits,
// "three hundred and forty two thousand five hundred six" -> "342506", for 0..999,999. The words
// follow two styles drawn per sentence: American ("three hundred forty two") and British, with "and"
// after "hundred" and before a final part under 100 ("one thousand and five"). Everything comes
// from a seeded generator, and the held-out sentences are numbers the training set never contains.
// wordsToNumber is an independent reader of the language (a small parser written from the grammar,
// not from the generator) that the tests use to check every generated pair.

import { randInt, toRng, type Rng, type RngOrSeed } from "../../studies/data/rng.ts";

export const ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"] as const;
export const TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"] as const;
export const MAX_NUMBER = 999_999;

export type Style = "us" | "uk";

/** Words for 1..99 (no "zero"). */
function below100(n: number): string[] {
  if (n < 20) return [ONES[n]!];
  const t = TENS[Math.floor(n / 10) - 2]!;
  return n % 10 === 0 ? [t] : [t, ONES[n % 10]!];
}

/** Words for 1..999; `and` puts "and" between the hundreds and the rest (British). */
function below1000(n: number, and: boolean): string[] {
  const h = Math.floor(n / 100);
  const r = n % 100;
  const out: string[] = [];
  if (h > 0) out.push(ONES[h]!, "hundred");
  if (r > 0) {
    if (h > 0 && and) out.push("and");
    out.push(...below100(r));
  }
  return out;
}

/** The English words for an integer 0..999,999. */
export function numberToWords(n: number, style: Style = "us"): string[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_NUMBER) throw new Error(`numberToWords: ${n} is not an integer in 0..${MAX_NUMBER}`);
  if (n === 0) return ["zero"];
  const uk = style === "uk";
  const th = Math.floor(n / 1000);
  const rest = n % 1000;
  const out: string[] = [];
  if (th > 0) out.push(...below1000(th, uk), "thousand");
  if (rest > 0) {
    // British: "one thousand and five" (a final part under 100 after thousands).
    if (uk && th > 0 && rest < 100) out.push("and");
    out.push(...below1000(rest, uk));
  }
  return out;
}

/** Reads number words back (either style); throws on anything that is not a number of the language. */
export function wordsToNumber(words: readonly string[]): number {
  let i = 0;
  const peek = () => words[i];
  const value = (w: string | undefined, list: readonly string[]) => (w === undefined ? -1 : list.indexOf(w));
  // group := [ONE "hundred" ["and"]] [tens-part] ; tens-part := TEEN-OR-ONE | TEN [ONE(1..9)]
  const group = (): number => {
    let total = 0;
    let seen = false;
    let and = false;
    const h = value(peek(), ONES);
    if (h >= 1 && h <= 9 && words[i + 1] === "hundred") {
      total += h * 100;
      i += 2;
      seen = true;
      if (peek() === "and") {
        i++;
        and = true;
      }
    }
    const start = i;
    const t = value(peek(), TENS);
    if (t >= 0) {
      total += (t + 2) * 10;
      i++;
      seen = true;
      const o = value(peek(), ONES);
      if (o >= 1 && o <= 9) {
        total += o;
        i++;
      }
    } else {
      const o = value(peek(), ONES);
      if (o >= 1) {
        total += o;
        i++;
        seen = true;
      }
    }
    if (!seen || (and && i === start)) throw new Error(`wordsToNumber: expected a number at word ${i} of "${words.join(" ")}"`);
    return total;
  };
  if (words.length === 1 && words[0] === "zero") return 0;
  let n = group();
  if (peek() === "thousand") {
    i++;
    n *= 1000;
    if (i < words.length) {
      if (peek() === "and") i++;
      n += group();
    }
  }
  if (i !== words.length) throw new Error(`wordsToNumber: unexpected "${words[i]}" at word ${i} of "${words.join(" ")}"`);
  return n;
}

/** Padding is id 0 in both vocabularies. */
export const PAD = "<pad>";
export const BOS = "<s>";
export const EOS = "</s>";
export const SOURCE_WORDS: readonly string[] = [PAD, ...ONES, ...TENS, "hundred", "thousand", "and"];
export const TARGET_WORDS: readonly string[] = [PAD, BOS, EOS, ..."0123456789"];
export const TARGET_BOS = 1;
export const TARGET_EOS = 2;

/** Digits of a number as target ids (no BOS / EOS). */
export function digitIds(n: number): number[] {
  return [...String(n)].map((d) => 3 + Number(d));
}

/** The text a sequence of target ids spells, up to EOS ("?" for an id that is not a digit). */
export function idsToNumberText(ids: readonly number[]): string {
  const out: string[] = [];
  for (const id of ids) {
    if (id === TARGET_EOS) break;
    out.push(TARGET_WORDS[id] ?? "?");
  }
  return out.join("");
}

export interface TranslationPair {
  n: number;
  style: Style;
  source: string[];
}

export interface TranslationSplit {
  pairs: TranslationPair[];
  count: number;
  /** Source ids [count, sourceLength], padded with 0; lengths per pair. */
  source: Float32Array;
  sourceLength: number;
  sourceLengths: Int32Array;
  /** Decoder input for teacher forcing: BOS then the digits, [count, targetLength]. */
  decoderIn: Float32Array;
  /** What the decoder must produce: the digits then EOS, [count, targetLength]. */
  decoderOut: Float32Array;
  targetLength: number;
  /** Digits + 1 per pair (both decoder arrays). */
  targetLengths: Int32Array;
}

export interface TranslationOptions {
  /** Largest number of digits (1..6, default 6). */
  maxDigits?: number;
  /** Probability of the British style (default 0.5). */
  ukRate?: number;
}

/** A number whose digit count is uniform in 1..maxDigits, then uniform among those. */
function drawNumber(rng: Rng, maxDigits: number): number {
  const d = randInt(rng, 1, maxDigits);
  return d === 1 ? randInt(rng, 0, 9) : randInt(rng, 10 ** (d - 1), 10 ** d - 1);
}

function split(pairs: TranslationPair[], sourceLength: number, targetLength: number): TranslationSplit {
  const N = pairs.length;
  const source = new Float32Array(N * sourceLength);
  const decoderIn = new Float32Array(N * targetLength);
  const decoderOut = new Float32Array(N * targetLength);
  const sourceLengths = new Int32Array(N);
  const targetLengths = new Int32Array(N);
  pairs.forEach((p, i) => {
    p.source.forEach((w, t) => (source[i * sourceLength + t] = SOURCE_WORDS.indexOf(w)));
    sourceLengths[i] = p.source.length;
    const digits = digitIds(p.n);
    [TARGET_BOS, ...digits].forEach((id, t) => (decoderIn[i * targetLength + t] = id));
    [...digits, TARGET_EOS].forEach((id, t) => (decoderOut[i * targetLength + t] = id));
    targetLengths[i] = digits.length + 1;
  });
  return { pairs, count: N, source, sourceLength, sourceLengths, decoderIn, decoderOut, targetLength, targetLengths };
}

/** Training, validation and test sentences from one seed; validation and test numbers never occur
 *  in training (nor in each other). */
export function translationData(nTrain: number, nVal: number, nTest: number, seed: RngOrSeed, options: TranslationOptions = {}) {
  const maxDigits = options.maxDigits ?? 6;
  const ukRate = options.ukRate ?? 0.5;
  if (!Number.isInteger(maxDigits) || maxDigits < 1 || maxDigits > 6) throw new Error(`translationData: maxDigits must be 1..6, got ${maxDigits}`);
  if (!(ukRate >= 0 && ukRate <= 1)) throw new Error(`translationData: ukRate must be in [0, 1], got ${ukRate}`);
  const rng = toRng(seed);
  const pair = (n: number): TranslationPair => {
    const style: Style = rng() < ukRate ? "uk" : "us";
    return { n, style, source: numberToWords(n, style) };
  };
  const train = Array.from({ length: nTrain }, () => pair(drawNumber(rng, maxDigits)));
  const seen = new Set(train.map((p) => p.n));
  const heldOut = (count: number): TranslationPair[] => {
    const out: TranslationPair[] = [];
    const capacity = 10 ** maxDigits;
    if (seen.size + count > capacity) throw new Error(`translationData: only ${capacity - seen.size} numbers of up to ${maxDigits} digits are left for ${count} held-out sentences`);
    while (out.length < count) {
      // Redraw until unseen: small numbers are mostly taken by training, so held-out sets lean to longer ones.
      const n = drawNumber(rng, maxDigits);
      if (seen.has(n)) continue;
      seen.add(n);
      out.push(pair(n));
    }
    return out;
  };
  const val = heldOut(nVal);
  const test = heldOut(nTest);
  const all = [...train, ...val, ...test];
  const sourceLength = Math.max(...all.map((p) => p.source.length));
  const targetLength = maxDigits + 1;
  return { train: split(train, sourceLength, targetLength), val: split(val, sourceLength, targetLength), test: split(test, sourceLength, targetLength) };
}

