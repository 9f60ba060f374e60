// Checks the long-lag training loop on a fake task (no kernels): every cell gets the same data
// stream for the same (chunk, stage), the budget is respected, the curriculum advances at the
// threshold, training stops once solved, and the curve has one point per chunk.

import { describe, expect, it } from "vitest";
import type { Sequential } from "../runtime/index.ts";
import { trainLongLag, type LongLagTask } from "../examples/data/long-lag.ts";

interface FakeModel {
  cell: string;
  skill: number;
  rate: number;
  paramCount(): number;
}

describe("trainLongLag", () => {
  it("shares data across cells, follows the curriculum and stops when solved", async () => {
    const draws: Record<string, Array<[number, number, number]>> = {};
    let current = "";
    // A model's "skill" grows by `rate` per training sequence; a stage-s set is solved at skill - s.
    const task: LongLagTask<{ n: number; stage: number; seed: number }> = {
      draw: (n, stage, seed) => ({ n, stage, seed }),
      async train(model, d, batchSize, onBatch) {
        const m = model as unknown as FakeModel;
        (draws[m.cell] ??= []).push([d.n, d.stage, d.seed]);
        current = m.cell;
        m.skill += d.n * m.rate;
        onBatch(Math.ceil(d.n / batchSize), { loss: 1 / (1 + m.skill) });
      },
      score(model, d) {
        const m = model as unknown as FakeModel;
        const solved = Math.max(0, Math.min(1, m.skill - d.stage));
        return { error: 1 - solved, solved };
      },
      async model(cell) {
        const fake: FakeModel = { cell, skill: 0, rate: cell === "fast" ? 1 / 1000 : 1 / 100000, paramCount: () => (cell === "fast" ? 10 : 20) };
        return fake as unknown as Sequential;
      },
    };
    const runs = await trainLongLag(task, {
      cells: ["fast", "slow"],
      stages: [10, 20],
      stageName: "T",
      advanceAt: 0.8,
      stopAt: 0.99,
      budget: 5000,
      chunk: 400,
      batchSize: 32,
      heldOut: 50,
      seed: 3,
      verbose: 0,
      log: () => {},
    });
    expect(current).toBe("slow");
    const [fast, slow] = runs;
    // fast: skill 0.4 per chunk; stage 0 reaches 0.8 after 2 chunks, then the final stage
    // (solved = skill - 1) reaches 0.99 once skill >= 1.99, after 5 chunks (skill 2.0).
    expect(fast!.params).toBe(10);
    expect(draws["fast"]!.map((d) => d[1])).toEqual([0, 0, 1, 1, 1]);
    expect(fast!.seen).toBe(2000);
    expect(fast!.solvedAfter).toBe(2000);
    expect(fast!.stage).toBe(1);
    expect(fast!.curve.map((p) => p[0])).toEqual([400, 800, 1200, 1600, 2000]);
    // slow never advances and spends the whole budget; the last chunk is cut to fit it.
    expect(slow!.solvedAfter).toBeUndefined();
    expect(slow!.seen).toBe(5000);
    expect(draws["slow"]!.map((d) => d[0]).reduce((a, b) => a + b, 0)).toBe(5000);
    expect(draws["slow"]!.at(-1)![0]).toBe(200);
    // Same (chunk, stage) -> same data seed for both cells; different chunks -> different seeds.
    expect(draws["slow"]!.slice(0, 2)).toEqual(draws["fast"]!.slice(0, 2));
    const seeds = new Set(draws["slow"]!.map((d) => d[2]));
    expect(seeds.size).toBe(draws["slow"]!.length);
  });
});
