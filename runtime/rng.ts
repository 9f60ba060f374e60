// The one source of randomness in the runtime. Every initializer, dropout mask and shuffle draws
// from an Rng seeded by the user, so two runs with the same seed give bit-identical numbers.
//
// The generator itself (xoshiro128** seeded through splitmix32, Box-Muller normals) is the one
// every generated kernel carries for createParams({ seed }): abi/init.ts. This
// class adds what only the runtime draws: integers, shuffles and forks.

import { Rng as KernelRng } from "../abi/init.ts";

export class Rng extends KernelRng {
  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new Error(`Rng.int needs n >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** An independent generator derived from this one (advances this one by one draw). */
  fork(): Rng {
    return new Rng(this.nextUint32() | 0);
  }
}
