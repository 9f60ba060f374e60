// Runs a range of fuzz cases for run.ts in a worker thread, so the runner can stop a case that
// hangs. Reports each case's start (for the watchdog) and its verdict; shrinks each failure with
// fast-check, replaying the case from its own seed.

import fc from "fast-check";
import { parentPort, workerData } from "node:worker_threads";
import { caseSeed, caseValue, KINDS, type KindName, type Rendered } from "./kinds.ts";
import { knownByText } from "./known.ts";
import { reduceText } from "./reduce.ts";
import { closeTorch, setTorchEnabled } from "./torch-build.ts";
import type { Verdict } from "./verdict.ts";

export interface WorkerJob {
  kind: KindName;
  seed: number;
  from: number;
  to: number;
  /** Pass the module of every k-th passing case back (for the tsc sample); 0 for none. */
  codeEvery: number;
  shrinkMs: number;
  /** Skip the cases known.ts lists as known front-end failures (counted, not run). */
  skipKnown: boolean;
  /** Build and compare each program's PyTorch module where torch exists (torch-build.ts). */
  torch: boolean;
}

export type WorkerMessage =
  | { type: "start"; i: number }
  | { type: "shrink"; i: number }
  | { type: "done"; i: number; ms: number; verdict: Verdict; failure?: { rendered: Rendered; shrunk: Rendered; shrunkVerdict: Verdict; shrinks: number } }
  | { type: "end" };

const job = workerData as WorkerJob;
const kind = KINDS[job.kind];
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

/** What identifies a failure while it shrinks: its outcome and the first two parts of its first
 *  line (who failed and how: "typescript optimised rejected a well-typed program: CE402 size …",
 *  "typescript plain: backward disagrees with finite differences"), numbers and positions left out. */
export function failureKey(v: Verdict): string {
  const line = (v.message ?? "").split("\n")[0]!.split(/ at |\[/)[0]!.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, "#");
  return `${v.outcome}: ${line.split(":").slice(0, 2).join(":")}`;
}
const sameFailure = (a: Verdict, b: Verdict) => failureKey(a) === failureKey(b);

setTorchEnabled(job.torch);
await kind.setup?.();
for (let i = job.from; i < job.to; i++) {
  post({ type: "start", i });
  const value = caseValue(kind, job.seed, i);
  if (job.skipKnown && knownByText(job.kind, kind.render(value).text)) {
    post({ type: "done", i, ms: 0, verdict: { outcome: "discard", stats: { "known front-end failures skipped": 1 } } });
    continue;
  }
  const t0 = performance.now();
  const verdict = await kind.run(value);
  const ms = performance.now() - t0;
  if (verdict.outcome === "pass" || verdict.outcome === "discard") {
    const keep = job.codeEvery > 0 && i % job.codeEvery === 0 && verdict.code !== undefined;
    post({ type: "done", i, ms, verdict: keep ? verdict : { ...verdict, code: undefined } });
    continue;
  }
  // Shrink: replay the same case from its seed; fast-check keeps the smallest value that fails
  // the same way.
  post({ type: "shrink", i });
  let shrunk = value;
  let shrunkVerdict = verdict;
  let shrinks = 0;
  await fc.check(
    fc.asyncProperty(kind.arb, async (c) => {
      const v = await kind.run(c);
      if (!sameFailure(v, verdict)) return true;
      shrunk = c;
      shrunkVerdict = v;
      shrinks++;
      return false;
    }),
    { seed: caseSeed(job.seed, i), numRuns: 1, interruptAfterTimeLimit: job.shrinkMs / 2 },
  );
  // Then reduce the text itself, with what is left of the time.
  const reduced = await reduceText(
    kind.render(shrunk),
    async (r) => {
      // A program must still declare the unit it builds (else any failure becomes "no such cell").
      // (Matched by a fixed pattern and compared as a string: no pattern is built from a name.)
      if (r.unit !== undefined && ![...r.text.matchAll(/^\s*(?:cell|stack)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/gm)].some((m) => m[1] === r.unit)) return false;
      const v = await kind.runText(r);
      if (!sameFailure(v, verdict)) return false;
      shrunkVerdict = v;
      return true;
    },
    t0 + ms + job.shrinkMs,
  );
  shrinks += reduced.steps;
  post({ type: "done", i, ms, verdict, failure: { rendered: kind.render(value), shrunk: reduced.reduced, shrunkVerdict, shrinks } });
}
closeTorch();
post({ type: "end" });
