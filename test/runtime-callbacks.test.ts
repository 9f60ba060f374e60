// Keras' callbacks and learning-rate schedules in fit, on a linear model small enough to check by
// hand: earlyStopping stops at the epoch Keras' rule gives on a crafted monitor sequence and puts
// back the best epoch's weights; reduceLROnPlateau lowers the rate at the right epochs and the
// next updates use it (checked against the hand-computed SGD step); modelCheckpoint writes only
// improving epochs and the checkpoint reloads to that epoch's weights; schedules against their
// formulas; a throwing callback gives a CallbackError and a failed step leaves the schedule's
// step count as it was.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  CallbackError,
  cosineDecay,
  dense,
  earlyStopping,
  exponentialDecay,
  learningRateScheduler,
  memoryCheckpointFs,
  modelCheckpoint,
  piecewiseConstantDecay,
  reduceLROnPlateau,
  Rng,
  sequential,
  sgd,
  type Callbacks,
  type Optimizer,
  type Sequential,
  type Tensor,
} from "../runtime/index.ts";

const N = 16;

/** y = 2 x0 - x1 + 0.5 with a little noise. */
function data(): { x: Tensor; y: Tensor } {
  const rng = new Rng(5);
  const x = new Float32Array(N * 2);
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    x[2 * i] = rng.uniform(-1, 1);
    x[2 * i + 1] = rng.uniform(-1, 1);
    y[i] = 2 * x[2 * i]! - x[2 * i + 1]! + 0.5 + 0.1 * rng.uniform(-1, 1);
  }
  return { x: { data: x, shape: [N, 2] }, y: { data: y, shape: [N, 1] } };
}

function linear(seed: number, optimizer: Optimizer = sgd({ learningRate: 0.1 })): Sequential {
  const m = sequential([dense(1)], { seed });
  m.compile({ optimizer, loss: "mse" });
  return m;
}

/** A callback that replaces logs[key] with seq[epoch] (as a validation score would arrive) and
 *  keeps a copy of the weights at the end of every epoch. */
function crafted(m: Sequential, seq: number[], key = "val_loss"): Callbacks & { snapshots: Float32Array[][] } {
  const snapshots: Float32Array[][] = [];
  return {
    name: "crafted",
    snapshots,
    onEpochEnd(epoch, logs) {
      logs[key] = seq[epoch]!;
      snapshots.push(m.getWeights());
    },
  };
}

const flat = (ws: Float32Array[]) => ws.flatMap((w) => Array.from(w));
const fitOpts = { batchSize: N, shuffle: false, verbose: 0 as const };

