// A choice tape: random programs are built by an interpreter that reads small integers from a
// tape fast-check generates. Shrinking the tape (fewer entries, smaller values) shrinks the
// program, because choice 0 is always the simplest option and an exhausted tape reads zeros.

import fc from "fast-check";

export class Choices {
  private at = 0;
  constructor(private readonly tape: readonly number[]) {}

  /** An integer in [0, n). */
  int(n: number): number {
    if (n <= 1) return 0;
    const v = this.at < this.tape.length ? this.tape[this.at]! : 0;
    this.at++;
    return v % n;
  }

  /** True with probability about num/den (false when the tape is exhausted). */
  chance(num: number, den: number): boolean {
    return this.int(den) >= den - num;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("choices: pick from nothing");
    return items[this.int(items.length)]!;
  }
}

/** The arbitrary of tapes: unbiased values up to 1,000,000, so `% n` is near uniform for small n,
 *  and lengths up to maxLength (a short tape ends in simple choices); shrinking drives the values
 *  towards 0 and the tape towards empty. */
export const tapeArb = (maxLength = 600): fc.Arbitrary<number[]> =>
  fc.noBias(fc.array(fc.nat({ max: 999_999 }), { maxLength, size: "max" }));
