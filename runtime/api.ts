// The training runtime's public API, the same on Node and in a browser (no `node:` imports):
// index.ts (Node) and browser.ts re-export it with their checkpoint storage. Users import
// `cellc/runtime`; the repository's examples import ../runtime/index.ts.
// It trains any generated kernel (abi/kernel.ts) inside a Keras-style sequential model, or a
// functional model (several inputs and outputs, shared layers, states passed between layers).
//
// Data: a Tensor is { data: Float32Array, shape: number[], lengths?: Int32Array }, batch first
// (row-major). Nested number arrays are accepted wherever a TensorLike is. Sequences are
// batch-major [B, T, F] (ids [B, T] for an Embedding); `lengths` (one per sample, 0..T) marks
// variable-length sequences padded to T: recurrent layers stop each sample at its length, a
// layer with returnSequences=false returns the output at each sample's last valid step, and
// losses/metrics on [B, T, C] outputs skip steps past the length.
//
//   import { sequential, embedding, dropout, lstm, dense, rmsprop, tensor } from "../runtime/index.ts";
//   const model = sequential([
//     embedding(V, 50), dropout(0.2),
//     lstm(100, { dropout: 0.2, recurrentDropout: 0.2 }),      // compiles examples/specs/lstm.cell
//     dense(250, { activation: "relu" }), dropout(0.2), dense(1, { activation: "sigmoid" }),
//   ], { seed: 1 });
//   model.compile({ optimizer: rmsprop({ learningRate: 1e-3 }), loss: "binaryCrossentropy", metrics: ["accuracy"], clipNorm: 1 });
//   const h = await model.fit(x, y, { epochs: 5, batchSize: 32, validationSplit: 0.1 });  // builds on first fit
//   model.evaluate(xTest, yTest);        // { loss, accuracy }
//   model.predict(xTest);                // Tensor
//   console.log(model.summary());        // layers, output shapes, param counts
//   await model.save("out/model");       // out/model.json + out/model.<id>.bin, atomic
//   await model.load("out/model");
//
// Layers: dense(units, { activation: linear|relu|sigmoid|tanh|softmax }), embedding(vocab, dim),
// dropout(rate), recurrent({ kernel, returnSequences, stateful, dropout, recurrentDropout,
// initialState }) for a CellKernel (or a factory (inputSize) => kernel), rnn({ spec, units,
// unitsDim = "H", inputDim = "I", dims, cell, ...recurrent options }) for a spec file, and
// lstm / gru / simpleRNN(units, opts) for examples/specs. A recurrent layer's output is its
// kernel's first output. Stateful layers carry state between batches until model.resetStates();
// predict(x, { carryState: true }) streams (e.g. sampling one step at a time).
// Bidirectional: bidirectional(lstm(32, { returnSequences }), { mergeMode: concat|sum|mul|ave })
// runs a copy of the layer backward (own weights; with lengths it starts at each sample's last
// step). Recurrent layers with returnState return [output, ...final states] from applyAll().
// A recurrent layer may run an AsyncCellKernel (a WebGPU module, or rnn({ target: "webgpu" })):
// fit awaits it and keeps its weights on the GPU; evaluateAsync / predictAsync replace evaluate /
// predict, which refuse such a model naming them.
//
// Functional models (Keras' Model(inputs, outputs), tf.model()):
//   const src = input({ shape: [null], name: "source" });            // per-sample shape, null = any length
//   const [, h, c] = lstm(64, { returnState: true }).applyAll(embedding(V, 32).apply(src));
//   const tgt = input({ shape: [null], name: "target" });
//   const seq = lstm(64, { returnSequences: true }).apply(embedding(W, 32).apply(tgt), { initialState: [h, c] });
//   const m = model({ inputs: [src, tgt], outputs: dense(W, { activation: "softmax" }).apply(seq), seed: 1 });
//   m.compile(...); await m.fit([xSrc, xTgt], y);  // or { source: xSrc, target: xTgt }; several outputs: a list
//   m.predict([xSrc, xTgt]);                       // a Tensor, or one per output
// A layer applied at several places (or in several models) shares its weights. Merge layers:
// concatenate(), add(), multiply(), average() over the last axis.
// Losses (names for compile): "meanSquaredError" ("mse"), "binaryCrossentropy" (probabilities),
// "categoricalCrossentropy" (probabilities, one-hot y), "sparseCategoricalCrossentropy"
// (probabilities, class-id y). Metrics: "accuracy", "binaryAccuracy", "meanAbsoluteError".
// Optimizers: sgd({ learningRate = 0.01, momentum, nesterov }), rmsprop({ learningRate = 1e-3,
// rho = 0.9, momentum, epsilon = 1e-7 }), adam({ learningRate = 1e-3, beta1 = 0.9,
// beta2 = 0.999, epsilon = 1e-7 }); compile's clipNorm clips by global norm.
// fit(x, y, { epochs, batchSize, validationSplit | validationData, shuffle, verbose 0|1|2,
// callbacks: one { setModel, onTrainBegin, onEpochBegin, onBatchEnd, onEpochEnd, onTrainEnd } or
// a list, onEpochEnd, stream }) returns { epoch, history: { loss, <metric>, val_loss,
// val_<metric> }, samplesSeen, seconds }; set model.stopTraining = true in a callback to stop.
// Keras' callbacks (callbacks-keras.ts): earlyStopping, reduceLROnPlateau, modelCheckpoint,
// learningRateScheduler; learning-rate schedules (schedules.ts): exponentialDecay, cosineDecay,
// piecewiseConstantDecay, given as an optimizer's learningRate. Randomness (weights,
// dropout, shuffling) comes from the model's seed; Rng is exported for data generators, and
// sampleIndex(probs, temperature, rng) draws from a predicted distribution for generation.

