// A small synthetic review language for the sentiment example (the seeds' Keras text classifier
// needs a data set, and the project ships no copyrighted reviews). Its label depends on two words
// far apart: a negation near the start ("not", "never", "hardly") flips the polarity of the one
// sentiment word that comes many filler tokens later. Negation is present in 30% of reviews by
// default, so the sentiment word alone gives 70% accuracy (a first thing to learn) and only a
// model that carries the negation across the gap gets further. The rule, recomputable from the
// tokens:
//
//   label = (the sentiment word is positive) XOR (a negation word occurs in the review)
//
// A review: [opener] subject verb [negation] filler*gap sentiment-word [closer]. Fillers, openers,
// subjects, verbs and closers are neutral words that never include a negation or sentiment word.

import { pick, randInt, toRng, type Rng, type RngOrSeed } from "./rng.ts";

export const NEGATIONS = ["not", "never", "hardly"] as const;
export const POSITIVE = ["good", "great", "wonderful", "brilliant", "moving", "charming", "superb", "delightful"] as const;
export const NEGATIVE = ["bad", "awful", "boring", "dull", "terrible", "weak", "bland", "tedious"] as const;
const OPENERS = ["honestly", "overall", "frankly", "well", "so"];
const SUBJECTS = [["the", "movie"], ["this", "film"], ["the", "story"], ["the", "show"], ["the", "plot"], ["the", "acting"], ["this", "sequel"]];
const VERBS = ["was", "is", "seemed", "felt", "looked"];
const FILLERS = [
  "really", "at", "the", "end", "after", "two", "hours", "of", "watching", "with", "my", "family",
  "on", "a", "rainy", "sunday", "and", "popcorn", "during", "second", "half", "which", "lasted",
  "long", "time", "in", "cinema", "near", "station", "while", "friends", "talked", "about", "music",
  "scenes", "camera", "light", "summer", "evening", "city", "old", "new", "to", "me", "quite",
];
const CLOSERS = ["overall", "to", "me", "in", "the", "end", "i", "think"];

/** Token id 0 is padding. */
export const PAD = "<pad>";

export interface SentimentVocabulary {
  /** Word by id; id 0 is padding. */
  words: string[];
  ids: Map<string, number>;
}

/** The fixed vocabulary of the review language (every word any review can contain). */
export function sentimentVocabulary(): SentimentVocabulary {
  const all = new Set<string>([
    ...OPENERS, ...SUBJECTS.flat(), ...VERBS, ...NEGATIONS, ...FILLERS, ...POSITIVE, ...NEGATIVE, ...CLOSERS,
  ]);
  const words = [PAD, ...[...all].sort()];
  return { words, ids: new Map(words.map((w, i) => [w, i])) };
}

export interface ReviewOptions {
  /** Fewest filler tokens between the negation slot and the sentiment word (default 8). */
  minGap?: number;
  /** Most filler tokens (default 24). */
  maxGap?: number;
  /** Probability that a review contains a negation (default 0.3). */
  negationRate?: number;
}

export interface Review {
  words: string[];
  /** 1 positive, 0 negative. */
  label: number;
  negated: boolean;
  /** Index of the sentiment word in `words`. */
  sentimentAt: number;
}

/** One review; polarity is positive with probability 1/2 (so labels balance), negation is present
 *  with probability negationRate. */
export function review(source: RngOrSeed, options: ReviewOptions = {}): Review {
  const rng: Rng = toRng(source);
  const minGap = options.minGap ?? 8;
  const maxGap = options.maxGap ?? 24;
  const negationRate = options.negationRate ?? 0.3;
  if (!(negationRate >= 0 && negationRate <= 1)) throw new Error(`review: negationRate must be in [0, 1], got ${negationRate}`);
  if (!Number.isInteger(minGap) || !Number.isInteger(maxGap) || minGap < 0 || maxGap < minGap) {
    throw new Error(`review: need integers 0 <= minGap <= maxGap, got ${minGap}, ${maxGap}`);
  }
  const words: string[] = [];
  if (rng() < 0.5) words.push(pick(rng, OPENERS));
  words.push(...pick(rng, SUBJECTS), pick(rng, VERBS));
  const negated = rng() < negationRate;
  if (negated) words.push(pick(rng, NEGATIONS));
  const gap = randInt(rng, minGap, maxGap);
  for (let i = 0; i < gap; i++) words.push(pick(rng, FILLERS));
  const positive = rng() < 0.5;
  const sentimentAt = words.length;
  words.push(pick(rng, positive ? POSITIVE : NEGATIVE));
  if (rng() < 0.3) words.push(pick(rng, CLOSERS));
  return { words, label: positive !== negated ? 1 : 0, negated, sentimentAt };
}

export interface SentimentSplit {
  count: number;
  /** Padded length. */
  maxLength: number;
  /** Token ids [N, maxLength], post-padded with 0. */
  tokens: Int32Array;
  lengths: Int32Array;
  /** Labels [N, 1], 0 or 1. */
  labels: Float32Array;
  reviews: Review[];
}

export interface SentimentData {
  vocab: SentimentVocabulary;
  train: SentimentSplit;
  test: SentimentSplit;
}

/** Train and test splits; no test review appears word for word in the training split. */
export function sentimentData(nTrain: number, nTest: number, source: RngOrSeed, options: ReviewOptions = {}): SentimentData {
  for (const [name, n] of [["nTrain", nTrain], ["nTest", nTest]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`sentiment: ${name} must be a positive integer, got ${n}`);
  }
  const rng = toRng(source);
  const vocab = sentimentVocabulary();
  const train: Review[] = [];
  const seen = new Set<string>();
  while (train.length < nTrain) {
    const r = review(rng, options);
    train.push(r);
    seen.add(r.words.join(" "));
  }
  const test: Review[] = [];
  for (let tries = 0; test.length < nTest; tries++) {
    if (tries > 100 * nTest) throw new Error("sentiment: could not draw enough distinct test reviews; widen the gap range");
    const r = review(rng, options);
    if (!seen.has(r.words.join(" "))) test.push(r);
  }
  const maxLength = Math.max(...train.concat(test).map((r) => r.words.length));
  return { vocab, train: encodeReviews(train, vocab, maxLength), test: encodeReviews(test, vocab, maxLength) };
}

/** Token ids of reviews, post-padded with 0 to maxLength (longer reviews are an error). */
export function encodeReviews(reviews: Review[], vocab: SentimentVocabulary, maxLength: number): SentimentSplit {
  const count = reviews.length;
  const tokens = new Int32Array(count * maxLength);
  const lengths = new Int32Array(count);
  const labels = new Float32Array(count);
  reviews.forEach((r, n) => {
    if (r.words.length > maxLength) throw new Error(`review ${n} has ${r.words.length} words, more than maxLength ${maxLength}`);
    lengths[n] = r.words.length;
    labels[n] = r.label;
    r.words.forEach((w, t) => {
      const id = vocab.ids.get(w);
      if (id === undefined) throw new Error(`word not in the vocabulary: ${w}`);
      tokens[n * maxLength + t] = id;
    });
  });
  return { count, maxLength, tokens, lengths, labels, reviews };
}
