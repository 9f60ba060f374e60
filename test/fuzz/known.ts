// Front-end failures the fuzzer finds that belong to the front-end engineer's open work on issue 8.
// The fixed-seed slice in npm test skips cases that match one of them (so it stays fast and green
// while the fix is under way); the lead empties this list once the fixes are merged. `npm run fuzz`
// never skips: it reports them.

export interface KnownFailure {
  what: string;
  matches(text: string): boolean;
}

export const KNOWN_FRONTEND_FAILURES: KnownFailure[] = [
  {
    what: "issue 8 defect 5: long size expressions overflow the stack (sizeOf) or normalise in exponential time",
    matches: (text) => /(\*\s*(\w+|\([^()]*\))\s*){40,}/.test(text) || /(\(\s*[^()]*\+[^()]*\)\s*\*\s*){8,}/.test(text),
  },
];
