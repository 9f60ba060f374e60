// The fixed-seed slices npm test runs (check.test.ts, compile.test.ts, names.test.ts): a property
// per kind for @fast-check/vitest that fails on any failing verdict, skips or tolerates the known
// front-end failures (known.ts), and counts what it saw so each test can assert it did real work.

import { KINDS, type KindName } from "./kinds.ts";
import { knownByMessage, knownByText } from "./known.ts";

export interface SliceStats {
  cases: number;
  passed: number;
  discarded: number;
  known: number;
  slowestMs: number;
  totals: Record<string, number>;
  modules: string[];
}

export function sliceProperty(kind: KindName, stats: SliceStats, keepModuleEvery = 0) {
  const k = KINDS[kind];
  return async (value: never): Promise<void> => {
    stats.cases++;
    const r = k.render(value);
    if (knownByText(kind, r.text)) {
      stats.known++;
      return;
    }
    const t0 = performance.now();
    const v = await k.run(value, true);
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
    for (const [key, n] of Object.entries(v.stats ?? {})) stats.totals[key] = (stats.totals[key] ?? 0) + n;
    if (v.outcome === "pass") {
      stats.passed++;
      if (v.code && keepModuleEvery > 0 && stats.passed % keepModuleEvery === 1) stats.modules.push(v.code);
      return;
    }
    if (v.outcome === "discard") {
      stats.discarded++;
      return;
    }
    if (knownByMessage(kind, v.message ?? "")) {
      stats.known++;
      return;
    }
    const where = r.dims ? `cell ${r.unit} with dims ${JSON.stringify(r.dims)}` : r.file;
    throw new Error(`${v.outcome}: ${v.message}\n--- ${where}\n${r.text.length > 4000 ? `${r.text.slice(0, 4000)}…` : r.text}`);
  };
}

export const emptyStats = (): SliceStats => ({ cases: 0, passed: 0, discarded: 0, known: 0, slowestMs: 0, totals: {}, modules: [] });
