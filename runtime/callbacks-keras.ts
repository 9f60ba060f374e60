// Keras' training callbacks, with Keras' semantics, for fit's `callbacks` list:
//
//   earlyStopping({ monitor = "val_loss", minDelta = 0, patience = 0, mode = "auto", baseline,
//                   restoreBestWeights = false, startFromEpoch = 0 })
//   reduceLROnPlateau({ monitor = "val_loss", factor = 0.1, patience = 10, mode = "auto",
//                       minDelta = 1e-4, cooldown = 0, minLR = 0 })
//   modelCheckpoint({ path (or filepath), monitor = "val_loss", saveBestOnly = false, mode = "auto", fs })
//   learningRateScheduler((epoch, lr) => newLr)
//
// `monitor` names an entry of the epoch's logs (loss, accuracy, val_loss, val_accuracy, or one an
// earlier callback added). mode "auto" maximises a name containing "acc" and minimises one ending
// in "loss" or containing "error"; any other name needs mode "min" or "max". A monitored name
// missing from the logs is an error that lists the names there are.
//
// earlyStopping: an epoch improves when the value beats the best so far by more than minDelta;
// after `patience` epochs in a row without improvement (never at the first epoch) it sets
// model.stopTraining. With restoreBestWeights, the weights of the best epoch are put back when
// training ends, stopped early or not. reduceLROnPlateau: after `patience` epochs without an
// improvement of more than minDelta, multiplies the optimizer's learningRate by `factor` (not
// below minLR), then waits `cooldown` epochs before counting again; it adds "learning_rate" to the
// logs. learningRateScheduler sets the rate at the start of each epoch.

import type { CheckpointFs } from "./checkpoint.ts";
import { describeValue } from "./describe.ts";
import type { Optimizer } from "./optimizers.ts";
import type { Logs } from "./progress.ts";
import type { Callbacks, Model } from "./training.ts";

export type MonitorMode = "auto" | "min" | "max";

/** Whether larger is better for `monitor` under `mode`. */
function maximises(monitor: string, mode: MonitorMode, who: string): boolean {
  if (mode === "max") return true;
  if (mode === "min") return false;
  if (mode !== "auto") throw new Error(`${who}: mode must be "auto", "min" or "max", got ${describeValue(mode)}`);
  if (monitor.includes("acc")) return true;
  if (monitor.endsWith("loss") || monitor.toLowerCase().includes("error")) return false;
  throw new Error(`${who}: cannot tell whether '${monitor}' should go up or down; pass mode: "max" or mode: "min"`);
}

function monitorName(v: unknown, who: string): string {
  if (v === undefined) return "val_loss";
  if (typeof v !== "string" || v === "") throw new Error(`${who}: monitor must name a logged value (e.g. "val_loss"), got ${describeValue(v)}`);
  return v;
}

/** The monitored value of this epoch's logs, or an error naming what the logs hold. */
function monitored(logs: Logs, monitor: string, who: string): number {
  const v = logs[monitor];
  if (typeof v === "number") return v;
  const hint = monitor.startsWith("val_") ? " (val_ values need validationData or validationSplit in fit)" : "";
  throw new Error(`${who}: monitor '${monitor}' is not in the epoch's logs, which hold ${Object.keys(logs).join(", ") || "nothing"}${hint}`);
}

function nonNegative(v: unknown, dflt: number, what: string): number {
  const x = v ?? dflt;
  if (!(typeof x === "number" && Number.isFinite(x) && x >= 0)) throw new Error(`${what} must be a number >= 0, got ${describeValue(v)}`);
  return x;
}

function wholeCount(v: unknown, dflt: number, what: string): number {
  const x = v ?? dflt;
  if (!(typeof x === "number" && Number.isInteger(x) && x >= 0)) throw new Error(`${what} must be a whole number >= 0, got ${describeValue(v)}`);
  return x;
}

function needModel(m: Model | undefined, who: string): Model {
  if (!m) throw new Error(`${who} is used by fit only (its setModel was not called)`);
  return m;
}

function needOptimizer(m: Model, who: string): Optimizer {
  const o = m.optimizer;
  if (!o) throw new Error(`${who}: the model has no optimizer (compile it first)`);
  if (o.schedule) throw new Error(`${who}: the optimizer's learning rate follows the schedule '${o.schedule.name}', which would override it; use one or the other`);
  return o;
}

