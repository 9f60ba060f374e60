// createParams' support every generated TypeScript and WebAssembly module carries (inlined from
// here, after abi/init.ts, whose initializers and generator it applies): the options check and the
// loop over a kernel's parameters.

import { initialize, type InitRule, type Rng } from "../../../abi/init.ts";
import { describe } from "../../../abi/checks.ts";
import { checkFlag, checkObject, fail, own } from "./checks.ts";

// ---- inline from here

/** Parameters as meta lists them: name, shape and initializer. */
type ParamRules = readonly { readonly name: string; readonly shape: readonly number[]; readonly init: InitRule }[];

/** Applies every parameter's initializer, in the order of `rules`, drawing from one `rng`. */
export function initParams(params: Record<string, Float32Array>, rules: ParamRules, rng: Rng): void {
  for (const m of rules) initialize(own(params, m.name) as Float32Array, m.shape, m.init, rng);
}

/** The largest seed createParams takes (seeds are 32-bit words). */
export const MAX_SEED = 4294967295;

/** createParams' options checked: the seed to initialize from (a random one when none is
 *  given), or undefined for `{ zeros: true }` (zero-filled parameters). */
export function paramsSeed(where: string, options: unknown): number | undefined {
  const o = options === undefined ? {} : checkObject(where, "options", options, ["seed", "zeros"]);
  const seed = own(o, "seed");
  if (checkFlag(where, "options.zeros", own(o, "zeros")) === true) {
    if (seed !== undefined) fail(where, "options.seed and options.zeros: give one or the other (zeros are not drawn)");
    return undefined;
  }
  if (seed === undefined) return Math.floor(Math.random() * (MAX_SEED + 1));
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    fail(where, `options.seed must be a whole number from 0 to ${MAX_SEED}, got ${describe(seed)}`);
  }
  return seed;
}
