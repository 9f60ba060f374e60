// The synthetic sentiment task as a study task: reviews from studies/data/sentiment.ts whose label
// is the polarity of one sentiment word XOR a negation many filler words earlier. Model:
// Embedding(V, 16) -> the cell, read at each review's last word -> Dense(1, sigmoid), binary
// cross-entropy; the metric is held-out accuracy. 30% of reviews carry a negation, so reading
// only the sentiment word gives about 70%; above that the cell carries the negation across the gap.
// `--T` is the longest gap (the shortest is T/3), so reviews have up to T + 7 words.

import { dense, embedding, tensor } from "../../runtime/index.ts";
import { encodeReviews, review, sentimentVocabulary, type Review } from "../data/sentiment.ts";
import { makeRng } from "../data/rng.ts";
import { chunkSeed, defineTask, type Batch, type TaskSettings } from "../task.ts";

const EMBEDDING = 16;
const SOLVED = 0.95;
const vocab = sentimentVocabulary();

function gaps(s: TaskSettings): { minGap: number; maxGap: number } {
  return { minGap: Math.floor(s.T! / 3), maxGap: s.T! };
}

function reviews(n: number, seed: number, s: TaskSettings): Batch {
  const rng = makeRng(seed);
  const list: Review[] = Array.from({ length: n }, () => review(rng, gaps(s)));
  // Opener, subject (2), verb, negation, the gap, sentiment word, closer: a fixed padded length.
  const d = encodeReviews(list, vocab, s.T! + 7);
  return { x: tensor(d.tokens, [n, d.maxLength], d.lengths), y: tensor(d.labels, [n, 1]) };
}

export default defineTask({
  name: "sentiment",
  summary: "synthetic reviews: a negation flips a sentiment word up to T filler words later",
  T: { help: "longest gap between negation and sentiment word (the shortest is T/3)", default: 24, min: 1 },
  defaults: { budget: 20_000, units: 16, batchSize: 32, optimizer: "adam", learningRate: 0.005, clipNorm: 1, evalEvery: 1000 },
  inputShape: () => [null],
  cellInput: () => ({ size: EMBEDDING, what: `word embeddings of width ${EMBEDDING}` }),
  returnSequences: false,
  layers: (cell) => [embedding(vocab.words.length, EMBEDDING), cell, dense(1, { activation: "sigmoid" })],
  loss: "binaryCrossentropy",
  data(s, seed) {
    return {
      train: (chunk, n) => reviews(n, chunkSeed(seed, chunk), s),
      heldOut: reviews(500, chunkSeed(seed, 0, 901), s),
      test: reviews(2000, chunkSeed(seed, 0, 777), s),
    };
  },
  metric: { name: "accuracy", better: "higher", percent: true },
  success: `${SOLVED * 100}% held-out accuracy`,
  evaluate(model, b) {
    const p = model.predict(b.x, { batchSize: 256 }).data;
    let right = 0;
    for (let i = 0; i < p.length; i++) if ((p[i]! > 0.5 ? 1 : 0) === b.y.data[i]) right++;
    const acc = right / p.length;
    return { metric: acc, success: acc >= SOLVED };
  },
});
