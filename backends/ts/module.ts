// The TypeScript backend: prints a plan as one self-contained module (metadata, types, the
// inlined support code, memory, and the entry points) with ts-morph, formatted by prettier with
// pinned options. It decides nothing: every name, buffer and op comes from the plan.

import type * as Prettier from "prettier";
import type { Project, SourceFile } from "ts-morph";
import { isRowOp, isStructOp, type Plan, type PlanOp } from "../../compiler/plan/types.ts";
import { elementwise } from "../../compiler/primitives/elementwise.ts";
import { adjointBuffers, boundBuffers, runBackwardBody, runBody, tapeBuffers } from "./entries.ts";
import { kernelInfo } from "./descriptor.ts";
import { tsComment, tsLiteral } from "./escape.ts";
import { supportText, usedSupport } from "./support.ts";
import { ARRAY, functionHead, typeKey } from "./util.ts";
import { rowPrimitive } from "../../compiler/primitives/rows.ts";
import { STRUCTURAL_PRIMITIVES, type StructOpName } from "../../compiler/primitives/structural.ts";
import { fastMathSource } from "./fastmath.ts";

/** Pinned so that generated code, and the golden files, do not drift with editor settings. */
export const PRETTIER_OPTIONS: Prettier.Options = {
  // babel-ts prints generated modules exactly as the typescript parser does, in two thirds of the time.
  parser: "babel-ts",
  printWidth: 100,
  tabWidth: 2,
  semi: true,
  singleQuote: false,
  trailingComma: "all",
  bracketSpacing: true,
  arrowParens: "always",
  endOfLine: "lf",
};

// ts-morph and prettier are loaded on first use, so checking a spec does not pay for them.
let project: Project | undefined;
let tsMorph: typeof import("ts-morph") | undefined;

// Each print gets a file of its own (two builds at once may share a file name) and removes it
// when done, so the in-memory project does not grow with every module printed.
let printed = 0;

async function sourceFile(name: string): Promise<SourceFile> {
  tsMorph ??= await import("ts-morph");
  project ??= new tsMorph.Project({ useInMemoryFileSystem: true, skipAddingFilesFromTsConfig: true });
  return project.createSourceFile(`/${printed++}/${name}`, "");
}

export interface TsModuleOptions {
  fileName: string;
  /** Where the spec came from (its file name), for the header; escaped here. */
  origin: string;
  dtype?: "float32" | "float64";
  format?: boolean;
  /** The module is a WebAssembly module's TypeScript fallback: its fast math (optimised float32
   *  builds) is the WebAssembly functions' (./fastmath.ts, the same bits), not the faster
   *  float64-based approximations of ./support/fastmath.ts a TypeScript module uses. */
  wasmFallback?: boolean;
}

const fields = (items: readonly { name: string }[], type = ARRAY) => `{ ${items.map((i) => `${typeKey(i.name)}: ${type};`).join(" ")} }`;
const q = tsLiteral;

function gemmConstants(plan: Plan): string[] {
  const ops: Extract<PlanOp, { op: "gemm" }>[] = [];
  const visit = (list: readonly PlanOp[]) => list.forEach((o) => o.op === "gemm" && ops.push(o));
  for (const s of [...plan.forward.stages, ...plan.backward.stages]) visit([...s.ops, ...(s.carry ?? [])]);
  return ops.flatMap((o) => {
    const b = (id: number) => plan.buffers[id]!;
    const stride = (v: { buf: number }) => (b(v.buf).rows === "none" ? 0 : b(v.buf).width);
    const w = "col" in o.w ? o.w : undefined;
    const c = "col" in o.c ? o.c : undefined;
    const what =
      o.form === "dw"
        ? `${b(o.c.buf).name} += Σ over rows of ${b(o.a.buf).name}ᵀ · ${b(o.w.buf).name}`
        : `${b(o.c.buf).name} = ${b(o.a.buf).name} · ${b(o.w.buf).name}${o.form === "xwT" ? "ᵀ" : ""}`;
    const doc = [`/** ${tsComment(what)}  (${o.n} × ${o.k})`, ...o.lines.map((l) => ` *  ${tsComment(l)}`), ` */`];
    const parts = [`form: ${q(o.form)}`, `n: ${o.n}`, `k: ${o.k}`, `as: ${stride(o.a)}`];
    if (w) parts.push(`bs: ${stride(w)}`);
    if (c) parts.push(`cs: ${stride(c)}`);
    if (o.accumulate && o.form !== "dw") parts.push(`accumulate: true`);
    if (o.slot !== null) parts.push(`slot: ${o.slot}`);
    const fields = `{ ${parts.join(", ")} }`;
    return [...doc, `const ${o.name}: Gemm = ${fields};`];
  });
}

