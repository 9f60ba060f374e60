// Makes a training step all or nothing. A step whose loss or gradients are not finite throws
// before anything is changed; a step whose update makes a weight or an optimizer slot non-finite
// is undone (weights and optimizer state as they were) and throws. Either way the model keeps its
// last finite weights, so evaluate, predict and save still work, and the error says where
// training was.
//
// The weights are copied aside before each update into arrays allocated once; a memcpy of the
// weights is small next to a forward and backward pass through time.

import type { Param } from "./layers/layer.ts";
import type { Optimizer } from "./optimizers.ts";

/** Where in fit a step ran: 0-based, like the callbacks' epoch and batch. */
export interface StepPlace {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
}

/** A training step produced a non-finite number; the model is as it was before that step. */
export class NonFiniteError extends Error {
  /** 0-based epoch and batch of fit (undefined for trainOnBatch). */
  readonly epoch: number | undefined;
  readonly batch: number | undefined;
  constructor(what: string, place: StepPlace | undefined) {
    const at = place ? ` at epoch ${place.epoch + 1}/${place.epochs}, batch ${place.batch + 1}/${place.batches}` : "";
    super(
      `${what}${at}; that step was not applied: the weights and the optimizer state are those after the last ` +
        `finite step. Lower the learning rate, set clipNorm, or check the data for NaN or Infinity`,
    );
    this.name = "NonFiniteError";
    this.epoch = place?.epoch;
    this.batch = place?.batch;
  }
}

/** The first non-finite value among the params' values or gradients: which param, where, what. */
export function firstNonFinite(
  params: readonly Param[],
  which: "value" | "grad",
): { param: number; index: number; value: number } | undefined {
  for (let p = 0; p < params.length; p++) {
    const d = params[p]![which];
    // x * 0 is 0 for every finite x and NaN for NaN and ±Infinity: one multiply-add per value.
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]! * 0;
    if (s === 0) continue;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return { param: p, index: i, value: d[i]! };
  }
  return undefined;
}

/** Copies of the weights taken before an update, to put back if it fails. */
export class WeightBackup {
  private copies: Float32Array[] = [];

  save(params: readonly Param[]): void {
    if (this.copies.length !== params.length || this.copies.some((c, i) => c.length !== params[i]!.value.length)) {
      this.copies = params.map((p) => new Float32Array(p.value.length));
    }
    for (let i = 0; i < params.length; i++) this.copies[i]!.set(params[i]!.value);
  }

  restore(params: readonly Param[]): void {
    for (let i = 0; i < params.length; i++) params[i]!.value.set(this.copies[i]!);
  }
}

/**
 * Applies `optimizer` to `params` as one transaction: on a non-finite weight or optimizer slot
 * afterwards, puts the weights and (when the optimizer can, as the built-in ones do) its state
 * back, and throws NonFiniteError.
 */
export function guardedUpdate(
  optimizer: Optimizer,
  params: readonly Param[],
  nameOf: (i: number) => string,
  backup: WeightBackup,
  place: StepPlace | undefined,
): void {
  backup.save(params);
  optimizer.save?.();
  let problem: string | undefined;
  try {
    optimizer.step(params);
    const bad = firstNonFinite(params, "value");
    if (bad) problem = `the update made weight '${nameOf(bad.param)}'[${bad.index}] ${bad.value}`;
    else if (optimizer.finite?.() === false) problem = `the update made the optimizer's state non-finite`;
  } catch (e) {
    backup.restore(params);
    optimizer.restore?.();
    throw e;
  }
  if (problem !== undefined) {
    backup.restore(params);
    if (optimizer.restore) optimizer.restore();
    else problem += ` (optimizer '${optimizer.name}' has no save/restore, so its own state may include that step)`;
    throw new NonFiniteError(problem, place);
  }
}
