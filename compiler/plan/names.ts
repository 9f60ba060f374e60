// Identifiers of generated code, assigned once in the plan and used as they are by every printer.
// Spec names become identifiers only through here: a name is made of [A-Za-z0-9_] (anything else
// becomes _), never starts with a digit, and never equals a word any printer uses for itself — a
// keyword or global of TypeScript or Python, an Object.prototype member, or a printer's own
// internal name — nor another name already given. Printers keep their internals to PRINTER_WORDS;
// test/layering.test.ts reads every top-level name of the support code the modules carry and
// fails when one is missing here (the compiler cannot import the backends to read them itself).

import { ROW_PRIMITIVES } from "../primitives/rows.ts";
import { STRUCTURAL_PRIMITIVES } from "../primitives/structural.ts";

/** Identifiers the printers use themselves (loop counters, support code, module structure). */
export const PRINTER_WORDS = [
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
  "POW2", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "frint", "fexp", "fsigmoid", "ftanh", "felu", "fswish", "ferf", "fgelu", "fsin", "fcos", "ABI_VERSION", "LAYOUT",
  "erf",
  "Rng", "InitRule", "ParamRules", "splitmix32", "rotl", "initialize", "fans", "orthogonal", "initParams", "MAX_SEED",
  "paramsSeed", "allocParams", "CreateParamsOptions", "gemmCore", "checkThreads", "MAX_THREADS", "FORWARD_OPTIONS", "BACKWARD_OPTIONS",
  // The JavaScript side of WebAssembly modules (backends/wasm/support/*.ts)
  "WasmMemory", "WasmApi", "WA", "decodeBase64", "SIMD_PROBE", "wasmSupported", "RELAXED_PROBE", "relaxedSimdSupported", "sharedMemorySupported", "unsharedBinary",
  "PAGE", "MAX_PAGES", "ALIGN", "HeapFull", "KernelMemoryError", "showBytes", "largestFitting", "MemoryNeed", "memoryError",
  "Heap", "Tensors", "put", "KernelInfo", "KernelImpl", "wasmKernel", "CTL", "IDLE_MS", "MESSAGE_CHARS", "NodeWorker",
  "WorkerCtor", "workerConstructor", "threadsSupported", "REPORT_SOURCE", "WORKER_SOURCE", "SUPERVISOR_SOURCE", "TeamJob",
  "TeamEntry", "TEAM_BYTES", "Team", "WasmKernelInfo",
  // The entry runtime every TypeScript and WebAssembly module carries (backends/ts/support/entry.ts, arrays.ts)
  "bufLength", "layoutParams", "gradientTargets", "addPackGradients", "ForwardArgs", "forwardArgs", "fillForward",
  "stepArgs", "fillStep", "stepResult", "Grads", "BackwardArgs", "backwardArgs", "fillBackward", "initialStateGradients",
  "zeroState", "ParamList", "namesOf", "nameLists", "paramIndex", "paramIndexes", "RunForward", "RunBackward", "ArrayTape", "arrayKernel", "KERNEL", "kernel",
  // Python (the PyTorch printer): module-level names its forward reads, and its forward's locals
  "torch", "nn", "self", "Tensor", "Optional", "List", "Tuple", "Dict", "math", "lengths", "state_masks", "dtype",
  "device", "steps", "batch_size",
  // The TypeScript functions of the row primitives (compiler/primitives/rows.ts)
  ...[...ROW_PRIMITIVES.values()].map((p) => p.ts.fn),
  // ... and of the structural primitives (compiler/primitives/structural.ts)
  ...[...STRUCTURAL_PRIMITIVES.values()].map((p) => p.ts.fn),
];

/** Numbered identifiers the printers make (row offsets o0, o1, ...; argument locals in0, ...). */
export const PRINTER_NUMBERED = /^(o|in|s|init|masks|dOut|dFinal|own)\d+$/;

const TS_WORDS =
  "break case catch class const continue debugger default delete do else enum export extends false finally for " +
  "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
  "yield let static implements interface package private protected public await arguments eval undefined NaN " +
  "Infinity Math Float32Array Float64Array Int32Array Uint8Array Number Object Array Error RangeError TypeError " +
  "WeakSet WeakMap Map Set ArrayBuffer SharedArrayBuffer String Symbol JSON globalThis WebAssembly Atomics Promise " +
  "BigInt Boolean Date Function Reflect Proxy console require module exports as async of type declare abstract " +
  "keyof readonly unique never unknown any boolean number string symbol object satisfies infer is asserts";
const PY_WORDS =
  "False None True and assert def del elif except from global is lambda nonlocal not or pass raise print len range " +
  "float int list dict tuple str super object self cls";
/** Members every plain object has: as keys they would read or write the prototype. */
const PROTO_WORDS = "__proto__ constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString valueOf __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__";

export const RESERVED: ReadonlySet<string> = new Set([...PRINTER_WORDS, ...TS_WORDS.split(" "), ...PY_WORDS.split(" "), ...PROTO_WORDS.split(" ")]);

function identifier(want: string): string {
  let base = want.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
  // o0, in0, ... are numbered names the printers make for themselves.
  if (PRINTER_NUMBERED.test(base)) base = `${base}_`;
  return base;
}

/** Allocates unique, valid, stable identifiers for a module. */
export class Names {
  private readonly used = new Set<string>();
  /** Names given inside scopes (a map's registers): module names avoid them too. */
  private readonly scoped = new Set<string>();

  get(want: string): string {
    const base = identifier(want);
    let name = base;
    for (let i = 2; this.taken(name) || this.scoped.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  taken(name: string): boolean {
    return RESERVED.has(name) || this.used.has(name);
  }

  /** Names for one inner scope (a fused loop's registers): unique within it and never equal to
   *  a module name, but free to repeat names of other scopes. */
  scope(): { get(want: string): string } {
    const own = new Set<string>();
    return {
      get: (want: string) => {
        const base = identifier(want);
        let name = base;
        for (let i = 2; this.taken(name) || own.has(name); i++) name = `${base}_${i}`;
        own.add(name);
        this.scoped.add(name);
        return name;
      },
    };
  }
}