export interface EarlyStoppingOptions {
  monitor?: string;
  /** The least change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  mode?: MonitorMode;
  /** Epochs that do not reach this value count as not improving, even the first. */
  baseline?: number;
  /** Put back the best epoch's weights when training ends (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to train before watching at all (default 0). */
  startFromEpoch?: number;
}

export interface EarlyStopping extends Callbacks {
  /** The best monitored value so far, and its 0-based epoch (-1 before any). */
  readonly best: number;
  readonly bestEpoch: number;
  /** The 0-based epoch after which it stopped training (-1: it did not). */
  readonly stoppedEpoch: number;
}

export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  const who = "earlyStopping";
  const monitor = monitorName(opts.monitor, who);
  const max = maximises(monitor, opts.mode ?? "auto", who);
  const minDelta = Math.abs(nonNegative(opts.minDelta, 0, `${who} minDelta`));
  const patience = wholeCount(opts.patience, 0, `${who} patience`);
  const start = wholeCount(opts.startFromEpoch, 0, `${who} startFromEpoch`);
  const baseline = opts.baseline;
  if (baseline !== undefined && !(typeof baseline === "number" && Number.isFinite(baseline))) throw new Error(`${who}: baseline must be a number, got ${describeValue(baseline)}`);
  const restore = opts.restoreBestWeights ?? false;
  const improves = (v: number, ref: number) => (max ? v - minDelta > ref : v + minDelta < ref);
  let model: Model | undefined;
  let wait = 0;
  let bestWeights: Float32Array[] | undefined;
  const state = { best: max ? -Infinity : Infinity, bestEpoch: -1, stoppedEpoch: -1 };
  return {
    name: who,
    get best() {
      return state.best;
    },
    get bestEpoch() {
      return state.bestEpoch;
    },
    get stoppedEpoch() {
      return state.stoppedEpoch;
    },
    setModel(m) {
      model = m;
    },
    onTrainBegin() {
      wait = 0;
      bestWeights = undefined;
      Object.assign(state, { best: max ? -Infinity : Infinity, bestEpoch: -1, stoppedEpoch: -1 });
    },
    onEpochEnd(epoch, logs) {
      const m = needModel(model, who);
      const current = monitored(logs, monitor, who);
      if (epoch < start) return;
      if (restore && bestWeights === undefined) bestWeights = m.getWeights();
      wait++;
      if (improves(current, state.best)) {
        state.best = current;
        state.bestEpoch = epoch;
        if (restore) bestWeights = m.getWeights();
        if (baseline === undefined || improves(current, baseline)) {
          wait = 0;
          return;
        }
      }
      if (wait >= patience && epoch > 0) {
        state.stoppedEpoch = epoch;
        m.stopTraining = true;
      }
    },
    onTrainEnd() {
      if (restore && bestWeights !== undefined) needModel(model, who).setWeights(bestWeights);
    },
  };
}

export interface ReduceLROnPlateauOptions {
  monitor?: string;
  /** The rate is multiplied by this, in (0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  mode?: MonitorMode;
  /** The least change that counts as an improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The rate never goes below this (default 0). */
  minLR?: number;
}

export function reduceLROnPlateau(opts: ReduceLROnPlateauOptions = {}): Callbacks {
  const who = "reduceLROnPlateau";
  const monitor = monitorName(opts.monitor, who);
  const max = maximises(monitor, opts.mode ?? "auto", who);
  const factor = opts.factor ?? 0.1;
  if (!(typeof factor === "number" && factor > 0 && factor < 1)) throw new Error(`${who}: factor must be in (0, 1), got ${describeValue(opts.factor)}`);
  const patience = wholeCount(opts.patience, 10, `${who} patience`);
  const minDelta = nonNegative(opts.minDelta, 1e-4, `${who} minDelta`);
  const cooldown = wholeCount(opts.cooldown, 0, `${who} cooldown`);
  const minLR = nonNegative(opts.minLR, 0, `${who} minLR`);
  const improves = (v: number, ref: number) => (max ? v > ref + minDelta : v < ref - minDelta);
  let model: Model | undefined;
  let best = 0;
  let wait = 0;
  let cooling = 0;
  return {
    name: who,
    setModel(m) {
      model = m;
    },
    onTrainBegin() {
      needOptimizer(needModel(model, who), who);
      best = max ? -Infinity : Infinity;
      wait = 0;
      cooling = 0;
    },
    onEpochEnd(_epoch, logs) {
      const o = needOptimizer(needModel(model, who), who);
      logs["learning_rate"] = o.learningRate;
      const current = monitored(logs, monitor, who);
      if (cooling > 0) {
        cooling--;
        wait = 0;
      }
      if (improves(current, best)) {
        best = current;
        wait = 0;
      } else if (cooling === 0 && ++wait >= patience && o.learningRate > minLR) {
        o.learningRate = Math.max(o.learningRate * factor, minLR);
        cooling = cooldown;
        wait = 0;
      }
    },
  };
}

