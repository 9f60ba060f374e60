// Seeded random cells for the backend parity tests: spec text mixing every surface function,
// products of parameters with inputs, states and locals, concatenations, slices, constants and
// one or two inputs and states. States stay bounded (each update is a tanh or a gated mix), so
// a few steps never overflow.
//
// Hook: when the random-program fuzzer (test/fuzz/) lands and exports `sampleSpecs(count, seed)`
// returning spec texts, the parity tests take their sample from it instead (see sampleCells).

import { Rng } from "./rng.ts";

class Gen {
  private readonly r: Rng;
  private params: string[] = [];
  private n = 0;
  constructor(seed: number) {
    this.r = new Rng(seed);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r.next() < p;
  }
  param(shape: string): string {
    const name = `p${this.n++}`;
    this.params.push(`${name}: ${shape}`);
    return name;
  }
  paramDecls(): string[] {
    return this.params;
  }
}

/** A spec text declaring one random cell `rand<seed>(I, J, H)`. */
export function randomCellSpec(seed: number): string {
  const g = new Gen(seed);
  const twoInputs = g.chance(0.4);
  const twoStates = g.chance(0.6);
  const inputs = twoInputs ? ["x", "u"] : ["x"];
  const inSize: Record<string, string> = { x: "I", u: "J" };
  const states = twoStates ? ["h", "c"] : ["h"];
  const locals: string[] = [];
  const body: string[] = [];
  let concats = 0;

  // An H-sized expression of depth d.
  const leaf = (): string => {
    const k = g.pick(["in", "in", "state", "state", "bias", "local", "const"]);
    if (k === "in") {
      const x = g.pick(inputs);
      return `${g.param(`[H, ${inSize[x]}]`)} @ ${x}`;
    }
    if (k === "state") return `${g.param("[H, H]")} @ ${g.pick(states)}`;
    if (k === "bias") return g.param("[H]");
    if (k === "local" && locals.length) return g.pick(locals);
    return g.chance(0.5) ? g.pick(states) : `${g.param("[H, H]")} @ ${g.pick(states)}`;
  };
  const expr = (d: number): string => {
    if (d === 0) return leaf();
    const a = () => expr(d - 1);
    switch (g.pick(["unary", "unary", "binary", "binary", "concat", "scale", "norm"])) {
      case "unary": {
        const f = g.pick(["sigmoid", "tanh", "relu", "softsign", "softplus", "abs", "hard_sigmoid", "exp", "log", "sqrt", "clip"]);
        if (f === "exp") return `exp(clip(${a()}, -3, 3))`;
        if (f === "log") return `log(1 + sigmoid(${a()}))`;
        if (f === "sqrt") return `sqrt(1 + ${a()} * ${a()})`;
        if (f === "clip") return `clip(${a()}, -1, 1.5)`;
        return `${f}(${a()})`;
      }
      case "binary": {
        const op = g.pick(["+", "-", "*", "/"]);
        if (op === "/") return `${a()} / (2 + tanh(${a()}))`;
        return `(${a()} ${op} ${a()})`;
      }
      case "concat": {
        const z = `z${concats++}`;
        body.push(`${z} = concat(${a()}, ${a()})`);
        return g.chance(0.5) ? `${g.param("[H, 2*H]")} @ ${z}` : `${z}[${g.pick(["0:H", "H:2*H"])}]`;
      }
      case "scale":
        return `${a()} * ${g.pick(["0.5", "-1.5", "2"])}`;
      default:
        return `layernorm(${a()}, ${g.param("[H]")}, ${g.param("[H]")})`;
    }
  };
  for (let k = 0; k < 1 + Math.floor(g.chance(0.5) ? 2 : 1); k++) {
    const v = `v${locals.length}`;
    body.push(`${v} = ${expr(2)}`);
    locals.push(v);
  }
  const updates = states.map((s) => {
    if (g.chance(0.5)) return `${s}' = tanh(${expr(2)})`;
    const gate = `gate_${s}`;
    body.push(`${gate} = sigmoid(${expr(1)})`);
    return `${s}' = ${gate} * ${s} + (1 - ${gate}) * tanh(${expr(2)})`;
  });
  const outputs = [`${states[0]}'`, ...(g.chance(0.4) ? [`${g.pick(locals)} * 0.5`] : [])];
  return [
    `cell rand${seed}(I, J, H) {`,
    `  input ${inputs.map((x) => `${x}: [${inSize[x]}]`).join(", ")}`,
    `  state ${states.map((s) => `${s}: [H]`).join(", ")}`,
    ...(g.paramDecls().length ? [`  param ${g.paramDecls().join(", ")}`] : []),
    ...body.map((l) => `  ${l}`),
    ...updates.map((l) => `  ${l}`),
    `  output ${outputs.join(", ")}`,
    `}`,
  ].join("\n");
}

/** `count` random cells: the fuzzer's when test/fuzz provides sampleSpecs, else ours. */
export async function sampleCells(count: number, seed: number): Promise<{ source: string; origin: string }[]> {
  const fuzz = new URL("../fuzz/sample.ts", import.meta.url);
  try {
    const m = (await import(fuzz.href)) as { sampleSpecs?: (n: number, seed: number) => string[] };
    if (typeof m.sampleSpecs === "function") return m.sampleSpecs(count, seed).map((source, i) => ({ source, origin: `fuzz #${i}` }));
  } catch {
    // No fuzzer yet: our own generator.
  }
  return Array.from({ length: count }, (_, i) => ({ source: randomCellSpec(seed + i), origin: `random cell seed ${seed + i}` }));
}
