// What one fuzz case comes to. The runner counts outcomes; "hang" is decided by the runner's
// watchdog, "slow" by the case's own time limit.

export type Outcome = "pass" | "discard" | "crash" | "mismatch" | "slow" | "hang";

export interface Verdict {
  outcome: Outcome;
  /** What failed, for the report and the failure file. */
  message?: string;
  /** Counters summed over a run (entries checked, kinks skipped, programs rejected...). */
  stats?: Record<string, number>;
  /** A generated module (for the tsc sample). */
  code?: string;
}

export const pass = (stats?: Record<string, number>, code?: string): Verdict => ({ outcome: "pass", ...(stats ? { stats } : {}), ...(code ? { code } : {}) });
export const fail = (outcome: Exclude<Outcome, "pass">, message: string): Verdict => ({ outcome, message });

/** The first lines of an error, stack included: a thrown exception is a crash to locate. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split("\n").slice(0, 6).join("\n");
  return String(e);
}