/** Sets the optimizer's learning rate at the start of each epoch to fn(0-based epoch, current rate). */
export function learningRateScheduler(fn: (epoch: number, lr: number) => number): Callbacks {
  const who = "learningRateScheduler";
  if (typeof fn !== "function") throw new Error(`${who} needs a function (epoch, lr) => lr, got ${describeValue(fn)}`);
  let model: Model | undefined;
  return {
    name: who,
    setModel(m) {
      model = m;
    },
    onEpochBegin(epoch) {
      const o = needOptimizer(needModel(model, who), who);
      const lr = fn(epoch, o.learningRate);
      if (!(typeof lr === "number" && Number.isFinite(lr) && lr > 0)) throw new Error(`${who}: the function gave ${describeValue(lr)} for epoch ${epoch}; a learning rate must be a positive number`);
      o.learningRate = lr;
    },
    onEpochEnd(_epoch, logs) {
      logs["learning_rate"] = needOptimizer(needModel(model, who), who).learningRate;
    },
  };
}

export interface ModelCheckpointOptions {
  /** Where to save (as model.save does): may hold {epoch} (1-based) and {<log name>}, with an
   *  optional format, {epoch:03d} or {val_loss:.4f}. `filepath` is the same. */
  path?: string;
  filepath?: string;
  monitor?: string;
  /** Save only when the monitored value beats the best so far (default false: every epoch). */
  saveBestOnly?: boolean;
  mode?: MonitorMode;
  /** Storage (default: the runtime's: files on Node, IndexedDB in a browser). */
  fs?: CheckpointFs;
}

export interface ModelCheckpoint extends Callbacks {
  /** Header paths written, in order, with their 0-based epochs. */
  readonly saved: readonly { epoch: number; path: string }[];
}

export function modelCheckpoint(opts: ModelCheckpointOptions): ModelCheckpoint {
  const who = "modelCheckpoint";
  const path = opts?.path ?? opts?.filepath;
  if (typeof path !== "string" || path === "") throw new Error(`${who} needs a path (a non-empty string), got ${describeValue(path)}`);
  const monitor = monitorName(opts.monitor, who);
  const bestOnly = opts.saveBestOnly ?? false;
  // Only saveBestOnly compares values; without it, any monitor name is fine.
  const max = bestOnly ? maximises(monitor, opts.mode ?? "auto", who) : false;
  const fs = opts.fs;
  let model: Model | undefined;
  let best = 0;
  const saved: { epoch: number; path: string }[] = [];
  return {
    name: who,
    saved,
    setModel(m) {
      model = m;
    },
    onTrainBegin() {
      best = max ? -Infinity : Infinity;
    },
    async onEpochEnd(epoch, logs) {
      const m = needModel(model, who);
      if (bestOnly) {
        const current = monitored(logs, monitor, who);
        if (!(max ? current > best : current < best)) return;
        best = current;
      }
      saved.push({ epoch, path: await m.save(formatPath(path, epoch, logs), fs ? { fs } : {}) });
    },
  };
}

/** `path` with {epoch} and {<log name>} filled in (formats: 0Nd / Nd for whole numbers, .Nf). */
export function formatPath(path: string, epoch: number, logs: Logs): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_, key: string, format: string | undefined) => {
    const v = key === "epoch" ? epoch + 1 : logs[key];
    if (typeof v !== "number") throw new Error(`modelCheckpoint: path ${path} names {${key}}, which is not in the epoch's logs (${["epoch", ...Object.keys(logs)].join(", ")})`);
    if (format === undefined || format === "") return String(v);
    const fixed = /^\.(\d+)f$/.exec(format);
    if (fixed) return v.toFixed(Number(fixed[1]));
    const whole = /^(0?)(\d+)d$/.exec(format);
    if (whole) return String(Math.round(v)).padStart(Number(whole[2]), whole[1] === "0" ? "0" : " ");
    throw new Error(`modelCheckpoint: path ${path} has format '${format}' for {${key}}; use .Nf (e.g. .4f) or 0Nd (e.g. 03d)`);
  });
}
