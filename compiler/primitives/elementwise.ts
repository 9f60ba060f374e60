// The registry of elementwise primitives: every scalar function a kernel computes, each defined
// once. Adding a function to the language means adding one entry here (and, for a composite such
// as hard_sigmoid, one expansion in ../lower-calls.ts).
//
// Conventions: `x` are operand expressions in the order of the IR equation; a formula may repeat
// an operand, so printers pass plain identifiers or literals. eval is the float64 truth; the
// TypeScript formula computes the same value (a registry-driven test checks every entry on a grid
// that includes extremes). NaN propagates wherever the math allows it.

import { erf } from "../../backends/ts/support/special.ts";
import { num, onnxExpm1, onnxExtreme, onnxLog1p, pyNum, torchExtreme, torchPow } from "./formulas.ts";
import type { Elementwise } from "./types.ts";

export { num, pyNum } from "./formulas.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** 1/√(2π), the standard normal density's scale (gelu's derivative). */
const INV_SQRT_2PI = 0.3989422804014327;

/** Past this, log(1 + e^x) equals x to double precision (e^-20 ≈ 2e-9 relative... and the
 *  float32 result is x exactly); below it, log1p(exp(x)) is exact and cannot overflow. */
export const SOFTPLUS_LINEAR_FROM = 20;

