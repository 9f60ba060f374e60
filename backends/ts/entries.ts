// The entry points of a TypeScript module: forward, backward and step check what the caller
// passes and bind it to the plan's buffers, then call `run` / `runBackward`, which print the
// plan's stages. step is forward over one step on a tape of its own, so it shares forward's code.

import type { Plan, PlanBuffer } from "../../compiler/plan/types.ts";
import { adjointBuffers, tapeBuffers } from "./memory.ts";
import { stageCode } from "./body.ts";
import { tsLiteral, tsString } from "./escape.ts";
import { BACKWARD_OPTIONS, FORWARD_OPTIONS } from "./support/checks.ts";
import { ARRAY, key, prop, wordsIn } from "./util.ts";

const q = tsLiteral;
const name = (plan: Plan, id: number) => plan.buffers[id]!.name;
const width = (plan: Plan, id: number) => plan.buffers[id]!.width;

/** `const { a, b } = obj;` for the names the code uses. */
function unpack(obj: string, names: readonly string[], code: string): string {
  const words = wordsIn(code);
  const used = names.filter((n) => words.has(n));
  return used.length ? `const { ${used.join(", ")} } = ${obj};` : "";
}

/** The core of forward: the plan's forward stages over tape buffers. */
export function runBody(plan: Plan): string {
  const body = plan.forward.stages.map((s) => stageCode({ plan }, s)).join("\n");
  const weightNames = plan.buffers.filter((b) => b.entry === "weights").map((b) => b.name);
  return [
    unpack("weights", weightNames, body),
    unpack("fwd", tapeBuffers(plan).map((b) => b.name), body),
    plan.slots > 0 ? `invalidatePanels();` : "",
    body,
  ].filter((l) => l !== "").join("\n");
}

/** The core of backward: the plan's backward stages. */
export function runBackwardBody(plan: Plan): string {
  const body = plan.backward.stages
    .map((s) => {
      const code = stageCode({ plan }, s, "adjoint of ");
      if (s.when === "inputGradients") return `if (inputGradients) {\n${code}\n}`;
      if (s.when === "noInputGradients") return `if (!inputGradients) {\n${code}\n}`;
      return code;
    })
    .join("\n");
  const weightNames = plan.buffers.filter((b) => b.entry === "weights").map((b) => b.name);
  const bound = boundBuffers(plan).map((b) => b.name);
  return [
    unpack("weights", weightNames, body),
    unpack("fwd", tapeBuffers(plan).map((b) => b.name), body),
    unpack("adj", adjointBuffers(plan).map((b) => b.name), body),
    unpack("io", bound, body),
    plan.slots > 0 ? `invalidatePanels();` : "",
    body,
  ].filter((l) => l !== "").join("\n");
}

/** Backward buffers the caller provides (or that belong to the call): seeds, gradients, input gradients. */
export function boundBuffers(plan: Plan): PlanBuffer[] {
  return plan.buffers.filter((b) => b.entry === "backward" && (b.kind === "seed" || b.kind === "grad" || b.kind === "inputGrad"));
}

function timeSteps(plan: Plan): string {
  const first = plan.meta.inputs[0];
  if (!first) return `const T = checkCount(where, "options.timeSteps", own(options, "timeSteps"));`;
  return [
    `const T = own(options, "timeSteps") !== undefined ? checkCount(where, "options.timeSteps", own(options, "timeSteps")) : inferSteps(where, own(inputs, ${q(first.name)}), B, ${first.size}, ${q(`inputs.${first.name}`)});`,
  ].join("\n");
}

/** The caller's per-state arrays of options[key] (initialState, stateMasks, dFinalState), checked. */
function stateArrays(plan: Plan, key: string, local: string): string {
  // Without states the option is still checked (it may hold no key), but nothing is kept.
  return `${plan.meta.states.length ? `const ${local} = ` : ""}stateOption(where, options, ${q(key)}, B);`;
}

/** An option-key list as the module spells it: ["a", "b"]. */
const keyList = (keys: readonly string[]) => `[${keys.map((k) => tsString(k)).join(", ")}]`;

export function forwardBody(plan: Plan): string {
  const f = plan.forward;
  const L: string[] = [
    `const where = "forward";`,
    `checkObject(where, "options", options, ${keyList(FORWARD_OPTIONS)});`,
    `checkThreads(where, own(options, "threads")); // one thread here: the option is for WebAssembly kernels`,
    `const B = checkBatchSize(where, own(options, "batchSize"));`,
    `const w = weightsOf(where, params);`,
    `checkObject(where, "inputs", inputs, INPUT_NAMES);`,
    timeSteps(plan),
    ...(plan.meta.inputs.length ? [`const ins = checkArrays(where, "inputs", inputs, meta.inputs, T, B, true);`] : []),
    stateArrays(plan, "initialState", "initial"),
    stateArrays(plan, "stateMasks", "masks"),
    `const tape = allocTape(T, B, own(options, "tape"));`,
    `const fwd = tape.buf;`,
  ];
  f.inputs.forEach((i, k) => L.push(`fwd.${name(plan, i.buf)}.set(ins[${k}]!);`));
  L.push(`checkLengths(where, own(options, "lengths"), B, T, fwd.${name(plan, f.active)});`);
  f.states.forEach((s, k) => {
    const st = name(plan, s.buf);
    const mk = name(plan, s.mask);
    L.push(`if (initial[${k}] !== undefined) fwd.${st}.set(initial[${k}]); else fwd.${st}.fill(0, 0, B * ${width(plan, s.buf)});`);
    L.push(`if (masks[${k}] !== undefined) fwd.${mk}.set(masks[${k}]); else fwd.${mk}.fill(1);`);
  });
  L.push(`run(w, fwd, T, B);`, `return { outputs: tape.outputs, finalState: tape.finalState, tape };`);
  return L.join("\n");
}

