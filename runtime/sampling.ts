// Drawing from a predicted distribution, for generation (e.g. character by character): the
// probabilities are reweighted by a temperature (p_i^(1/T), renormalised; T -> 0 approaches
// argmax, T = 1 samples the model's own distribution, T > 1 flattens it).

import type { Rng } from "./rng.ts";

/** Index drawn from `probs` (non-negative, any positive sum) at `temperature`, using `rng`. */
export function sampleIndex(probs: ArrayLike<number>, temperature: number, rng: Rng): number {
  const n = probs.length;
  if (n === 0) throw new Error("sampleIndex: empty distribution");
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`sampleIndex: temperature must be >= 0, got ${temperature}`);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    if (!(p >= 0) || !Number.isFinite(p)) throw new Error(`sampleIndex: probability ${i} is ${p}`);
    if (p > probs[best]!) best = i;
  }
  if (temperature === 0 || probs[best]! === 0) return best;
  // Work in logs relative to the largest probability so small temperatures do not underflow.
  const logMax = Math.log(probs[best]!);
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    w[i] = p > 0 ? Math.exp((Math.log(p) - logMax) / temperature) : 0;
    sum += w[i]!;
  }
  let u = rng.next() * sum;
  for (let i = 0; i < n; i++) {
    u -= w[i]!;
    if (u < 0) return i;
  }
  return best;
}