const list: Elementwise[] = [
  // ---- arithmetic: the operators + - * / and unary minus
  {
    op: "add",
    arity: 2,
    doc: "a + b",
    eval: ([a, b]) => a! + b!,
    grad: ({ dy }) => [dy, dy],
    ts: ([a, b]) => `${a} + ${b}`,
    wasm: ([a, b], _a, o) => `(${o.v}.add ${a} ${b})`,
    torch: ([a, b]) => `${a} + ${b}`,
    onnx: ([a, b], _a, g) => g.op("Add", [a!, b!]),
  },
  {
    op: "sub",
    arity: 2,
    doc: "a - b",
    eval: ([a, b]) => a! - b!,
    grad: ({ dy }, b) => [dy, b.neg(dy)],
    ts: ([a, b]) => `${a} - ${b}`,
    wasm: ([a, b], _a, o) => `(${o.v}.sub ${a} ${b})`,
    torch: ([a, b]) => `${a} - ${b}`,
    onnx: ([a, b], _a, g) => g.op("Sub", [a!, b!]),
  },
  {
    op: "mul",
    arity: 2,
    doc: "a * b",
    eval: ([a, b]) => a! * b!,
    grad: ({ dy, x: [p, q] }, b) => [b.mul(dy, q!), b.mul(dy, p!)],
    ts: ([a, b]) => `${a} * ${b}`,
    wasm: ([a, b], _a, o) => `(${o.v}.mul ${a} ${b})`,
    torch: ([a, b]) => `${a} * ${b}`,
    onnx: ([a, b], _a, g) => g.op("Mul", [a!, b!]),
  },
  {
    op: "div",
    arity: 2,
    doc: "a / b",
    eval: ([a, b]) => a! / b!,
    grad: ({ dy, y, x: [, q] }, b) => [b.div(dy, q!), b.neg(b.div(b.mul(dy, y), q!))],
    ts: ([a, b]) => `${a} / ${b}`,
    wasm: ([a, b], _a, o) => `(${o.v}.div ${a} ${b})`,
    torch: ([a, b]) => `${a} / ${b}`,
    onnx: ([a, b], _a, g) => g.op("Div", [a!, b!]),
    domain: ([, b]) => Math.abs(b!) > 1e-3,
  },
  {
    op: "neg",
    arity: 1,
    doc: "-x",
    eval: ([x]) => -x!,
    grad: ({ dy }, b) => [b.neg(dy)],
    ts: ([x]) => `-${x}`,
    wasm: ([x], _a, o) => `(${o.v}.neg ${x})`,
    torch: ([x]) => `-${x}`,
    onnx: ([x], _a, g) => g.op("Neg", [x!]),
  },
  {
    op: "copy",
    arity: 1,
    doc: "x (a value of its own: a new state that is just another name)",
    eval: ([x]) => x!,
    grad: ({ dy }) => [dy],
    ts: ([x]) => `${x}`,
    wasm: ([x]) => x!,
    torch: ([x]) => `${x}`,
    onnx: ([x]) => x!,
  },

  // ---- activations a spec may call
  {
    op: "sigmoid",
    arity: 1,
    surface: true,
    doc: "1 / (1 + e^-x)",
    eval: ([x]) => sigmoid(x!),
    grad: ({ dy, y }, b) => [b.mul(dy, b.mul(y, b.sub(1, y)))],
    ts: ([x], _a, o) => (o.fast ? `fsigmoid(${x})` : `1 / (1 + Math.exp(-${x}))`),
    wasm: ([x], _a, o) => o.call("sigmoid", x!),
    torch: ([x]) => `torch.sigmoid(${x})`,
    onnx: ([x], _a, g) => g.op("Sigmoid", [x!]),
  },
  {
    op: "tanh",
    arity: 1,
    surface: true,
    doc: "hyperbolic tangent",
    eval: ([x]) => Math.tanh(x!),
    grad: ({ dy, y }, b) => [b.mul(dy, b.sub(1, b.mul(y, y)))],
    ts: ([x], _a, o) => (o.fast ? `ftanh(${x})` : `Math.tanh(${x})`),
    wasm: ([x], _a, o) => o.call("tanh", x!),
    torch: ([x]) => `torch.tanh(${x})`,
    onnx: ([x], _a, g) => g.op("Tanh", [x!]),
  },
  {
    op: "relu",
    arity: 1,
    surface: true,
    doc: "max(x, 0)",
    eval: ([x]) => (x! < 0 ? 0 : x!),
    grad: ({ dy, y }, b) => [b.mul(dy, b.heaviside(y))],
    ts: ([x]) => `${x} < 0 ? 0 : ${x}`,
    wasm: ([x], _a, o) => `(${o.v}.pmax ${x} ${o.k(0)})`,
    torch: ([x]) => `torch.relu(${x})`,
    onnx: ([x], _a, g) => g.op("Relu", [x!]),
    smoothAt: ([x]) => x !== 0,
  },
  {
    op: "exp",
    arity: 1,
    surface: true,
    doc: "e^x",
    eval: ([x]) => Math.exp(x!),
    grad: ({ dy, y }, b) => [b.mul(dy, y)],
    ts: ([x], _a, o) => (o.fast ? `fexp(${x})` : `Math.exp(${x})`),
    wasm: ([x], _a, o) => o.call("exp", x!),
    torch: ([x]) => `torch.exp(${x})`,
    onnx: ([x], _a, g) => g.op("Exp", [x!]),
  },
  {
    op: "log",
    arity: 1,
    surface: true,
    doc: "natural logarithm",
    eval: ([x]) => Math.log(x!),
    grad: ({ dy, x: [a] }, b) => [b.div(dy, a!)],
    ts: ([x]) => `Math.log(${x})`,
    wasm: ([x], _a, o) => o.call("log", x!),
    torch: ([x]) => `torch.log(${x})`,
    onnx: ([x], _a, g) => g.op("Log", [x!]),
    domain: ([x]) => x! > 1e-3,
  },
  {
    op: "softsign",
    arity: 1,
    surface: true,
    doc: "x / (1 + |x|)",
    eval: ([x]) => x! / (1 + Math.abs(x!)),
    grad: ({ dy, x: [a] }, b) => {
      const d = b.add(1, b.abs(a!));
      return [b.div(dy, b.mul(d, d))];
    },
    ts: ([x]) => `${x} / (1 + Math.abs(${x}))`,
    wasm: ([x], _a, o) => `(${o.v}.div ${x} (${o.v}.add ${o.k(1)} (${o.v}.abs ${x})))`,
    torch: ([x]) => `${x} / (1.0 + torch.abs(${x}))`,
    onnx: ([x], _a, g) => g.op("Softsign", [x!]),
  },
  {
    op: "softplus",
    arity: 1,
    surface: true,
    doc: `log(1 + e^x) (x itself past ${SOFTPLUS_LINEAR_FROM})`,
    eval: ([x]) => (x! > SOFTPLUS_LINEAR_FROM ? x! : Math.log1p(Math.exp(x!))),
    grad: ({ dy, x: [a] }, b) => [b.mul(dy, b.sigmoid(a!))],
    ts: ([x]) => `${x} > ${SOFTPLUS_LINEAR_FROM} ? ${x} : Math.log1p(Math.exp(${x}))`,
    wasm: ([x], _a, o) => o.call("softplus", x!),
    torch: ([x]) => `torch.nn.functional.softplus(${x}, 1.0, ${pyNum(SOFTPLUS_LINEAR_FROM)})`,
    onnx: ([x], _a, g) => g.op("Where", [g.op("Greater", [x!, g.const(SOFTPLUS_LINEAR_FROM)]), x!, onnxLog1p(g.op("Exp", [x!]), g)]),
  },
  {
    op: "log_sigmoid",
    arity: 1,
    surface: true,
    doc: "log(sigmoid(x)) = -softplus(-x): finite where sigmoid(x) rounds to 0 (log-space gates)",
    eval: ([x]) => -(-x! > SOFTPLUS_LINEAR_FROM ? -x! : Math.log1p(Math.exp(-x!))),
    grad: ({ dy, x: [a] }, b) => [b.mul(dy, b.sigmoid(b.neg(a!)))],
    ts: ([x]) => `-(-${x} > ${SOFTPLUS_LINEAR_FROM} ? -${x} : Math.log1p(Math.exp(-${x})))`,
    wasm: ([x], _a, o) => `(${o.v}.neg ${o.call("softplus", `(${o.v}.neg ${x})`)})`,
    torch: ([x]) => `-torch.nn.functional.softplus(-${x}, 1.0, ${pyNum(SOFTPLUS_LINEAR_FROM)})`,
    onnx: ([x], _a, g) => {
      const n = g.op("Neg", [x!]);
      return g.op("Neg", [g.op("Where", [g.op("Greater", [n, g.const(SOFTPLUS_LINEAR_FROM)]), n, onnxLog1p(g.op("Exp", [n]), g)])]);
    },
  },
  {
    op: "sqrt",
    arity: 1,
    surface: true,
    doc: "square root",
    eval: ([x]) => Math.sqrt(x!),
    grad: ({ dy, y }, b) => [b.div(b.mul(dy, 0.5), y)],
    ts: ([x]) => `Math.sqrt(${x})`,
    wasm: ([x], _a, o) => `(${o.v}.sqrt ${x})`,
    torch: ([x]) => `torch.sqrt(${x})`,
    onnx: ([x], _a, g) => g.op("Sqrt", [x!]),
    domain: ([x]) => x! > 1e-3,
  },
  {
    op: "abs",
    arity: 1,
    surface: true,
    doc: "|x|",
    eval: ([x]) => Math.abs(x!),
    grad: ({ dy, x: [a] }, b) => [b.mul(dy, b.sign(a!))],
    ts: ([x]) => `Math.abs(${x})`,
    wasm: ([x], _a, o) => `(${o.v}.abs ${x})`,
    torch: ([x]) => `torch.abs(${x})`,
    onnx: ([x], _a, g) => g.op("Abs", [x!]),
    smoothAt: ([x]) => x !== 0,
  },
  {
    op: "clip",
    arity: 1,
    attrs: ["lo", "hi"],
    surface: true,
    doc: "x limited to [lo, hi] (numeric bounds)",
    eval: ([x], { lo, hi }) => (x! < lo! ? lo! : x! > hi! ? hi! : x!),
    grad: ({ dy, x: [a], attrs }, b) => [b.mul(dy, b.between(a!, attrs.lo!, attrs.hi!))],
    ts: ([x], { lo, hi }) => `${x} < ${num(lo!)} ? ${num(lo!)} : ${x} > ${num(hi!)} ? ${num(hi!)} : ${x}`,
    wasm: ([x], { lo, hi }, o) => `(v128.bitselect ${o.k(lo!)} (${o.v}.pmin ${x} ${o.k(hi!)}) (${o.v}.lt ${x} ${o.k(lo!)}))`,
    torch: ([x], { lo, hi }) => `torch.clamp(${x}, ${pyNum(lo!)}, ${pyNum(hi!)})`,
    onnx: ([x], { lo, hi }, g) => g.op("Clip", [x!, g.const(lo!), g.const(hi!)]),
    smoothAt: ([x], { lo, hi }) => x !== lo && x !== hi,
  },

  {
    op: "elu",
    arity: 1,
    surface: true,
    doc: "x for x > 0, else e^x - 1 (α = 1)",
    eval: ([x]) => (x! > 0 ? x! : Math.expm1(x!)),
    grad: ({ dy, y, x: [a] }, b) => [b.mul(dy, b.select(b.heaviside(a!), 1, b.add(y, 1)))],
    ts: ([x], _a, o) => (o.f32 ? `felu(${x})` : `${x} > 0 ? ${x} : Math.expm1(${x})`),
    wasm: ([x], _a, o) => o.call("elu", x!),
    torch: ([x]) => `torch.nn.functional.elu(${x})`,
    onnx: ([x], _a, g) => g.op("Where", [g.op("Greater", [x!, g.const(0)]), x!, onnxExpm1(x!, g)]),
  },
  {
    op: "gelu",
    arity: 1,
    surface: true,
    doc: "x · Φ(x) = x/2 · (1 + erf(x/√2)), the exact form (PyTorch's and Keras' default)",
    eval: ([x]) => 0.5 * x! * (1 + erf(x! * Math.SQRT1_2)),
    grad: ({ dy, x: [a] }, b) => {
      // Φ(x) + x·φ(x)
      const cdf = b.mul(0.5, b.add(1, b.call("erf", b.mul(a!, Math.SQRT1_2))));
      const pdf = b.mul(INV_SQRT_2PI, b.call("exp", b.mul(-0.5, b.mul(a!, a!))));
      return [b.mul(dy, b.add(cdf, b.mul(a!, pdf)))];
    },
    ts: ([x], _a, o) => (o.f32 ? `fgelu(${x})` : `0.5 * ${x} * (1 + erf(${x} * Math.SQRT1_2))`),
    wasm: ([x], _a, o) => o.call("gelu", x!),
    torch: ([x]) => `torch.nn.functional.gelu(${x})`,
    onnx: ([x], _a, g) => g.op("Mul", [g.op("Mul", [x!, g.const(0.5)]), g.op("Add", [g.const(1), g.op("Erf", [g.op("Mul", [x!, g.const(Math.SQRT1_2)])])])]),
    tsSupport: ["special"],
  },
  {
    op: "swish",
    arity: 1,
    surface: true,
    doc: "x · sigmoid(x) (SiLU)",
    eval: ([x]) => x! * sigmoid(x!),
    grad: ({ dy, y, x: [a] }, b) => {
      const s = b.sigmoid(a!);
      return [b.mul(dy, b.add(s, b.mul(y, b.sub(1, s))))];
    },
    ts: ([x], _a, o) => (o.f32 ? `fswish(${x})` : o.fast ? `${x} * fsigmoid(${x})` : `${x} * (1 / (1 + Math.exp(-${x})))`),
    wasm: ([x], _a, o) => o.call("swish", x!),
    torch: ([x]) => `torch.nn.functional.silu(${x})`,
    onnx: ([x], _a, g) => g.op("Div", [x!, g.op("Add", [g.const(1), g.op("Exp", [g.op("Neg", [x!])])])]),
  },
  {
    op: "sin",
    arity: 1,
    surface: true,
    doc: "sine",
    eval: ([x]) => Math.sin(x!),
    grad: ({ dy, x: [a] }, b) => [b.mul(dy, b.call("cos", a!))],
    ts: ([x], _a, o) => (o.f32 ? `fsin(${x})` : `Math.sin(${x})`),
    wasm: ([x], _a, o) => o.call("sin", x!),
    torch: ([x]) => `torch.sin(${x})`,
    onnx: ([x], _a, g) => g.op("Sin", [x!]),
  },
  {
    op: "cos",
    arity: 1,
    surface: true,
    doc: "cosine",
    eval: ([x]) => Math.cos(x!),
    grad: ({ dy, x: [a] }, b) => [b.neg(b.mul(dy, b.call("sin", a!)))],
    ts: ([x], _a, o) => (o.f32 ? `fcos(${x})` : `Math.cos(${x})`),
    wasm: ([x], _a, o) => o.call("cos", x!),
    torch: ([x]) => `torch.cos(${x})`,
    onnx: ([x], _a, g) => g.op("Cos", [x!]),
  },
  {
    op: "erf",
    arity: 1,
    surface: true,
    doc: "the error function, 2/√π ∫₀ˣ e^(-t²) dt",
    eval: ([x]) => erf(x!),
    grad: ({ dy, x: [a] }, b) => [b.mul(dy, b.mul(2 / Math.sqrt(Math.PI), b.call("exp", b.neg(b.mul(a!, a!)))))],
    ts: ([x], _a, o) => (o.f32 ? `ferf(${x})` : `erf(${x})`),
    wasm: ([x], _a, o) => o.call("erf", x!),
    torch: ([x]) => `torch.erf(${x})`,
    onnx: ([x], _a, g) => g.op("Erf", [x!]),
    tsSupport: ["special"],
  },
  {
    op: "pow",
    arity: 2,
    surface: true,
    doc: "a^p (NaN for a < 0 and a fractional p); its derivative in p, y · log(a), needs a > 0",
    eval: ([a, p]) => Math.pow(a!, p!),
    grad: ({ dy, y, x: [a, p] }, b) => [
      b.mul(dy, b.mul(p!, b.call("pow", a!, b.sub(p!, 1)))),
      "c" in p! ? null : b.mul(dy, b.mul(y, b.call("log", a!))),
    ],
    ts: ([a, p], _a, o) => (o.f32 ? `fpow(${a}, ${p})` : `Math.pow(${a}, ${p})`),
    wasm: ([a, p], _a, o) => o.call("pow", a!, p!),
    torch: ([a, p]) => torchPow(a!, p!),
    onnx: ([a, p], _a, g) => g.op("Where", [g.op("And", [g.op("IsInf", [p!]), g.op("Equal", [g.op("Abs", [a!]), g.const(1)])]), g.const(NaN), g.op("Pow", [a!, p!])]),
    domain: ([a]) => a! > 1e-3,
  },
  {
    op: "maximum",
    arity: 2,
    doc: "max(a, b): the larger operand (NaN if either is); its derivative goes to a where a = b",
    eval: ([a, b]) => Math.max(a!, b!),
    grad: ({ dy, x: [p, q] }, b) => {
      const toQ = b.heaviside(b.sub(q!, p!));
      return [b.mul(dy, b.sub(1, toQ)), b.mul(dy, toQ)];
    },
    ts: ([a, b]) => `Math.max(${a}, ${b})`,
    wasm: ([a, b], _a, o) => `(${o.v}.max ${a} ${b})`,
    torch: ([a, b]) => torchExtreme("maximum", "clamp_min", a!, b!),
    onnx: ([a, b], _a, g) => onnxExtreme("Max", a!, b!, g),
    smoothAt: ([a, b]) => a !== b,
  },
  {
    op: "minimum",
    arity: 2,
    doc: "min(a, b): the smaller operand (NaN if either is); its derivative goes to a where a = b",
    eval: ([a, b]) => Math.min(a!, b!),
    grad: ({ dy, x: [p, q] }, b) => {
      const toQ = b.heaviside(b.sub(p!, q!));
      return [b.mul(dy, b.sub(1, toQ)), b.mul(dy, toQ)];
    },
    ts: ([a, b]) => `Math.min(${a}, ${b})`,
    wasm: ([a, b], _a, o) => `(${o.v}.min ${a} ${b})`,
    torch: ([a, b]) => torchExtreme("minimum", "clamp_max", a!, b!),
    onnx: ([a, b], _a, g) => onnxExtreme("Min", a!, b!, g),
    smoothAt: ([a, b]) => a !== b,
  },

  // ---- sequence semantics: which value a step keeps (per-sample lengths)
  {
    op: "select",
    arity: 3,
    doc: "c ≠ 0 ? a : b (c is a per-sample 0/1 flag)",
    eval: ([c, a, b]) => (c !== 0 ? a! : b!),
    grad: ({ dy, x: [c] }, b) => [null, b.select(c!, dy, 0), b.select(c!, 0, dy)],
    ts: ([c, a, b]) => `${c} !== 0 ? ${a} : ${b}`,
    wasm: ([c, a, b], _a, o) => `(v128.bitselect ${a} ${b} (${o.v}.ne ${c} ${o.k(0)}))`,
    torch: ([c, a, b]) => `torch.where(${c} != 0, ${a}, ${b})`,
    onnx: ([c, a, b], _a, g) => g.op("Where", [g.flag(c!), a!, b!]),
    domain: ([c]) => c === 0 || c === 1,
  },

  // ---- helpers that appear only in derivatives
  {
    op: "sign",
    arity: 1,
    doc: "-1, 0 or 1 (derivative of abs)",
    eval: ([x]) => Math.sign(x!),
    ts: ([x]) => `Math.sign(${x})`,
    wasm: ([x], _a, o) => `(v128.bitselect ${o.k(1)} (v128.bitselect ${o.k(-1)} ${x} (${o.v}.lt ${x} ${o.k(0)})) (${o.v}.gt ${x} ${o.k(0)}))`,
    torch: ([x]) => `torch.where(${x} == ${x}, torch.sign(${x}), ${x})`,
    onnx: ([x], _a, g) => g.op("Sign", [x!]),
  },
  {
    op: "heaviside",
    arity: 1,
    doc: "1 where x > 0, else 0 (derivative of relu)",
    eval: ([x]) => (x! > 0 ? 1 : 0),
    ts: ([x]) => `${x} > 0 ? 1 : 0`,
    wasm: ([x], _a, o) => `(v128.and (${o.v}.gt ${x} ${o.k(0)}) ${o.k(1)})`,
    torch: ([x]) => `(${x} > 0).to(${x}.dtype)`,
    onnx: ([x], _a, g) => g.float(g.op("Greater", [x!, g.const(0)])),
  },
  {
    op: "between",
    arity: 1,
    attrs: ["lo", "hi"],
    doc: "1 where lo < x < hi, else 0 (derivative of clip)",
    eval: ([x], { lo, hi }) => (x! > lo! && x! < hi! ? 1 : 0),
    ts: ([x], { lo, hi }) => `${x} > ${num(lo!)} && ${x} < ${num(hi!)} ? 1 : 0`,
    wasm: ([x], { lo, hi }, o) => `(v128.and (v128.and (${o.v}.gt ${x} ${o.k(lo!)}) (${o.v}.lt ${x} ${o.k(hi!)})) ${o.k(1)})`,
    torch: ([x], { lo, hi }) => `((${x} > ${pyNum(lo!)}) & (${x} < ${pyNum(hi!)})).to(${x}.dtype)`,
    onnx: ([x], { lo, hi }, g) => g.float(g.op("And", [g.op("Greater", [x!, g.const(lo!)]), g.op("Less", [x!, g.const(hi!)])])),
  },
];

export const ELEMENTWISE: ReadonlyMap<string, Elementwise> = new Map(list.map((p) => [p.op, p]));

/** The elementwise primitive named `op`, or undefined for structural ops (matvec, concat, ...). */
export function elementwise(op: string): Elementwise | undefined {
  return ELEMENTWISE.get(op);
}

/** Functions a spec may call that are one primitive each (sigmoid, tanh, ..., clip). */
export const SURFACE_PRIMITIVES: readonly string[] = list.filter((p) => p.surface).map((p) => p.op);
