// A small seeded pseudo-random generator for the example data, so every data set is reproducible
// from one integer and the generators do not depend on the training runtime. The runtime may
// bring its own generator; anything shaped `() => number` in [0, 1) can be passed instead.

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** Either a ready generator or a seed for `makeRng`. */
export type RngOrSeed = Rng | number;

/**
 * A 32-bit generator: a Weyl sequence (add an odd constant each call) followed by an
 * avalanche of xor-shifts and multiplications, so nearby seeds give unrelated streams.
 */
export function makeRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  let counter = Math.trunc(seed) >>> 0;
  return () => {
    counter = (counter + 0x9e3779b9) >>> 0;
    let z = counter;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** Accepts a generator or a seed and returns a generator. */
export function toRng(source: RngOrSeed): Rng {
  return typeof source === "function" ? source : makeRng(source);
}

/** An integer drawn uniformly from lo..hi, both included. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  if (hi < lo) throw new Error(`randInt: empty range ${lo}..${hi}`);
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** A number drawn uniformly from [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** One element of a non-empty list, uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick: empty list");
  return items[Math.floor(rng() * items.length)] as T;
}

/** Fisher-Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
