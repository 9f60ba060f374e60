// The adding problem of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", section 5.4
// (experiment 4). It is the long-lag regression task the adding example trains on: the net must
// remember two real values seen early in a long sequence of noise and output their scaled sum at
// the very end.
//
// The paper's rules, followed here:
// - each step is a pair (value, marker); values are uniform in [-1, 1], markers are -1, 0 or 1;
// - the length is an integer drawn uniformly from [T, T + T/10];
// - exactly two pairs are marked (marker 1): first one of the first 10 pairs (its value is X1),
//   then one of the first T/2 - 1 pairs that are still unmarked (its value is X2);
// - every other marker is 0, except the first and the last pair, which carry -1;
// - the only target is at the end: 0.5 + (X1 + X2) / 4; a sequence is processed correctly when
//   the absolute error there is below 0.04.
// The paper adds: "X1 is set to zero in the rare case where the first pair of the sequence got
// marked". We implement this as: when pair 0 is marked, its value is replaced by 0 in the input
// AND in the target, so the target stays the scaled sum of the marked values the net sees. Pair 0
// can only be marked by the first draw or, rarely, by the second; we zero it in both cases (the
// paper's reason, that pair 0 otherwise carries the start marker, does not depend on which draw
// picked it). T/2 and T/10 use integer division for odd T or T not a multiple of 10.

import { randInt, toRng, uniform, type RngOrSeed } from "./rng.ts";

/** The paper's threshold for a correctly processed sequence. */
export const ADDING_TOLERANCE = 0.04;

export interface AddingSequence {
  /** Number of pairs, in [T, T + floor(T/10)]. */
  length: number;
  /** First components, one per pair. */
  values: Float32Array;
  /** Second components (markers -1, 0 or 1), one per pair. */
  markers: Float32Array;
  /** Positions of the two marked pairs: [the one among the first 10, the second one]. */
  marked: [number, number];
  /** 0.5 + (X1 + X2) / 4. */
  target: number;
}

/** Checks T and returns the largest length a sequence can have. */
export function addingMaxLength(T: number): number {
  if (!Number.isInteger(T) || T < 20) {
    // The second mark's candidates (positions 0..T/2-1 without the first mark) must contain all of
    // the first ten pairs, so T/2 >= 10.
    throw new Error(`adding problem: T must be an integer >= 20 (the paper uses 100), got ${T}`);
  }
  return T + Math.floor(T / 10);
}

/** One sequence of the adding problem with minimal length T. */
export function addingSequence(T: number, source: RngOrSeed): AddingSequence {
  const maxLength = addingMaxLength(T);
  const rng = toRng(source);
  const length = randInt(rng, T, maxLength);
  const values = new Float32Array(length);
  const markers = new Float32Array(length);
  for (let t = 0; t < length; t++) values[t] = uniform(rng, -1, 1);

  // First mark: one of the first ten pairs.
  const first = randInt(rng, 0, 9);
  // Second mark: one of the first T/2 - 1 pairs that are still unmarked. Those are the
  // positions 0..T/2-1 without `first`, because `first` <= 9 <= T/2 - 1.
  const candidates = Math.floor(T / 2) - 1;
  const k = randInt(rng, 0, candidates - 1);
  const second = k >= first ? k + 1 : k;

  markers[0] = -1;
  markers[length - 1] = -1;
  markers[first] = 1;
  markers[second] = 1;
  if (first === 0 || second === 0) values[0] = 0; // the paper's "X1 is set to zero" case

  const x1 = values[first] as number;
  const x2 = values[second] as number;
  return { length, values, markers, marked: [first, second], target: 0.5 + (x1 + x2) / 4 };
}

/** A batch of adding sequences, zero-padded to a common length, in the layouts a trainer wants. */
export interface AddingData {
  /** Number of sequences N. */
  count: number;
  /** Padded length (T + floor(T/10), so every batch of one T has the same shape). */
  maxLength: number;
  /** Inputs, sample-major [N, maxLength, 2] (value, marker); zero past each length. */
  inputs: Float32Array;
  /** Per-sample lengths. */
  lengths: Int32Array;
  /** Targets [N, 1]. */
  targets: Float32Array;
  sequences: AddingSequence[];
}

/** N sequences of the adding problem with minimal length T. */
export function addingData(count: number, T: number, source: RngOrSeed): AddingData {
  if (!Number.isInteger(count) || count < 1) throw new Error(`adding problem: count must be a positive integer, got ${count}`);
  const maxLength = addingMaxLength(T);
  const rng = toRng(source);
  const inputs = new Float32Array(count * maxLength * 2);
  const lengths = new Int32Array(count);
  const targets = new Float32Array(count);
  const sequences: AddingSequence[] = [];
  for (let n = 0; n < count; n++) {
    const seq = addingSequence(T, rng);
    sequences.push(seq);
    lengths[n] = seq.length;
    targets[n] = seq.target;
    const base = n * maxLength * 2;
    for (let t = 0; t < seq.length; t++) {
      inputs[base + 2 * t] = seq.values[t] as number;
      inputs[base + 2 * t + 1] = seq.markers[t] as number;
    }
  }
  return { count, maxLength, inputs, lengths, targets, sequences };
}

/** Mean absolute error and fraction of sequences with |error| < 0.04, given predictions [N]. */
export function addingScore(predictions: ArrayLike<number>, targets: ArrayLike<number>): { meanAbsError: number; fractionSolved: number } {
  if (predictions.length !== targets.length) {
    throw new Error(`adding score: ${predictions.length} predictions for ${targets.length} targets`);
  }
  let sum = 0;
  let solved = 0;
  for (let i = 0; i < targets.length; i++) {
    const err = Math.abs((predictions[i] as number) - (targets[i] as number));
    sum += err;
    if (err < ADDING_TOLERANCE) solved++;
  }
  const n = Math.max(1, targets.length);
  return { meanAbsError: sum / n, fractionSolved: solved / n };
}