/** Support files a plan needs beyond the ones every module carries: the special functions some formulas call. */
function optionalSupport(plan: Plan): "special"[] {
  const ops = [...plan.forward.stages, ...plan.backward.stages].flatMap((s) => [...s.ops, ...(s.carry ?? [])]);
  const out = new Set<"special">();
  for (const o of ops) {
    if (o.op !== "map") continue;
    for (const t of o.terms) if (t.kind === "fn") for (const f of elementwise(t.fn)?.tsSupport ?? []) out.add(f);
  }
  return [...out].sort();
}

/** The TypeScript functions of the row primitives a plan uses (from their registry entries). */
function rowSupport(plan: Plan): string[] {
  const ops = [...plan.forward.stages, ...plan.backward.stages].flatMap((s) => [...s.ops, ...(s.carry ?? [])]);
  const used = new Set(ops.flatMap((o) => (isRowOp(o) ? [o.op] : [])));
  return [...used].sort().map((op) => rowPrimitive(op)!.ts.source);
}

/** The TypeScript functions of the structural primitives a plan uses (from their registry entries, in its order). */
function structSupport(plan: Plan): string[] {
  const ops = [...plan.forward.stages, ...plan.backward.stages].flatMap((s) => [...s.ops, ...(s.carry ?? [])]);
  const used = new Set(ops.flatMap((o) => (isStructOp(o) ? [o.op] : [])));
  return [...STRUCTURAL_PRIMITIVES.values()].filter((p) => used.has(p.op as StructOpName)).map((p) => p.ts.source);
}

/** Stands for the support code in a module that embeds the TypeScript kernel (the WebAssembly and
 *  WebGPU modules) until the module's own text is known. */
export const SUPPORT_MARKER = "declare const cellcSupportCode: never;";

/** Such a module's final text: SUPPORT_MARKER replaced by the part of `support` the text uses (so
 *  it declares nothing it never reads: noUnusedLocals), then formatted unless `format` is false. */
export async function withSupport(text: string, support: string, format: boolean | undefined): Promise<string> {
  const { ts: tsApi } = await import("ts-morph");
  const code = text.replace(SUPPORT_MARKER, () => usedSupport(tsApi, support, text));
  if (format === false) return code;
  const prettier = await import("prettier");
  return prettier.format(code, PRETTIER_OPTIONS);
}

