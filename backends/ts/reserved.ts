// The words a TypeScript module uses for itself, which no spec name may become (Backend.reserved):
// the language's keywords and the globals a module reads, the members every plain object has
// (as keys of a result object they would reach the prototype), the kernel bodies' and module's
// own names, and the top-level names of the support code every module carries
// (test/layering.test.ts reads the support code and fails when one of its names is missing here).

import { ROW_PRIMITIVES } from "../../compiler/primitives/rows.ts";
import { STRUCTURAL_PRIMITIVES } from "../../compiler/primitives/structural.ts";

const TS_WORDS =
  "break case catch class const continue debugger default delete do else enum export extends false finally for " +
  "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
  "yield let static implements interface package private protected public await arguments eval undefined NaN " +
  "Infinity Math Float32Array Float64Array Int32Array Uint8Array Number Object Array Error RangeError TypeError " +
  "WeakSet WeakMap Map Set ArrayBuffer SharedArrayBuffer String Symbol JSON globalThis WebAssembly Atomics Promise " +
  "BigInt Boolean Date Function Reflect Proxy console require module exports as async of type declare abstract " +
  "keyof readonly unique never unknown any boolean number string symbol object satisfies infer is asserts";
/** Members every plain object has: as keys they would read or write the prototype. */
const PROTO_WORDS = "__proto__ constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString valueOf __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__";


/** The printer's own names and the support code's (the shared and entry runtime included). */
const PRINTER_WORDS = [
  // TypeScript kernel bodies and module
  "B", "T", "R", "t", "b", "j", "r", "k", "n", "tb", "r0", "acc", "src", "dst", "src0", "dst0", "first", "per", "where",
  "params", "inputs", "state", "options", "tape", "tapeIn", "grads", "dOutputs", "meta", "outputs", "mem", "own", "w",
  "weights", "fwd", "adj", "io", "reuse", "given", "inputGradients", "packed", "packedGrads", "gradientsFor", "inferSteps", "optionalArray",
  "follows", "span", "spans", "checkFlag", "checkArrays", "optionalObject", "ins", "states", "initial", "masks", "dOuts", "dFinal", "INPUT_NAMES", "STATE_NAMES", "OUTPUT_NAMES", "Named", "stateOption", "stepCache", "runBackward", "Bound", "TapeBuffers", "cellcSharedCode",
  "Params", "Inputs", "State", "Outputs", "ForwardOptions", "BackwardOptions", "ForwardResult", "Gradients", "Tape",
  "TapeData", "Adjoints", "Weights", "Gemm", "describe", "fail", "checkObject", "checkKeys", "checkArray", "checkCount",
  "checkBatchSize", "checkLengths", "checkParams", "allocTape", "allocAdjoints", "stepTape", "tapes", "createParams",
  "createState", "step", "forward", "backward", "run", "weightsOf", "packWeights", "addPackGrads", "adj", "sc",
  "gemm", "pack", "invalidatePanels", "KC", "MC", "panelA", "panelB", "slotPanels", "slotValid",
  "POW2", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "frint", "FBITS", "fexponent", "fmantissa", "fexp", "fsigmoid", "ftanh", "felu", "fswish", "ferf", "fgelu", "fsin", "fcos", "fpow", "ABI_VERSION", "LAYOUT",
  "erf",
  "Rng", "InitRule", "ParamRules", "splitmix32", "rotl", "initialize", "fans", "orthogonal", "initParams", "MAX_SEED",
  "paramsSeed", "allocParams", "CreateParamsOptions", "gemmCore", "checkThreads", "MAX_THREADS", "FORWARD_OPTIONS", "BACKWARD_OPTIONS",
  // The entry runtime every TypeScript and WebAssembly module carries (backends/ts/support/entry.ts, arrays.ts)
  "bufLength", "layoutParams", "gradientTargets", "addPackGradients", "ForwardArgs", "forwardArgs", "fillForward",
  "stepArgs", "fillStep", "stepResult", "Grads", "BackwardArgs", "backwardArgs", "fillBackward", "initialStateGradients",
  "Tensors", "put", "KernelInfo", "KernelImpl",
  "zeroState", "ParamList", "namesOf", "nameLists", "paramIndex", "paramIndexes", "RunForward", "RunBackward", "ArrayTape", "arrayKernel", "KERNEL", "kernel",
  // The TypeScript functions of the row primitives (compiler/primitives/rows.ts)
  ...[...ROW_PRIMITIVES.values()].map((p) => p.ts.fn),
  // ... and of the structural primitives (compiler/primitives/structural.ts)
  ...[...STRUCTURAL_PRIMITIVES.values()].map((p) => p.ts.fn),
];

export const TS_RESERVED: readonly string[] = [...TS_WORDS.split(" "), ...PROTO_WORDS.split(" "), ...PRINTER_WORDS];