describe("earlyStopping", () => {
  it("stops after `patience` epochs without an improvement of more than minDelta and restores the best weights", async () => {
    const { x, y } = data();
    const m = linear(1);
    // Best at epoch 1 (3.0); 3.05 and 2.95 are not better by more than 0.1; the third epoch without
    // improvement (epoch 4) stops training.
    const c = crafted(m, [5, 3, 3.05, 2.95, 4, 1, 0.5, 0.2]);
    const es = earlyStopping({ patience: 3, minDelta: 0.1, restoreBestWeights: true });
    const h = await m.fit(x, y, { ...fitOpts, epochs: 8, callbacks: [c, es] });
    expect(h.epoch).toEqual([0, 1, 2, 3, 4]);
    expect(es.stoppedEpoch).toBe(4);
    expect(es.bestEpoch).toBe(1);
    expect(es.best).toBe(3);
    expect(h.history.val_loss).toEqual([5, 3, 3.05, 2.95, 4]);
    expect(flat(m.getWeights())).toEqual(flat(c.snapshots[1]!));
    expect(flat(c.snapshots[4]!)).not.toEqual(flat(c.snapshots[1]!));
  });

  it("restores the best epoch at the end when it never stops; mode max for accuracies", async () => {
    const { x, y } = data();
    const m = linear(2);
    const c = crafted(m, [0.5, 0.9, 0.7, 0.8, 0.85], "val_accuracy");
    const es = earlyStopping({ monitor: "val_accuracy", patience: 10, restoreBestWeights: true });
    const h = await m.fit(x, y, { ...fitOpts, epochs: 5, callbacks: [c, es] });
    expect(h.epoch.length).toBe(5);
    expect(es.stoppedEpoch).toBe(-1);
    expect(es.bestEpoch).toBe(1);
    expect(flat(m.getWeights())).toEqual(flat(c.snapshots[1]!));
  });

  it("patience 0 stops at the first epoch that does not improve, without restoring by default", async () => {
    const { x, y } = data();
    const m = linear(3);
    const c = crafted(m, [3, 2, 2, 1]);
    const h = await m.fit(x, y, { ...fitOpts, epochs: 4, callbacks: [c, earlyStopping()] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(flat(m.getWeights())).toEqual(flat(c.snapshots[2]!));
  });

  it("a monitor that is not logged is a clear error, raised after the first epoch, and the weights are kept", async () => {
    const { x, y } = data();
    const m = linear(4);
    let after: Float32Array[] = [];
    const keep: Callbacks = { onEpochEnd: () => void (after = m.getWeights()) };
    const err = await m.fit(x, y, { ...fitOpts, epochs: 3, callbacks: [keep, earlyStopping()] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallbackError);
    expect((err as Error).message).toBe(
      "callback 'earlyStopping' (#2) failed in onEpochEnd at epoch 1: earlyStopping: monitor 'val_loss' is not in the epoch's logs, which hold loss " +
        "(val_ values need validationData or validationSplit in fit); training stopped there (the model keeps the weights of its last completed step)",
    );
    expect(flat(m.getWeights())).toEqual(flat(after));
    expect(() => earlyStopping({ monitor: "val_bleu" })).toThrow(/cannot tell whether 'val_bleu' should go up or down; pass mode: "max" or mode: "min"/);
  });
});

describe("reduceLROnPlateau", () => {
  it("multiplies the rate by factor after patience epochs, waits cooldown, and the next updates use the new rate", async () => {
    const { x, y } = data();
    const opt = sgd({ learningRate: 0.1 });
    const m = linear(1, opt);
    const c = crafted(m, [1, 0.9, 0.9, 0.9, 0.95, 0.5, 0.6, 0.6, 0.6]);
    const atBegin: number[] = [];
    const before: Float32Array[][] = [];
    const probe: Callbacks = {
      onEpochBegin: () => {
        atBegin.push(opt.learningRate);
        before.push(m.getWeights());
      },
    };
    const h = await m.fit(x, y, { ...fitOpts, epochs: 9, callbacks: [probe, c, reduceLROnPlateau({ factor: 0.5, patience: 2, cooldown: 1 })] });
    // Keras' rule by hand: epoch 3 is the second without improvement -> 0.05, cooldown 1 absorbs
    // epoch 4; epoch 5 improves; epochs 6, 7 do not -> 0.025 after epoch 7.
    expect(atBegin).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025]);
    expect(h.history.learning_rate).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025]);
    expect(opt.learningRate).toBe(0.025);
    // Epoch 4 is one full-batch SGD step at 0.05: w -= 0.05 * (2/N) X^T (Xw + b - y).
    for (const epoch of [4, 8]) {
      const lr = atBegin[epoch]!;
      const [W, b] = before[epoch]!;
      const g = [0, 0, 0];
      for (let i = 0; i < N; i++) {
        const e = W![0]! * x.data[2 * i]! + W![1]! * x.data[2 * i + 1]! + b![0]! - y.data[i]!;
        g[0]! += (2 / N) * e * x.data[2 * i]!;
        g[1]! += (2 / N) * e * x.data[2 * i + 1]!;
        g[2]! += (2 / N) * e;
      }
      const [W1, b1] = c.snapshots[epoch]!;
      expect(W1![0]).toBeCloseTo(W![0]! - lr * g[0]!, 6);
      expect(W1![1]).toBeCloseTo(W![1]! - lr * g[1]!, 6);
      expect(b1![0]).toBeCloseTo(b![0]! - lr * g[2]!, 6);
    }
  });

  it("never goes below minLR, and refuses an optimizer that follows a schedule", async () => {
    const { x, y } = data();
    const opt = sgd({ learningRate: 0.1 });
    const m = linear(1, opt);
    const c = crafted(m, [1, 1, 1, 1, 1, 1]);
    await m.fit(x, y, { ...fitOpts, epochs: 6, callbacks: [c, reduceLROnPlateau({ patience: 1, minLR: 0.004 })] });
    expect(opt.learningRate).toBe(0.004);
    const s = linear(1, sgd({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }) }));
    await expect(s.fit(x, y, { ...fitOpts, epochs: 1, callbacks: reduceLROnPlateau() })).rejects.toThrow(
      /reduceLROnPlateau: the optimizer's learning rate follows the schedule 'exponentialDecay'/,
    );
  });
});