export async function emitTsModule(plan: Plan, m: TsModuleOptions): Promise<string> {
  const meta = plan.meta;
  const sf = await sourceFile(m.fileName);
  const { VariableDeclarationKind } = tsMorph!;
  const dimText = Object.entries(meta.dims).map(([k, v]) => `${k}=${v}`).join(", ");
  sf.addStatements([
    `// Generated by cellc from ${tsComment(m.origin)}: ${meta.kind} ${meta.name} with ${dimText || "no sizes"}.`,
    `// Do not edit: change the spec and rebuild. Self-contained; imports nothing.`,
    `// Layout: per-step vectors are [batchSize, n]; sequences are time-major [timeSteps, batchSize, n];`,
    `// a matrix parameter [m, n] is row-major.`,
  ]);
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["What this kernel is: its sizes, inputs, states, outputs and parameters (with their initializers)."],
    declarations: [{ name: "meta", initializer: `${tsLiteral(meta)} as const` }],
  });
  sf.addTypeAliases([
    { isExported: true, name: "Params", type: fields(meta.params), docs: ["Trainable parameters, one array each."] },
    { isExported: true, name: "Inputs", type: fields(meta.inputs), docs: ["Per-step inputs."] },
    { isExported: true, name: "State", type: fields(meta.states), docs: ["Recurrent state, [batchSize, n] each."] },
    { isExported: true, name: "Outputs", type: fields(meta.outputs), docs: ["Per-step outputs."] },
  ]);
  sf.addInterfaces([
    {
      isExported: true,
      name: "CreateParamsOptions",
      properties: [
        { name: "seed", type: "number", hasQuestionToken: true, docs: ["The seed the initializers draw from (0 to 2^32 - 1); default: a random one."] },
        { name: "zeros", type: "boolean", hasQuestionToken: true, docs: ["true: zero-filled parameters, no initializer run."] },
      ],
    },
    {
      isExported: true,
      name: "ForwardOptions",
      properties: [
        { name: "batchSize", type: "number" },
        { name: "timeSteps", type: "number", hasQuestionToken: true, docs: ["Inferred from the inputs; needed only without inputs."] },
        { name: "initialState", type: "Partial<State>", hasQuestionToken: true, docs: ["Zeros where absent."] },
        { name: "lengths", type: "ArrayLike<number>", hasQuestionToken: true, docs: ["Per-sample lengths: past it a sample keeps its state and outputs zeros."] },
        { name: "stateMasks", type: "Partial<State>", hasQuestionToken: true, docs: ["Masks on the states as the cell reads them (recurrent dropout)."] },
        { name: "tape", type: "Tape", hasQuestionToken: true, docs: ["A tape of the same sizes to reuse; its previous results are overwritten."] },
        { name: "threads", type: "number", hasQuestionToken: true, docs: ["Worker threads (WebAssembly kernels); this kernel runs on one."] },
      ],
    },
    {
      isExported: true,
      name: "Tape",
      docs: ["What forward records for backward."],
      properties: [
        { name: "timeSteps", type: "number", isReadonly: true },
        { name: "batchSize", type: "number", isReadonly: true },
      ],
    },
    {
      isExported: true,
      name: "ForwardResult",
      properties: [
        { name: "outputs", type: "Outputs", docs: ["[timeSteps, batchSize, n] each; owned by the tape."] },
        { name: "finalState", type: "State", docs: ["[batchSize, n] each; owned by the tape."] },
        { name: "tape", type: "Tape" },
      ],
    },
    {
      isExported: true,
      name: "BackwardOptions",
      properties: [
        { name: "dFinalState", type: "Partial<State>", hasQuestionToken: true },
        { name: "into", type: "Gradients", hasQuestionToken: true, docs: ["Arrays to overwrite instead of allocating."] },
        { name: "inputGradients", type: "boolean", hasQuestionToken: true, docs: ["false skips the inputs' gradients (left zero), e.g. for a first layer."] },
        { name: "threads", type: "number", hasQuestionToken: true, docs: ["Worker threads (WebAssembly kernels); this kernel runs on one."] },
      ],
    },
    {
      isExported: true,
      name: "Gradients",
      properties: [
        { name: "params", type: "Params", docs: ["Summed over batch and time."] },
        { name: "inputs", type: "Inputs", docs: ["[timeSteps, batchSize, n] each."] },
        { name: "initialState", type: "State" },
      ],
    },
  ]);

  const weightNames = plan.buffers.filter((b) => b.entry === "weights").map((b) => ({ name: b.name }));
  const support = [supportText("gemm"), ...structSupport(plan), ...(plan.fastMath ? [m.wasmFallback ? fastMathSource() : supportText("fastmath")] : []), ...optionalSupport(plan).map((name) => supportText(name)), ...rowSupport(plan), supportText("weights"), supportText("checks"), supportText("init"), supportText("entry"), supportText("arrays")].join("\n\n");
  const forwardRun = runBody(plan, m.wasmFallback === true);
  const backwardRun = runBackwardBody(plan, m.wasmFallback === true);
  sf.addStatements(
    [
      `type Weights = ${fields(weightNames)};`,
      `type TapeBuffers = ${fields(tapeBuffers(plan))};`,
      `type Adjoints = ${fields(adjointBuffers(plan))};`,
      `type Bound = ${fields(boundBuffers(plan))};`,
      `// ---- The support code every module carries (from cellc's backends/ts/support/; what this kernel uses).`,
      SHARED_MARKER,
      `// ---- This kernel.`,
      `/** The kernel's descriptor: its buffers, where the weights lie, and which buffers hold the inputs, states, masks, outputs and gradients (what the entry points read). */`,
      `const KERNEL: KernelInfo = ${tsLiteral(kernelInfo(plan))};`,
      ...gemmConstants(plan),
      `/** forward's work: the plan's forward stages over the tape's buffers. */`,
      functionHead("run", [["weights", "Weights"], ["fwd", "TapeBuffers"], ["T", "number"], ["B", "number"]], "void", forwardRun),
      forwardRun,
      `}`,
      `/** backward's work: the plan's backward stages. */`,
      functionHead("runBackward", [["weights", "Weights"], ["fwd", "TapeBuffers"], ["adj", "Adjoints"], ["io", "Bound"], ["T", "number"], ["B", "number"], ["inputGradients", "boolean"]], "void", backwardRun),
      backwardRun,
      `}`,
      `/** The entry points, the same code in every module (the entry runtime over this kernel's descriptor and stages). */`,
      `const kernel = arrayKernel(KERNEL, run, runBackward);`,
      `/** ${CREATE_PARAMS_DOC} */`,
      `export function createParams(options?: CreateParamsOptions): Params { return kernel.createParams(options) as Params; }`,
      `/** Zero state for a batch. */`,
      `export function createState(batchSize: number = 1): State { return kernel.createState(batchSize) as State; }`,
      `/** One step for streaming inference: reads inputs [batchSize, n], updates \`state\` in place, returns this step's outputs. */`,
      `export function step(params: Params, inputs: Inputs, state: State, batchSize: number = 1): Outputs { return kernel.step(params, inputs, state, batchSize) as Outputs; }`,
      `/** Runs a whole sequence ([timeSteps, batchSize, n] inputs) and records a tape for backward. */`,
      `export function forward(params: Params, inputs: Inputs, options: ForwardOptions): ForwardResult { return kernel.forward(params, inputs, options) as unknown as ForwardResult; }`,
      `/** Backward through time: gradients of every parameter (summed over batch and time), of the inputs and of the initial state, given the loss's gradient with respect to the outputs ([timeSteps, batchSize, n]; absent ones are zero). */`,
      `export function backward(params: Params, tapeIn: Tape, dOutputs: Partial<Outputs>, options: BackwardOptions = {}): Gradients { return kernel.backward(params, tapeIn, dOutputs, options) as unknown as Gradients; }`,
    ].join("\n"),
  );
  let text = sf.getFullText();
  project!.removeSourceFile(sf);
  // A float64 build is the same module over Float64Array, used to check gradients numerically.
  text = text.replaceAll(ARRAY, m.dtype === "float64" ? "Float64Array" : "Float32Array");
  // The support code names no spec name: its Float32Array can be replaced as it is.
  const retype = (t: string) => (m.dtype === "float64" ? t.replace(/\bFloat32Array\b/g, "Float64Array") : t);
  // Only the support code this module uses: it declares nothing it never reads (noUnusedLocals).
  const shared = retype(usedSupport(tsMorph!.ts, support, text));
  if (m.format === false) return text.replace(SHARED_MARKER, shared);
  // The code every module shares is formatted once per process and spliced in; the result is
  // what prettier makes of the whole file (a test checks it is a fixed point).
  const prettier = await import("prettier");
  const [body, formattedShared] = await Promise.all([prettier.format(text, PRETTIER_OPTIONS), formatShared(shared)]);
  return body.replace(`${SHARED_MARKER}\n`, formattedShared);
}

/** createParams as every TypeScript and WebAssembly module documents it. */
export const CREATE_PARAMS_DOC =
  "Parameters initialized by meta.params[k].init (the spec's `= glorot`, `= ones`, ...) from options.seed, the same numbers for a seed on every backend; without a seed, from a random one; { zeros: true }: zero-filled. Views of one buffer laid out as the kernel reads them.";

/** Stands for the shared code until the module is formatted. */
const SHARED_MARKER = "declare const cellcSharedCode: never;";

const formattedShared = new Map<string, Promise<string>>();

function formatShared(text: string): Promise<string> {
  let f = formattedShared.get(text);
  if (!f) {
    f = import("prettier").then((p) => p.format(text, PRETTIER_OPTIONS));
    formattedShared.set(text, f);
  }
  return f;
}
