// The embedded Reber grammar (Cleeremans, Servan-Schreiber & McClelland 1989; used by Hochreiter &
// Schmidhuber 1997, experiment 1): strings over B T P S X V E for the next-symbol prediction task
// the reber example trains on. The inner Reber grammar needs only short memory; the embedding
// B (T|P) <reber> (T|P) E demands that the second-to-last symbol repeat the second one across the
// whole inner string, which is the long-lag part.
//
// Each choice point branches with probability 1/2, as in the paper. For every position we also
// record the SET of symbols that may legally come next, which is what the "solved" criterion
// checks: each legal next symbol predicted above a threshold and every illegal one below it.

import { toRng, type Rng, type RngOrSeed } from "./rng.ts";

export const REBER_SYMBOLS = ["B", "T", "P", "S", "X", "V", "E"] as const;
export type ReberSymbol = (typeof REBER_SYMBOLS)[number];
export const REBER_SIZE = REBER_SYMBOLS.length;

const INDEX: Record<string, number> = Object.fromEntries(REBER_SYMBOLS.map((s, i) => [s, i]));

/** Index of a symbol in the one-hot code. */
export function reberIndex(symbol: string): number {
  const i = INDEX[symbol];
  if (i === undefined) throw new Error(`not a Reber symbol: ${JSON.stringify(symbol)}`);
  return i;
}

// The inner Reber grammar as a finite automaton: node -> two arcs [symbol, next node]. Node 0 is
// after the initial B; node 5 (INNER_EXIT) is the exit, after which only E follows.
const INNER: ReadonlyArray<ReadonlyArray<readonly [ReberSymbol, number]>> = [
  [["T", 1], ["P", 2]],
  [["S", 1], ["X", 3]],
  [["T", 2], ["V", 4]],
  [["X", 2], ["S", 5]],
  [["P", 3], ["V", 5]],
];
const INNER_EXIT = 5;

/** One string of the (plain) Reber grammar, B ... E. */
export function reberString(source: RngOrSeed): string {
  const rng = toRng(source);
  let out = "B";
  let node = 0;
  while (node !== INNER_EXIT) {
    const arcs = INNER[node]!;
    const [symbol, next] = arcs[rng() < 0.5 ? 0 : 1]!;
    out += symbol;
    node = next;
  }
  return out + "E";
}

/** One string of the embedded Reber grammar: B, T or P, a Reber string, the same T or P, E. */
export function embeddedReberString(source: RngOrSeed): string {
  const rng: Rng = toRng(source);
  const branch = rng() < 0.5 ? "T" : "P";
  return "B" + branch + reberString(rng) + branch + "E";
}

/**
 * For each position i of an embedded Reber string except the last, the symbols that may legally
 * follow the prefix s[0..i], as a 7-bit mask (bit k set when REBER_SYMBOLS[k] may come next).
 * Follows the generator's automaton; throws if the string is not in the grammar.
 */
export function embeddedReberLegalNext(s: string): number[] {
  const bit = (...symbols: ReberSymbol[]) => symbols.reduce((m, x) => m | (1 << reberIndex(x)), 0);
  const masks: number[] = [];
  const fail = (i: number) => new Error(`not an embedded Reber string at position ${i}: ${s}`);
  if (s.length < 9 || s[0] !== "B") throw fail(0);
  const branch = s[1];
  if (branch !== "T" && branch !== "P") throw fail(1);
  masks.push(bit("T", "P")); // after the outer B
  masks.push(bit("B")); // after the branch symbol
  if (s[2] !== "B") throw fail(2);
  let node = 0;
  let i = 3;
  masks.push(bit("T", "P")); // after the inner B
  for (; node !== INNER_EXIT; i++) {
    const arcs = INNER[node]!;
    const arc = arcs.find(([symbol]) => symbol === s[i]);
    if (!arc) throw fail(i);
    node = arc[1];
    masks.push(node === INNER_EXIT ? bit("E") : bit(...INNER[node]!.map((a) => a[0])));
  }
  if (s[i] !== "E") throw fail(i);
  masks.push(bit(branch)); // after the inner E: the long-lag symbol
  if (s[i + 1] !== branch) throw fail(i + 1);
  masks.push(bit("E"));
  if (s[i + 2] !== "E" || s.length !== i + 3) throw fail(i + 2);
  return masks;
}

