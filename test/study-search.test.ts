// `cellc study --search N`: the settings drawn (within the space, log-uniform where asked, the same
// for every spec and every call), the importance analysis against the textbook formula computed
// another way (1 - within-group / total sum of squares), the report's best setting and top-10%
// mean against the runs in results.json, and the errors of a bad --space file. Also the queue's
// pieces that need no Redis: the URL parser and the result encoding (NaN kept, bits kept).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { studyCommand } from "../cli/study.ts";
import { runStudy } from "../studies/index.ts";
import { checkSpace, importance, sampleSettings, type Setting } from "../studies/search.ts";
import { parseQueueUrl } from "../studies/queue/url.ts";
import { decodeResult, encodeResult } from "../studies/queue/jobs.ts";
import type { RunResult } from "../studies/run.ts";

const work = mkdtempSync(join(tmpdir(), "cellc-study-search-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const base: Setting = { learningRate: 0.01, units: 8, batchSize: 32, optimizer: "adam", momentum: 0, inputNoise: 0, clipNorm: 1 };

describe("random search: sampling and importance", () => {
  it("draws settings inside the space, log-uniformly where asked, the same on every call", () => {
    const space = checkSpace({ learningRate: { min: 1e-4, max: 1, scale: "log" }, units: [4, 16], momentum: { min: 0, max: 0.9 } }, "test");
    const a = sampleSettings(space, 400, base);
    expect(sampleSettings(space, 400, base)).toEqual(a);
    for (const s of a) {
      expect(s.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(s.learningRate).toBeLessThanOrEqual(1);
      expect([4, 16]).toContain(s.units);
      expect(s.batchSize).toBe(32); // not in the space: the study's value
    }
    // Log-uniform over 4 decades: about a quarter of the draws in each decade.
    const decade = a.filter((s) => s.learningRate >= 1e-2 && s.learningRate < 1e-1).length / a.length;
    expect(decade).toBeGreaterThan(0.18);
    expect(decade).toBeLessThan(0.32);
  });

  it("gives η² equal to 1 - SS_within / SS_total, near 1 for the hyperparameter that decides the score", () => {
    const settings = sampleSettings(checkSpace({ optimizer: ["adam", "sgd", "rmsprop"], units: [4, 8, 16] }, "test"), 60, base);
    // The score depends on the optimizer only, plus a little deterministic jitter.
    const scores = settings.map((s, i) => ({ adam: 0.1, sgd: 0.5, rmsprop: 0.3 })[s.optimizer] + 0.01 * Math.sin(i));
    const imp = importance(settings, scores, ["optimizer", "units"]);
    const ssWithin = (key: "optimizer" | "units") => {
      const groups = new Map<string, number[]>();
      settings.forEach((s, i) => groups.set(String(s[key]), [...(groups.get(String(s[key])) ?? []), scores[i]!]));
      let ss = 0;
      for (const g of groups.values()) {
        const m = g.reduce((x, y) => x + y, 0) / g.length;
        for (const y of g) ss += (y - m) ** 2;
      }
      return ss;
    };
    const m = scores.reduce((x, y) => x + y, 0) / scores.length;
    const ssTotal = scores.reduce((x, y) => x + (y - m) ** 2, 0);
    expect(imp.get("optimizer")).toBeCloseTo(1 - ssWithin("optimizer") / ssTotal, 12);
    expect(imp.get("units")).toBeCloseTo(1 - ssWithin("units") / ssTotal, 12);
    expect(imp.get("optimizer")!).toBeGreaterThan(0.99);
    expect(imp.get("units")!).toBeLessThan(0.25); // chance imbalance of optimizers between its groups only
  });

  it("reports each spec's best setting and top-10% mean as the runs say", async () => {
    const out = join(work, "search");
    const r = await runStudy({ specs: ["examples/specs/rnn.cell"], task: "adding", T: 20, budget: 64, evalEvery: 32, search: 3, workers: 0, out, progress: false });
    expect(r.runs).toHaveLength(3);
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { runs: Array<{ setting: number; final: number }> };
    const best = json.runs.reduce((a, b) => (b.final < a.final ? b : a));
    const search = JSON.parse(readFileSync(join(out, "search.json"), "utf8")) as { settings: Setting[]; variants: Array<{ best: number; bestScore: number; top10Mean: number }> };
    expect(search.variants[0]!.best).toBe(best.setting);
    expect(search.variants[0]!.bestScore).toBe(best.final);
    expect(search.variants[0]!.top10Mean).toBe(best.final); // 10% of 3 settings: the best one
    // Each run trained with its setting's hidden size: the model's parameter count says so.
    for (const run of r.runs) {
      const H = search.settings[run.setting!]!.units;
      expect(run.modelParams).toBe(H * 2 + H * H + H + H + 1); // rnn: W[H,2], U[H,H], b[H]; dense(1)
    }
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("## Random search");
    expect(md).toContain("### Hyperparameter importance");
    expect(readFileSync(join(out, "search.svg"), "utf8")).toMatch(/^<svg [\s\S]*<rect [\s\S]*<\/svg>\n$/);
  });

  it("says what is wrong with a bad --space file", async () => {
    const spec = "examples/specs/rnn.cell";
    const file = (name: string, text: string) => {
      writeFileSync(join(work, name), text);
      return join(work, name);
    };
    const cases: Array<[string[], string]> = [
      [[spec, "--task", "adding", "--space", file("a.json", "{}")], "--space FILE needs --search N"],
      [[spec, "--task", "adding", "--search", "0"], "--search must be an integer >= 1, got '0'"],
      [[spec, "--task", "adding", "--search", "2", "--space", file("b.json", "{ nope")], `--space ${join(work, "b.json")} is not JSON: `],
      [[spec, "--task", "adding", "--search", "2", "--space", file("c.json", '{"lr": [1]}')], `${join(work, "c.json")}: unknown hyperparameter 'lr'; known: learningRate, units`],
      [[spec, "--task", "adding", "--search", "2", "--space", file("d.json", '{"learningRate": {"min": 0, "max": 1, "scale": "log"}}')], `${join(work, "d.json")}: 'learningRate' on a log scale needs min > 0`],
      [[spec, "--task", "adding", "--search", "2", "--space", file("e.json", '{"optimizer": ["lion"]}')], `${join(work, "e.json")}: optimizer must be one of adam, rmsprop, sgd, got "lion"`],
    ];
    for (const [args, message] of cases) {
      const err: string[] = [];
      const code = await studyCommand(args, { out: () => {}, err: (t) => err.push(t) });
      expect(code, args.join(" ")).toBe(2);
      expect(err.join("\n").split("\n\n")[0], args.join(" ")).toContain(`cellc study: ${message}`);
    }
  });
});

describe("job queue pieces without Redis", () => {
  it("reads redis://HOST:PORT[/DB] and names what is wrong with other URLs", () => {
    expect(parseQueueUrl("redis://10.0.0.5:6380/2")).toMatchObject({ host: "10.0.0.5", port: 6380, db: 2, tls: false, shown: "redis://10.0.0.5:6380/2" });
    expect(parseQueueUrl("redis://:secret@h:1")).toMatchObject({ password: "secret", shown: "redis://h:1" });
    expect(() => parseQueueUrl("localhost:6379")).toThrow("--queue expects redis://HOST:PORT[/DB], got 'localhost:6379' (scheme 'localhost')");
    expect(() => parseQueueUrl("redis://h:1/x")).toThrow("the database after the port must be a number from 0 to 15, got 'x'");
    expect(() => parseQueueUrl("redis://h:1/99")).toThrow("got '99'");
  });

  it("brings a result back bit for bit, NaN and infinities included", () => {
    const r: RunResult = { id: 3, spec: "s", seed: 2, status: "diverged", curve: [[32, 0.1 + 0.2], [64, Infinity]], final: NaN, seen: 64, modelParams: 9, seconds: 1 / 3, cpuSeconds: -Infinity };
    const back = decodeResult(encodeResult(r));
    expect(back).toEqual(r);
    expect(Object.is(back.final, NaN)).toBe(true);
    expect(back.curve[0]![1]).toBe(0.30000000000000004);
  });
});
