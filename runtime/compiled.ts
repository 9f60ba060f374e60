// What model.compile makes of its options (the optimizer, one loss per output, their weights, the
// metrics, clipping), checked; and how a batch's losses and metrics are added to the logs.

import { describeValue } from "./describe.ts";
import { getLoss, getMetric, type Loss, type LossName, type Metric, type MetricName } from "./losses.ts";
import { perOutput } from "./model-data.ts";
import { getOptimizer, type Optimizer, type OptimizerName } from "./optimizers.ts";
import type { LogSums } from "./progress.ts";
import type { Tensor } from "./tensor.ts";

type LossSpec = LossName | Loss;

export interface CompileOptions {
  optimizer: OptimizerName | Optimizer;
  /** One loss for every output, or one per output (a list in output order, or keyed by output name). */
  loss: LossSpec | LossSpec[] | Record<string, LossSpec>;
  /** Computed for every output. */
  metrics?: (MetricName | Metric)[];
  /** Weights of the outputs' losses in the total (default 1 each). */
  lossWeights?: number[] | Record<string, number>;
  /** Clip gradients by global norm to this value before each update. */
  clipNorm?: number;
}

export interface Compiled {
  optimizer: Optimizer;
  losses: Loss[];
  lossWeights: number[];
  metrics: Metric[];
  clipNorm: number | undefined;
}

/** compile's options checked, for a model with outputs `outs`. */
export function compileSettings(opts: CompileOptions, outs: readonly string[]): Compiled {
  if (!opts || opts.optimizer === undefined || opts.loss === undefined) throw new Error("compile needs { optimizer, loss }");
  if (opts.clipNorm !== undefined && !(typeof opts.clipNorm === "number" && opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) {
    throw new Error(`compile: clipNorm must be a positive number, got ${describeValue(opts.clipNorm)}`);
  }
  const compiled: Compiled = {
    optimizer: getOptimizer(opts.optimizer),
    losses: perOutput(opts.loss, outs, "loss", (l) => typeof l === "string" || (typeof l === "object" && l !== null && "compute" in l)).map((l) => getLoss(l)),
    lossWeights: opts.lossWeights === undefined ? outs.map(() => 1) : perOutput(opts.lossWeights, outs, "lossWeights", (w) => typeof w === "number"),
    metrics: (opts.metrics ?? []).map(getMetric),
    clipNorm: opts.clipNorm,
  };
  compiled.lossWeights.forEach((w, i) => {
    if (!(Number.isFinite(w) && w >= 0)) throw new Error(`lossWeights for output '${outs[i]}' must be a non-negative number, got ${w}`);
  });
  return compiled;
}

/** Adds a batch's losses and metrics to `sums` (total loss weighted by the batch size n). */
export function recordBatch(c: Compiled, names: readonly string[], sums: LogSums, loss: number, losses: number[], outs: Tensor[], ys: Tensor[], n: number): void {
  const multi = names.length > 1;
  sums.add("loss", loss, n);
  if (multi) losses.forEach((l, i) => sums.add(`${names[i]}_loss`, l, n));
  outs.forEach((o, i) => {
    for (const m of c.metrics) {
      const r = m.compute(o, ys[i]!, c.losses[i]!.sparse);
      sums.add(multi ? `${names[i]}_${m.name}` : m.name, r.value, r.count);
    }
  });
}
