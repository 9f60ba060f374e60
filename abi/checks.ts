// The facts of the kernel contract that are code, in their one home: the most threads a call may
// ask for, the keys forward's and backward's options may hold, and how an error message shows a
// value a user passed (by type and value: `batchSize: "2"` reads `got the string "2"`, a typed
// array `got Float64Array(12)`). The runtime, the CLI and the printers import them from here, and
// every generated TypeScript and WebAssembly module carries this file's text inlined (a module
// imports nothing; backends/ts/support.ts reads it as a runtime asset). So it imports nothing
// itself, and declares nothing a module would not need (test/layering.test.ts holds it to that).

// ---- inline from here

/** A value as a message shows it: its type, and its value when short. */
export function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (typeof v === "bigint") return `the bigint ${v}n`;
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  if (ArrayBuffer.isView(v)) {
    const type = Object.prototype.toString.call(v).slice(8, -1);
    return "length" in v ? `${type}(${(v as unknown as ArrayLike<number>).length})` : type;
  }
  if (Array.isArray(v)) return `an Array(${v.length})`;
  return "an object";
}

/** The most worker threads a call may ask for. */
export const MAX_THREADS = 64;

/** The keys forward's options may hold (abi/kernel.ts ForwardOptions). */
export const FORWARD_OPTIONS: readonly string[] = ["batchSize", "timeSteps", "initialState", "lengths", "stateMasks", "tape", "threads"];

/** The keys backward's options may hold (abi/kernel.ts BackwardOptions). */
export const BACKWARD_OPTIONS: readonly string[] = ["dFinalState", "into", "inputGradients", "threads"];