describe("modelCheckpoint", () => {
  it("with saveBestOnly writes only the improving epochs, and a checkpoint reloads to that epoch's weights", async () => {
    const { x, y } = data();
    const m = linear(1);
    const fs = memoryCheckpointFs();
    const c = crafted(m, [3, 2, 2.5, 1, 1.5]);
    const each = modelCheckpoint({ path: "ck/m-{epoch:02d}-{val_loss:.1f}", saveBestOnly: true, fs });
    const dir = mkdtempSync(path.join(tmpdir(), "cellc-ck-"));
    // No fs: the runtime's default storage, files on Node.
    const best = modelCheckpoint({ filepath: path.join(dir, "best"), saveBestOnly: true });
    await m.fit(x, y, { ...fitOpts, epochs: 5, callbacks: [c, each, best] });
    const headers = (await fs.readdir!("ck")).filter((f) => f.endsWith(".json")).sort();
    expect(headers).toEqual(["m-01-3.0.json", "m-02-2.0.json", "m-04-1.0.json"]);
    expect(each.saved.map((s) => s.epoch)).toEqual([0, 1, 3]);
    expect(best.saved.map((s) => s.epoch)).toEqual([0, 1, 3]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".bin")).length).toBe(1);

    const fresh = linear(9);
    await fresh.build([2]);
    expect(flat(fresh.getWeights())).not.toEqual(flat(c.snapshots[3]!));
    await fresh.load(path.join(dir, "best"));
    expect(flat(fresh.getWeights())).toEqual(flat(c.snapshots[3]!));
    await fresh.load("ck/m-02-2.0", { fs });
    expect(flat(fresh.getWeights())).toEqual(flat(c.snapshots[1]!));
  });

  it("without saveBestOnly saves every epoch; a path naming a value not logged is a clear error", async () => {
    const { x, y } = data();
    const m = linear(1);
    const fs = memoryCheckpointFs();
    const every = modelCheckpoint({ path: "all/e{epoch}", fs });
    await m.fit(x, y, { ...fitOpts, epochs: 3, callbacks: every });
    expect(every.saved.map((s) => s.path)).toEqual(["all/e1.json", "all/e2.json", "all/e3.json"]);
    await expect(m.fit(x, y, { ...fitOpts, epochs: 1, callbacks: modelCheckpoint({ path: "x/{val_auc}", fs }) })).rejects.toThrow(
      /modelCheckpoint: path x\/\{val_auc\} names \{val_auc\}, which is not in the epoch's logs \(epoch, loss\)/,
    );
  });
});

