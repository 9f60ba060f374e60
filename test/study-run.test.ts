// The study engine (studies/) on tiny studies: the same seeds give the same numbers however many
// workers run them; a run is exactly the training loop it claims (checked against one written here
// with the runtime and jit's rnn() layer); bad input (an unknown task, a spec that does not compile,
// one that does not fit the task, one that diverges, a worker that dies) is reported while the rest
// of the study goes on; and the report's figures are the runs' numbers.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adam, dense, sequential, tensor } from "../runtime/index.ts";
import { rnn } from "../jit/index.ts";
import { runStudy, StudyError, type RunResult, type StudyOptions } from "../studies/index.ts";
import { chunkSeed } from "../studies/task.ts";
import { StudyProgress } from "../studies/progress.ts";
import { mean, std, summarize } from "../studies/summary.ts";
import { addingData, addingScore } from "../studies/data/adding.ts";

const tmp = mkdtempSync(join(tmpdir(), "cellc-study-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny: Omit<StudyOptions, "specs"> = { task: "adding", T: 20, budget: 96, evalEvery: 32, units: 3, seeds: 2, batchSize: 16, progress: false };
const specs = ["examples/specs/rnn.cell", "examples/specs/greff/np.cell"];

/** A run without its timings (which differ between any two runs). */
const numbers = (r: RunResult) => ({ ...r, seconds: 0, cpuSeconds: 0 });

describe("a study's numbers", () => {
  it("are the same on 1 and 2 workers and in-process, and differ between seeds", async () => {
    const [one, two, here] = [
      await runStudy({ ...tiny, specs, workers: 1 }),
      await runStudy({ ...tiny, specs, workers: 2 }),
      await runStudy({ ...tiny, specs, workers: 0 }),
    ];
    expect(one.setup.workers).toBe(1);
    expect(two.setup.workers).toBe(2);
    expect(one.runs).toHaveLength(4);
    for (const r of one.runs) {
      expect(r.status).toBe("ok");
      expect(r.curve).toHaveLength(3);
      expect(Number.isFinite(r.final)).toBe(true);
    }
    expect(two.runs.map(numbers)).toEqual(one.runs.map(numbers));
    expect(here.runs.map(numbers)).toEqual(one.runs.map(numbers));
    const np = one.runs.filter((r) => r.spec === "np");
    expect(np.map((r) => r.seed)).toEqual([1, 2]);
    expect(np[0]!.final).not.toBe(np[1]!.final);
  });

  it("are those of a training loop written with the runtime and jit's rnn() layer", async () => {
    const study = await runStudy({ ...tiny, specs: ["examples/specs/greff/np.cell"], seeds: 1, workers: 1 });
    const run = study.runs[0]!;
    const seed = 1;
    const m = sequential([rnn({ spec: "examples/specs/greff/np.cell", units: 3, target: "ts" }), dense(1)], { seed });
    m.compile({ optimizer: adam({ learningRate: 0.01 }), loss: "mse", clipNorm: 1 });
    await m.build([null, 2]);
    const asX = (d: ReturnType<typeof addingData>) => tensor(d.inputs, [d.count, d.maxLength, 2], d.lengths);
    const heldOut = addingData(500, 20, chunkSeed(seed, 0, 901));
    const curve: Array<[number, number]> = [];
    for (let c = 0; c < 3; c++) {
      const d = addingData(32, 20, chunkSeed(seed, c));
      await m.fit(asX(d), tensor(d.targets, [32, 1]), { epochs: 1, batchSize: 16, verbose: 0 });
      curve.push([32 * (c + 1), addingScore(m.predict(asX(heldOut), { batchSize: 256 }).data, heldOut.targets).meanAbsError]);
    }
    const test = addingData(2560, 20, chunkSeed(seed, 0, 777));
    expect(run.curve).toEqual(curve);
    expect(run.final).toBe(addingScore(m.predict(asX(test), { batchSize: 256 }).data, test.targets).meanAbsError);
    expect(run.modelParams).toBe(m.paramCount());
    expect(study.summaries[0]!.cellParams).toBe(m.paramCount() - 4); // Dense(1) on H = 3: 3 weights + 1 bias
  });
});

describe("bad input", () => {
  it("refuses an unknown task (listing the known ones), bad settings and an unknown baseline before compiling", async () => {
    const go = (o: Partial<StudyOptions>) => runStudy({ ...tiny, specs, ...o });
    await expect(go({ task: "nope" })).rejects.toThrow(new StudyError("unknown task 'nope'; known tasks: adding, reber, copy, charlm, sentiment (or the path of a task file)"));
    await expect(go({ T: 5 })).rejects.toThrow("T for task 'adding' must be an integer from 20 up");
    await expect(go({ task: "reber", T: 30 })).rejects.toThrow("task 'reber' takes no T");
    await expect(go({ budget: 0 })).rejects.toThrow("budget must be a positive integer, got 0");
    await expect(go({ workers: -1 })).rejects.toThrow("workers must be an integer >= 0");
    await expect(go({ learningRate: Number.NaN })).rejects.toThrow("learning rate must be a positive number");
    await expect(go({ specs: [] })).rejects.toThrow("no spec files to study");
    await expect(go({ baseline: "lstm" })).rejects.toThrow("baseline 'lstm' is not one of the specs (rnn, np)");
  });

  it("reports specs that do not compile or fit and runs that diverge, and runs the rest", async () => {
    const out = join(tmp, "mixed");
    const problems: string[] = [];
    const r = await runStudy({
      ...tiny,
      specs: ["examples/specs/rnn.cell", "test/fixtures/study/explode.cell", "test/fixtures/study/broken.cell", "test/specs/odd_outputs.cell", "test/specs/no_inputs.cell"],
      workers: 2,
      out,
      onSpecProblem: (p) => problems.push(p.label),
    });
    expect(problems).toEqual(["broken", "odd_outputs", "no_inputs"]);
    expect(r.specs.map((p) => p.status)).toEqual(["ok", "ok", "compile-error", "misfit", "misfit"]);
    const [, , broken, odd, none] = r.specs;
    expect(broken!.problem).toContain("broken.cell:7:8 error CE207: unknown function 'tanhh'; did you mean 'tanh'?");
    expect(broken!.problem).toContain("   7 |   h' = tanhh(W @ x + U @ h)");
    expect(odd!.problem).toBe("cell 'odd_outputs' takes 3 input features per step (x[3]) but task 'adding' feeds it 2 (a value and a marker per step); sizes bound: I = 2, H = 3");
    expect(none!.problem).toBe("cell 'no_inputs' declares no input, but task 'adding' feeds it 2 features per step (a value and a marker per step)");

    const explode = r.runs.filter((x) => x.spec === "explode");
    expect(explode).toHaveLength(2);
    for (const x of explode) {
      expect(x.status).toBe("diverged");
      expect(x.final).toBeNaN();
      expect(x.message).toMatch(/^the (loss|gradient of '.*') became (NaN|-?Infinity) after 0 training sequences$/);
    }
    const rnnRuns = r.runs.filter((x) => x.spec === "rnn");
    expect(rnnRuns.map((x) => x.status)).toEqual(["ok", "ok"]);
    const s = r.summaries.find((x) => x.label === "rnn")!;
    expect(s.finalMean).toBeCloseTo((rnnRuns[0]!.final + rnnRuns[1]!.final) / 2, 12);
    expect(s.finalStd).toBeCloseTo(Math.abs(rnnRuns[0]!.final - rnnRuns[1]!.final) / Math.SQRT2, 12);

    expect(r.table).toMatch(/explode\s+9\s+NaN \(all diverged\)\s+not reached\s+2/);
    expect(r.table).toMatch(/explode\s+NaN \(diverged at 0\)\s+NaN \(diverged at 0\)/);
    expect(r.table).toMatch(/broken\s+-\s+did not compile/);
    expect(r.table).toMatch(/odd_outputs\s+\d+\s+does not fit the task/);

    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual(["report.md", "curves.svg", "curves-panels.svg", "results.json"]);
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("| explode | 9 | NaN (all diverged) | not reached | 2 |");
    expect(md).toContain("## Problems");
    expect(md).toContain("error CE207: unknown function 'tanhh'");
    expect(md).toContain("- explode, seed 1: diverged: the ");
    const svg = readFileSync(join(out, "curves.svg"), "utf8");
    expect(svg).toContain('<polygon class="band" data-series="rnn"');
    expect(svg).toMatch(/<polyline class="mean" data-series="rnn"/);
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { runs: { final: unknown; status: string }[] };
    expect(json.runs.map((x) => x.status).sort()).toEqual(["diverged", "diverged", "ok", "ok"]);
    expect(json.runs.find((x) => x.status === "diverged")!.final).toBe("NaN");
  });

  it("takes a task from a file, and reports a run whose worker died as failed while the others finish", async () => {
    const r = await runStudy({ task: "test/fixtures/study/sum-task.ts", specs: ["examples/specs/rnn.cell", "examples/specs/gru.cell"], seeds: 3, workers: 1, progress: false });
    expect(r.setup.task.name).toBe("sum");
    const bySeed = (seed: number) => r.runs.filter((x) => x.seed === seed).map((x) => x.status);
    expect(bySeed(1)).toEqual(["ok", "ok"]);
    expect(bySeed(2)).toEqual(["ok", "ok"]);
    expect(bySeed(3)).toEqual(["failed", "failed"]);
    expect(r.runs.find((x) => x.seed === 3)!.message).toBe("its worker process died: exit status 3");
    expect(r.table).toMatch(/rnn\s+\d+\s+[\d.e-]+ ± [\d.e-]+ \(2 of 3 seeds\)/);
  });
});

describe("summaries and progress", () => {
  it("summarize: curve mean and range per point, success counted over seeds", () => {
    const run = (seed: number, curve: Array<[number, number]>, final: number, reachedAt?: number): RunResult => ({
      id: seed, spec: "a", seed, status: "ok", curve, final, seen: 20, modelParams: 7, seconds: seed, cpuSeconds: 1, ...(reachedAt === undefined ? {} : { reachedAt }),
    });
    const s = summarize("a", 5, [run(1, [[10, 0.5], [20, 0.1]], 0.12, 20), run(2, [[10, 0.3], [20, 0.2]], 0.2), run(3, [[10, 0.4], [20, 0.3]], 0.31, 10)]);
    expect(s.curve).toEqual([[10, (0.5 + 0.3 + 0.4) / 3, 0.3, 0.5], [20, (0.1 + 0.2 + 0.3) / 3, 0.1, 0.3]]);
    expect(s.finalMean).toBeCloseTo(0.21, 12);
    expect(s.finalStd).toBeCloseTo(Math.sqrt(((0.12 - 0.21) ** 2 + (0.2 - 0.21) ** 2 + (0.31 - 0.21) ** 2) / 2), 12);
    expect([s.reached, s.reachedMean, s.seconds, s.modelParams]).toEqual([2, 15, 2, 7]);
    expect(mean([])).toBeNaN();
    expect(std([1])).toBeNaN();
  });

  it("progress: plain lines with counts and an ETA off a terminal, a redrawn line on one", () => {
    let clock = 0;
    const plain: string[] = [];
    const p = new StudyProgress({ write: (s: string) => plain.push(s) }, 2, 100, () => clock);
    clock = 1000;
    p.progress(0, 50);
    p.done(0, "a seed 1: fine");
    clock = 3000;
    p.done(1, "a seed 2: fine");
    expect(plain).toEqual(["[1/2] a seed 1: fine - ETA 1.0s\n", "[2/2] a seed 2: fine\n"]);
    const tty: string[] = [];
    clock = 0;
    const q = new StudyProgress({ write: (s: string) => tty.push(s), isTTY: true, columns: 200 }, 2, 100, () => clock);
    clock = 1000;
    q.progress(0, 50);
    expect(tty.at(-1)).toBe("\r\x1b[2Kstudy: 0/2 runs done, 1 running - 25% of training - 1.0s elapsed - ETA 3.0s");
    q.done(0, "a seed 1: fine");
    expect(tty.at(-2)).toBe("\r\x1b[2K[1/2] a seed 1: fine\n");
    q.end();
    expect(tty.at(-1)).toBe("\r\x1b[2K");
  });
});