import { Dense, type DenseOptions } from "./layers/dense.ts";
import { Dropout, type DropoutOptions } from "./layers/dropout.ts";
import { Embedding, type EmbeddingOptions } from "./layers/embedding.ts";
import { Recurrent, type KernelSource, type RecurrentOptions } from "./layers/recurrent.ts";
import { Bidirectional, type BidirectionalOptions } from "./layers/bidirectional.ts";
import { Merge, type MergeOptions } from "./layers/merge.ts";

export type { CellKernel, AsyncCellKernel, KernelMeta, ParamMeta, StateMeta, InitSpec, Tensors } from "../abi/kernel.ts";
export { Rng } from "./rng.ts";
export { sampleIndex } from "./sampling.ts";
export {
  tensor,
  toTensor,
  validateTensor,
  gatherRows,
  sliceRows,
  concatRows,
  sizeOf,
  shapeString,
  type Tensor,
  type TensorLike,
  type NestedArray,
} from "./tensor.ts";
export { initialize, initializeParams, fans } from "./init.ts";
export { Layer, type Param, type Shape, type ForwardContext } from "./layers/layer.ts";
export { Dense, Dropout, Embedding, Recurrent, Bidirectional, Merge };
export type { BidirectionalOptions } from "./layers/bidirectional.ts";
export type { MergeMode, MergeOptions } from "./layers/merge.ts";
export { input, SymbolicTensor, type InputOptions, type ApplyOptions, type Node } from "./functional/symbolic.ts";
export { Functional, model, type FunctionalOptions } from "./functional/model.ts";
export { Model, type ModelOptions, type ModelData } from "./training.ts";
export type { Activation, DenseOptions } from "./layers/dense.ts";
export type { DropoutOptions } from "./layers/dropout.ts";
export type { EmbeddingOptions } from "./layers/embedding.ts";
export type { RecurrentOptions, KernelSource };
export { getLoss, getMetric, type Loss, type LossName, type Metric, type MetricName } from "./losses.ts";
export { NonFiniteError, type StepPlace } from "./train-guard.ts";
export { CallbackError } from "./callbacks.ts";
export {
  earlyStopping,
  reduceLROnPlateau,
  modelCheckpoint,
  learningRateScheduler,
  type EarlyStopping,
  type EarlyStoppingOptions,
  type ReduceLROnPlateauOptions,
  type ModelCheckpoint,
  type ModelCheckpointOptions,
  type MonitorMode,
} from "./callbacks-keras.ts";
export {
  exponentialDecay,
  cosineDecay,
  piecewiseConstantDecay,
  type LearningRateSchedule,
  type ExponentialDecayOptions,
  type CosineDecayOptions,
  type PiecewiseConstantDecayOptions,
} from "./schedules.ts";
export { sgd, rmsprop, adam, getOptimizer, clipByGlobalNorm, globalNorm, type Optimizer, type OptimizerName, type SGDOptions, type RMSpropOptions, type AdamOptions } from "./optimizers.ts";
export {
  Sequential,
  sequential,
  type SequentialOptions,
  type CompileOptions,
  type FitOptions,
  type Callbacks,
  type History,
  type EvaluateOptions,
  type PredictOptions,
} from "./model.ts";
export { ProgressBar, formatLogs, formatDuration, type ProgressStream, type Logs } from "./progress.ts";
export { saveWeights, loadWeights, headerPath, setDefaultCheckpointFs, type CheckpointFs, type CheckpointStorage, type CheckpointOptions, type NamedWeight } from "./checkpoint.ts";

export function dense(units: number, opts: DenseOptions = {}): Dense {
  return new Dense(units, opts);
}

export function embedding(vocabSize: number, dim: number, opts: EmbeddingOptions = {}): Embedding {
  return new Embedding(vocabSize, dim, opts);
}

export function dropout(rate: number, opts: DropoutOptions = {}): Dropout {
  return new Dropout(rate, opts);
}

/** A recurrent layer around a kernel object (or a factory given the input size). */
export function recurrent(opts: RecurrentOptions): Recurrent {
  return new Recurrent(opts);
}

/** Runs a recurrent layer (or a kernel) forward and a copy of it backward; see layers/bidirectional.ts. */
export function bidirectional(layer: Recurrent | KernelSource, opts: BidirectionalOptions = {}): Bidirectional {
  return new Bidirectional(layer, opts);
}

/** Joins tensors along the last axis (functional models). */
export function concatenate(opts: MergeOptions = {}): Merge {
  return new Merge("concat", opts);
}

/** Sums tensors of one shape (functional models). */
export function add(opts: MergeOptions = {}): Merge {
  return new Merge("sum", opts);
}

/** Multiplies tensors of one shape elementwise (functional models). */
export function multiply(opts: MergeOptions = {}): Merge {
  return new Merge("mul", opts);
}

/** Averages tensors of one shape (functional models). */
export function average(opts: MergeOptions = {}): Merge {
  return new Merge("ave", opts);
}