describe("learning-rate schedules", () => {
  it("give the Keras formulas' values", () => {
    const e = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    expect(e.at(0)).toBe(0.1);
    expect(e.at(5)).toBeCloseTo(0.1 / Math.SQRT2, 15);
    expect(e.at(20)).toBeCloseTo(0.025, 15);
    const st = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect([st.at(9), st.at(10), st.at(25)]).toEqual([0.1, 0.05, 0.025]);
    const c = cosineDecay({ initialLearningRate: 0.1, decaySteps: 100, alpha: 0.1 });
    // 0.1 * (0.9 * 0.5 * (1 + cos(pi * s / 100)) + 0.1)
    expect(c.at(0)).toBeCloseTo(0.1, 15);
    expect(c.at(50)).toBeCloseTo(0.055, 15);
    expect(c.at(25)).toBeCloseTo(0.1 * (0.45 * (1 + Math.SQRT1_2) + 0.1), 15);
    expect(c.at(100)).toBeCloseTo(0.01, 15);
    expect(c.at(250)).toBeCloseTo(0.01, 15);
    const w = cosineDecay({ initialLearningRate: 0.01, decaySteps: 10, warmupSteps: 10, warmupTarget: 0.1 });
    expect(w.at(5)).toBeCloseTo(0.055, 15);
    expect(w.at(10)).toBeCloseTo(0.1, 15);
    expect(w.at(15)).toBeCloseTo(0.05, 15);
    const p = piecewiseConstantDecay({ boundaries: [10, 20], values: [1, 0.5, 0.1] });
    expect([p.at(0), p.at(10), p.at(11), p.at(20), p.at(21)]).toEqual([1, 1, 0.5, 0.5, 0.1]);
    expect(() => piecewiseConstantDecay({ boundaries: [10], values: [1] })).toThrow(/one more entry than boundaries/);
  });

  it("an optimizer with a schedule steps by it: each update uses at(iterations)", async () => {
    const { x, y } = data();
    const s = exponentialDecay({ initialLearningRate: 0.2, decaySteps: 1, decayRate: 0.5 });
    const opt = sgd({ learningRate: s });
    const m = linear(1, opt);
    const rates: number[] = [];
    const deltas: number[] = [];
    let w = 0;
    const probe: Callbacks = {
      onEpochBegin: () => void (w = m.getWeights()[1]![0]!),
      onBatchEnd: () => {
        rates.push(opt.learningRate);
        deltas.push(m.getWeights()[1]![0]! - w);
      },
    };
    await m.fit(x, y, { ...fitOpts, epochs: 3, callbacks: probe });
    expect(opt.iterations).toBe(3);
    expect(rates).toEqual([0.2, 0.1, 0.05]);
    expect(deltas.every((d) => d !== 0)).toBe(true);
  });

  it("learningRateScheduler sets the rate at each epoch's start from fn(epoch, lr)", async () => {
    const { x, y } = data();
    const opt = sgd({ learningRate: 0.1 });
    const m = linear(1, opt);
    const h = await m.fit(x, y, { ...fitOpts, epochs: 4, callbacks: learningRateScheduler((epoch, lr) => (epoch < 2 ? lr : lr * 0.5)) });
    expect(h.history.learning_rate).toEqual([0.1, 0.1, 0.05, 0.025]);
    await expect(m.fit(x, y, { ...fitOpts, epochs: 1, callbacks: learningRateScheduler(() => Number.NaN) })).rejects.toThrow(
      /callback 'learningRateScheduler' \(#1\) failed in onEpochBegin at epoch 1: learningRateScheduler: the function gave NaN for epoch 0/,
    );
  });

  it("a step the guard undoes leaves the schedule's step count and the weights as they were", async () => {
    const huge = { name: "huge", at: (step: number) => (step === 1 ? 1e38 : 0.01) };
    const opt = sgd({ learningRate: huge });
    const m = linear(1, opt);
    const { x, y } = data();
    y.data[0] = 1e30; // a gradient so large that a rate of 1e38 overflows the weights
    await m.build([2]);
    m.trainOnBatch(x, { data: new Float32Array(N), shape: [N, 1] });
    const w = flat(m.getWeights());
    expect(() => m.trainOnBatch(x, y)).toThrow(/the update made weight 'dense\/\w+'\[\d\] -?Infinity/);
    expect(opt.iterations).toBe(1);
    expect(flat(m.getWeights())).toEqual(w);
  });
});

describe("callbacks", () => {
  it("a callback that throws ends fit with a CallbackError naming it, its hook and the epoch; the cause is kept", async () => {
    const { x, y } = data();
    const m = linear(1);
    const boom = new Error("boom");
    const err = await m
      .fit(x, y, { ...fitOpts, epochs: 4, callbacks: [{ name: "mine", onEpochEnd: (e) => { if (e === 1) throw boom; } }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallbackError);
    expect((err as CallbackError).message).toMatch(/^callback 'mine' \(#1\) failed in onEpochEnd at epoch 2: boom; training stopped there/);
    expect((err as CallbackError).cause).toBe(boom);
    await expect(m.fit(x, y, { ...fitOpts, callbacks: [{ onEpochEnd: 3 } as unknown as Callbacks] })).rejects.toThrow("fit: callbacks[0].onEpochEnd must be a function, got 3");
  });

  it("stopTraining set in onBatchEnd ends the epoch after that batch", async () => {
    const { x, y } = data();
    const m = linear(1);
    let batches = 0;
    const h = await m.fit(x, y, { batchSize: 4, shuffle: false, verbose: 0, epochs: 3, callbacks: { onBatchEnd: (b) => void (++batches, b === 1 && (m.stopTraining = true)) } });
    expect(batches).toBe(2);
    expect(h.epoch).toEqual([0]);
    expect(h.samplesSeen).toEqual([8]);
  });
});
