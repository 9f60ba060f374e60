// The three kinds of fuzz case, each an arbitrary plus a property: `check` (front-end mutation
// fuzzer), `compile` (random well-typed programs through every build) and `names` (the same with
// identifiers drawn from reserved words, Object.prototype members and the generated module's own
// names). The runner (run.ts) and the fixed-seed slices in npm test (fuzz.test.ts) share them.

import fc from "fast-check";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { compile } from "../../driver/index.ts";
import { CHECK_TIME_LIMIT_MS, checkCase } from "./check-prop.ts";
import { tapeArb } from "./choices.ts";
import { compileCase } from "./compile-prop.ts";
import { generateProgram, type Program } from "./gen-cell.ts";
import { checkCaseArb, render, type CheckCase } from "./mutate.ts";
import { hostileNames, hostilePool, identifiersOf, plainNames, setInternalNames } from "./names.ts";
import { describeError, fail, type Verdict } from "./verdict.ts";

export type KindName = "check" | "compile" | "names";
export const KIND_NAMES: KindName[] = ["check", "compile", "names"];

export interface Rendered {
  file: string;
  text: string;
  /** For programs: the binding and unit to build. */
  dims?: Record<string, number>;
  unit?: string;
}

export interface Kind<C> {
  name: KindName;
  arb: fc.Arbitrary<C>;
  render(c: C): Rendered;
  /** `slice`: the fixed-seed slice in npm test (generous time limits; see check-prop.ts). */
  run(c: C, slice?: boolean): Promise<Verdict>;
  /** Runs a rendered text directly (for the text reducer: a spec edited by hand or by it). */
  runText(r: Rendered): Promise<Verdict>;
  /** Called once before the first case. */
  setup?(): Promise<void>;
}

/** Diagnostics that are a legitimate answer to a hostile name. None yet: every name the names
 *  generator uses is a valid identifier of the language, so a refusal is a bug until the language
 *  documents the name as reserved (then its code goes here). */
export const NAME_DIAGNOSTICS = new Set<string>();

const checkKind: Kind<CheckCase> = {
  name: "check",
  arb: checkCaseArb,
  render: (c) => render(c),
  async run(c, slice) {
    let r: Rendered;
    try {
      r = render(c);
    } catch (e) {
      return fail("crash", `the lexer threw while mutating: ${describeError(e)}`);
    }
    return checkCase(r.file, r.text, slice ? 10 * CHECK_TIME_LIMIT_MS : CHECK_TIME_LIMIT_MS);
  },
  runText: async (r) => checkCase(r.file, r.text),
};

const programRendered = (p: Program): Rendered => ({ file: `${p.unit}.cell`, text: p.text, dims: p.dims, unit: p.unit });
const programOf = (r: Rendered): Program => ({ text: r.text, dims: r.dims ?? {}, unit: r.unit ?? "", features: new Set() });

const compileKind: Kind<number[]> = {
  name: "compile",
  arb: tapeArb(),
  render: (t) => programRendered(generateProgram(t, { names: plainNames() })),
  run: (t) => compileCase(generateProgram(t, { names: plainNames() })),
  runText: (r) => compileCase(programOf(r)),
};

let pool: string[][] | undefined;

const namesKind: Kind<number[]> = {
  name: "names",
  arb: tapeArb(300),
  async setup() {
    // The identifiers generated modules use for themselves, optimised and plain, with and without
    // the fast activations: read from modules emitted from a spec that uses every function.
    const root = path.resolve(import.meta.dirname, "../..");
    const text = readFileSync(path.join(root, "test/specs/every_function.cell"), "utf8");
    const words = new Set<string>();
    for (const optimize of [true, false]) {
      const r = await compile(text, { dims: { I: 2, H: 2 }, optimize, format: false });
      for (const w of identifiersOf(r.module!.code)) words.add(w);
    }
    setInternalNames([...words]);
    pool = hostilePool();
  },
  render: (t) => programRendered(generateProgram(t, { names: hostileNames(pool), maxDepth: 2 })),
  // The PyTorch build (a module run in Python per program, its hostile names printed through the
  // Python escaper) for one program in four: with it on every program the vitest slice of 16 took
  // over 300 s. A program the fuzzer reports is rerun (runText) with every build.
  run: (t) => compileCase(generateProgram(t, { names: hostileNames(pool), maxDepth: 2 }), { acceptCodes: NAME_DIAGNOSTICS, maxEntries: 120, torch: namesCase++ % 4 === 0 ? undefined : null }),
  runText: (r) => compileCase(programOf(r), { acceptCodes: NAME_DIAGNOSTICS, maxEntries: 120 }),
};

/** Programs the names kind has run in this process (which of them get the PyTorch build). */
let namesCase = 0;

export const KINDS: Record<KindName, Kind<never>> = {
  check: checkKind as Kind<never>,
  compile: compileKind as Kind<never>,
  names: namesKind as Kind<never>,
};

/** The value of case i of a run: cases are generated one by one from a per-case seed, so any one
 *  of them can be replayed (and shrunk) alone. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) | 0;
}

export function caseValue<C>(kind: Kind<C>, seed: number, i: number): C {
  return fc.sample(kind.arb, { seed: caseSeed(seed, i), numRuns: 1 })[0]!;
}