/** Encoded strings for next-symbol prediction, zero-padded to a common length. */
export interface ReberData {
  count: number;
  /** Padded number of input steps (longest string minus one). */
  maxLength: number;
  strings: string[];
  /** One-hot inputs, sample-major [N, maxLength, 7]: symbols 0..L-2 of each string. */
  inputs: Float32Array;
  /** One-hot next-symbol targets [N, maxLength, 7]: symbols 1..L-1. */
  targets: Float32Array;
  /** Next-symbol indices [N, maxLength], -1 past each length. */
  targetIndices: Int32Array;
  /** Legal-next masks [N, maxLength] (see embeddedReberLegalNext), 0 past each length. */
  legal: Uint8Array;
  /** Input steps per sample: string length - 1. */
  lengths: Int32Array;
}

/** N embedded Reber strings, encoded. Pass `maxLength` to fix the padded length (strings longer
 *  than it are redrawn), so that several data sets share one shape. */
export function embeddedReberData(count: number, source: RngOrSeed, maxLength?: number): ReberData {
  if (!Number.isInteger(count) || count < 1) throw new Error(`reber: count must be a positive integer, got ${count}`);
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 8)) {
    throw new Error(`reber: maxLength must be an integer >= 8 (the shortest string has 9 symbols), got ${maxLength}`);
  }
  const rng = toRng(source);
  const strings: string[] = [];
  while (strings.length < count) {
    const s = embeddedReberString(rng);
    if (maxLength === undefined || s.length - 1 <= maxLength) strings.push(s);
  }
  const steps = maxLength ?? Math.max(...strings.map((s) => s.length - 1));
  const inputs = new Float32Array(count * steps * REBER_SIZE);
  const targets = new Float32Array(count * steps * REBER_SIZE);
  const targetIndices = new Int32Array(count * steps).fill(-1);
  const legal = new Uint8Array(count * steps);
  const lengths = new Int32Array(count);
  strings.forEach((s, n) => {
    const masks = embeddedReberLegalNext(s);
    lengths[n] = s.length - 1;
    for (let t = 0; t < s.length - 1; t++) {
      const row = n * steps + t;
      inputs[row * REBER_SIZE + reberIndex(s[t]!)] = 1;
      const next = reberIndex(s[t + 1]!);
      targets[row * REBER_SIZE + next] = 1;
      targetIndices[row] = next;
      legal[row] = masks[t]!;
    }
  });
  return { count, maxLength: steps, strings, inputs, targets, targetIndices, legal, lengths };
}

/**
 * Which strings are predicted correctly: at every step of a string, every legal next symbol has
 * an output above `threshold` and every illegal one is at or below it. `outputs` is [N, maxLength,
 * 7] sample-major (probabilities or any score compared to the threshold).
 */
export function reberStringsCorrect(data: ReberData, outputs: ArrayLike<number>, threshold = 0.3): boolean[] {
  if (outputs.length !== data.count * data.maxLength * REBER_SIZE) {
    throw new Error(`reber score: expected ${data.count * data.maxLength * REBER_SIZE} outputs ([N, T, 7]), got ${outputs.length}`);
  }
  const correct: boolean[] = [];
  for (let n = 0; n < data.count; n++) {
    let ok = true;
    for (let t = 0; t < (data.lengths[n] as number) && ok; t++) {
      const row = n * data.maxLength + t;
      const mask = data.legal[row] as number;
      for (let k = 0; k < REBER_SIZE; k++) {
        const above = (outputs[row * REBER_SIZE + k] as number) > threshold;
        if (above !== ((mask >> k) & 1) > 0) {
          ok = false;
          break;
        }
      }
    }
    correct.push(ok);
  }
  return correct;
}
