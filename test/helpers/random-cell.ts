// Seeded random cells for differential tests: a few states, gate expressions built from random
// trees over the language's functions, products with fresh parameters, slices and concatenations,
// constants and state reads, and new states mixing them. Every generated spec is valid by
// construction (each expression is [H] wide). A stand-in sample until the fuzzer's own generator
// (test/fuzz) is there to draw from.

import { Rng } from "./rng.ts";

const UNARY = ["sigmoid", "tanh", "relu", "softsign", "softplus", "abs", "hard_sigmoid"];

export function randomCell(seed: number): { name: string; source: string; dims: Record<string, number> } {
  const r = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
  const states = ["h", ...(r.next() < 0.6 ? ["c"] : [])];
  const params: string[] = [];
  let n = 0;
  const param = (shape: string) => {
    const p = `P${n++}`;
    params.push(`${p}: ${shape}`);
    return p;
  };
  // vec: the expression must not be a bare number (operands of @ and concat).
  const leaf = (vec: boolean): string => {
    const k = r.next() * (vec ? 0.85 : 1);
    if (k < 0.3) return `(${param("[H, I]")} @ x)`;
    if (k < 0.5) return `(${param("[H, H]")} @ ${pick(states)})`;
    if (k < 0.65) return param("[H]");
    if (k < 0.85) return pick(states);
    return (Math.round(r.uniform(-2, 2) * 4) / 4).toFixed(2);
  };
  const expr = (depth: number, vec = false): string => {
    if (depth <= 0) return leaf(vec);
    const e = (v = vec) => expr(depth - 1, v);
    const k = r.next();
    if (k < 0.3) return `${pick(UNARY)}(${e()})`;
    if (k < 0.55) return `(${e()} ${pick(["+", "-", "*"])} ${e(true)})`;
    if (k < 0.62) return `exp(clip(${e()}, -3, 3))`;
    if (k < 0.68) return `log(1 + sigmoid(${e()}))`;
    if (k < 0.74) return `(${e()} / (2 + tanh(${e(true)})))`;
    if (k < 0.8) return `sqrt(1 + ${e(true)} * ${e()})`;
    if (k < 0.86) return `(${param("[H, 2*H]")} @ concat(${e(true)}, ${e(true)}))`;
    if (k < 0.92) return `(${param("[2*H, H]")} @ ${e(true)})[${pick(["0:H", "H:2*H"])}]`;
    return `(-${e(true)})`;
  };
  const gates = Array.from({ length: 1 + Math.floor(r.next() * 3) }, (_, i) => `g${i} = ${pick(["sigmoid", "tanh"])}(${expr(2)} + ${param("[H, I]")} @ x)`);
  const gate = () => `g${Math.floor(r.next() * gates.length)}`;
  const updates = states.map((s) => `${s}' = ${gate()} * ${pick(states)} + (1 - ${gate()}) * tanh(${expr(2)})`);
  const outputs = r.next() < 0.5 ? "h'" : `h', ${states[states.length - 1]}' * ${gate()}`;
  const name = `random_${seed}`;
  const source = [
    `// random cell, seed ${seed}`,
    `cell ${name}(I, H) {`,
    "  input x: [I]",
    `  state ${states.map((s) => `${s}: [H]`).join(", ")}`,
    ...gates.map((g) => `  ${g}`),
    ...updates.map((u) => `  ${u}`),
    `  output ${outputs}`,
    "}",
  ];
  // Parameters are declared once every expression is drawn.
  source.splice(4, 0, `  param ${params.join(", ")}`);
  return { name, source: source.join("\n") + "\n", dims: { I: 3 + Math.floor(r.next() * 4), H: 2 + Math.floor(r.next() * 5) } };
}