export function stepBody(plan: Plan): string {
  const f = plan.forward;
  const L: string[] = [
    `const where = "step";`,
    `const B = checkBatchSize(where, batchSize);`,
    `const w = weightsOf(where, params);`,
    `checkObject(where, "inputs", inputs, INPUT_NAMES);`,
    `checkObject(where, "state", state, STATE_NAMES);`,
    ...(plan.meta.inputs.length ? [`const ins = checkArrays(where, "inputs", inputs, meta.inputs, 0, B, true);`] : []),
    ...(plan.meta.states.length ? [`const states = checkArrays(where, "state", state, meta.states, 0, B, true);`] : []),
    `// one step of forward, on a tape of the step's own`,
    `const fwd = stepTape(B).buf;`,
  ];
  f.inputs.forEach((i, k) => L.push(`fwd.${name(plan, i.buf)}.set(ins[${k}]!);`));
  L.push(`fwd.${name(plan, f.active)}.fill(1);`);
  f.states.forEach((s, k) => L.push(`fwd.${name(plan, s.buf)}.set(states[${k}]!);`, `fwd.${name(plan, s.mask)}.fill(1);`));
  L.push(`run(w, fwd, 1, B);`);
  f.states.forEach((s, k) => L.push(`states[${k}]!.set(fwd.${name(plan, s.buf)}.subarray(B * ${width(plan, s.buf)}));`));
  L.push(`return { ${f.outputs.map((o) => `${key(o.name)}: fwd.${name(plan, o.buf)}.slice(),`).join(" ")} };`);
  return L.join("\n");
}

export function backwardBody(plan: Plan): string {
  const m = plan.meta;
  const bw = plan.backward;
  const L: string[] = [
    `const where = "backward";`,
    `const w = weightsOf(where, params);`,
    `if (typeof tapeIn !== "object" || tapeIn === null || !tapes.has(tapeIn)) fail(where, "the tape must come from this kernel's forward");`,
    `const tape = tapeIn as TapeData;`,
    `const T = tape.timeSteps;`,
    `const B = tape.batchSize;`,
    `checkObject(where, "dOutputs", dOutputs, OUTPUT_NAMES);`,
    `checkObject(where, "options", options, ${keyList(BACKWARD_OPTIONS)});`,
    `checkThreads(where, own(options, "threads"));`,
    `const dOuts = checkArrays(where, "dOutputs", dOutputs, meta.outputs, T, B, false);`,
    stateArrays(plan, "dFinalState", "dFinal"),
  ];
  L.push(`const inputGradients = checkFlag(where, "options.inputGradients", own(options, "inputGradients")) !== false;`);
  L.push(`const grads = gradientsFor(where, own(options, "into"), T, B);`);
  L.push(`const adj = tape.adjoints ?? (tape.adjoints = allocAdjoints(T, B));`);
  // The state gradients entering the last step.
  bw.states.forEach((s, k) => L.push(`if (dFinal[${k}] !== undefined) adj.${name(plan, s.carry)}.set(dFinal[${k}]); else adj.${name(plan, s.carry)}.fill(0);`));
  // Gradients of params: the caller's arrays, zeroed; a pack's gradient in place when its parts'
  // gradients lie side by side, else scratch added into them at the end.
  const io: string[] = [];
  for (const p of bw.params) {
    L.push(`const ${name(plan, p.buf)} = ${prop("grads.params", p.name)};`, `${name(plan, p.buf)}.fill(0);`);
    io.push(name(plan, p.buf));
  }
  bw.packs.forEach((pk, k) => {
    const id = name(plan, pk.buf);
    const parts = pk.parts.map((x) => ({ id: name(plan, bw.params.find((p) => p.param === x.param)!.buf), offset: x.offset }));
    const adjacent = parts.slice(1).map((x, j) => `follows(${x.id}, ${parts[j]!.id})`).join(" && ");
    L.push(`const own${k} = ${adjacent || "true"};`);
    L.push(`const ${id} = own${k} ? span(${parts[0]!.id}, ${plan.buffers[pk.buf]!.size}) : packedGrads.${id}.fill(0);`);
    io.push(id);
  });
  m.outputs.forEach((_, k) => {
    const b = bw.seeds[k]!;
    L.push(`const ${name(plan, b.buf)} = dOuts[${k}] ?? (tape.zeros[${k}] ??= new ${ARRAY}(T * B * ${width(plan, b.buf)}));`);
    io.push(name(plan, b.buf));
  });
  bw.inputs.forEach((i) => {
    L.push(`const ${name(plan, i.buf)} = ${prop("grads.inputs", i.name)};`);
    io.push(name(plan, i.buf));
  });
  L.push(`runBackward(w, tape.buf, adj, { ${io.join(", ")} }, T, B, inputGradients);`);
  bw.packs.forEach((pk, k) => {
    const id = name(plan, pk.buf);
    const parts = pk.parts.map((x) => ({ id: name(plan, bw.params.find((p) => p.param === x.param)!.buf), offset: x.offset, size: plan.buffers[x.param]!.size! }));
    L.push(`if (!own${k}) {`, ...parts.map((x) => `for (let j = 0; j < ${x.size}; j++) ${x.id}[j] = ${x.id}[j]! + ${id}[${x.offset} + j]!;`), `}`);
  });
  bw.states.forEach((s) => L.push(`${prop("grads.initialState", s.name)}.set(adj.${name(plan, s.carry)});`));
  L.push(`return grads;`);
  return L.join("\n");
}
