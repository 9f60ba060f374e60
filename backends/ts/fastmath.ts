// The fast-math approximations of compiler/primitives/fastmath.ts as TypeScript functions fexp,
// fsigmoid, ftanh, felu, fswish, ferf, fgelu, fsin, fcos and fpow (of two arguments): the same
// float32 steps as the WebAssembly printer's f32x4 functions, each rounded with Math.fround
// (float32 +, -, ·, / of float32 numbers computed in float64 and rounded once are exactly the
// float32 operations), so a module's TypeScript fallback gives the bits its WebAssembly gives.
// Inlined into the fallback of optimised float32 WebAssembly modules (a TypeScript module of its
// own uses ./support/fastmath.ts, faster).

import { FAST_FUNCTIONS, type FastName, type FExpr } from "../../compiler/primitives/fastmath.ts";

/** The helpers the functions share: 2^k for integral k in [-127, 127]; rounding ties to even; a
 *  float32's exponent field and mantissa, through its bits in a DataView (a float64 build retypes
 *  the support code's Float32Array). Typed: TypeScript; else JavaScript. */
function helpers(typed: boolean): string {
  const n = typed ? ": number" : "";
  return `const POW2 = new Float64Array(255);
for (let i = 0; i < 255; i++) POW2[i] = 2 ** (i - 127);
const FBITS = new DataView(new ArrayBuffer(4));

/** The nearest integer to a float32 v, ties to even (WebAssembly's nearest). */
function frint(v${n})${n} {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** v's exponent field less 127. */
function fexponent(v${n})${n} {
  FBITS.setFloat32(0, v);
  return ((FBITS.getUint32(0) >>> 23) & 255) - 127;
}

/** v with its exponent field 127 and its sign clear. */
function fmantissa(v${n})${n} {
  FBITS.setFloat32(0, v);
  FBITS.setUint32(0, (FBITS.getUint32(0) & 0x7fffff) | 0x3f800000);
  return FBITS.getFloat32(0);
}`;
}

/** The source of every fast-math function (typed: TypeScript; else JavaScript, for tests). */
export function fastMathSource(typed = true): string {
  const num = typed ? ": number" : "";
  const bang = typed ? "!" : "";
  const fns = FAST_FUNCTIONS.map((f) => {
    const lines: string[] = [];
    let scaled = 0;
    let polys = 0;
    const print = (e: FExpr): string => {
      if (typeof e === "number") {
        const c = Math.fround(e);
        return c < 0 || Object.is(c, -0) ? `(${c})` : String(c);
      }
      if (typeof e === "string") return e;
      const r = (x: string) => `Math.fround(${x})`;
      switch (e.op) {
        case "add":
          return r(`${print(e.a)} + ${print(e.b)}`);
        case "sub":
          return r(`${print(e.a)} - ${print(e.b)}`);
        case "mul":
          return r(`${print(e.a)} * ${print(e.b)}`);
        case "div":
          return r(`${print(e.a)} / ${print(e.b)}`);
        case "pmin":
          return `(${print(e.b)} < ${print(e.a)} ? ${print(e.b)} : ${print(e.a)})`;
        case "pmax":
          return `(${print(e.a)} < ${print(e.b)} ? ${print(e.b)} : ${print(e.a)})`;
        case "neg":
          return `-${print(e.a)}`;
        case "abs":
          return `Math.abs(${print(e.a)})`;
        case "nearest":
          return `frint(${print(e.a)})`;
        case "exponent":
        case "mantissa":
          return `f${e.op}(${print(e.a)})`;
        case "select": {
          const cmp = { lt: "<", le: "<=", gt: ">", eq: "===" }[e.cmp];
          return `(${print(e.l)} ${cmp} ${print(e.r)} ? ${print(e.then)} : ${print(e.otherwise)})`;
        }
        case "scale2": {
          // n is integral or NaN (as 0, as WebAssembly's saturating truncation gives).
          const [k, h] = [`k${scaled}`, `h${scaled++}`];
          lines.push(`const ${k} = ${print(e.n)} | 0;`, `const ${h} = ${k} >> 1;`);
          return r(`${r(`${print(e.a)} * POW2[${h} + 127]${bang}`)} * POW2[${k} - ${h} + 127]${bang}`);
        }
        case "poly": {
          // Horner's rule a step a line, each rounded to float32.
          const q = `p${polys++}`;
          lines.push(`let ${q}${num} = ${print(e.c[e.c.length - 1]!)};`);
          for (let i = e.c.length - 2; i >= 0; i--) lines.push(`${q} = ${r(`${r(`${q} * ${e.z}`)} + ${print(e.c[i]!)}`)};`);
          return q;
        }
        case "copysign":
          return `(${print(e.s)} < 0 || 1 / ${print(e.s)} < 0 ? -${print(e.a)} : ${print(e.a)})`;
        case "call":
          return `f${e.fn}(${print(e.a)})`;
      }
    };
    for (const [s, e] of f.steps) {
      const v = print(e);
      lines.push(`const ${s} = ${v};`);
    }
    const result = print(f.result);
    const params = f.params ?? ["x"];
    return [`function f${f.name}(${params.map((p) => `${p}0${num}`).join(", ")})${num} {`, ...params.map((p) => `  const ${p} = Math.fround(${p}0);`), ...lines.map((l) => `  ${l}`), `  return ${result};`, `}`].join("\n");
  });
  return [helpers(typed), ...fns].join("\n\n");
}

/** The functions themselves (tests compare them with the WebAssembly ones). */
export function fastMathFunctions(): Record<`f${FastName}`, (x: number, y?: number) => number> {
  const names = FAST_FUNCTIONS.map((f) => `f${f.name}`).join(", ");
  return new Function(`${fastMathSource(false)}\nreturn { ${names} };`)() as ReturnType<typeof fastMathFunctions>;
}
