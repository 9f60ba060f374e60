// The entry points of a TypeScript module: forward, backward and step check what the caller
// passes and bind it to the plan's buffers, then call `run` / `runBackward`, which print the
// plan's stages. step is forward over one step on a tape of its own, so it shares forward's code.

import type { Plan, PlanBuffer } from "../../compiler/plan/types.ts";
import { adjointBuffers, tapeBuffers } from "./memory.ts";
import { stageCode } from "./body.ts";
import { key } from "./util.ts";

const q = JSON.stringify;
const name = (plan: Plan, id: number) => plan.buffers[id]!.name;
const width = (plan: Plan, id: number) => plan.buffers[id]!.width;

/** `const { a, b } = obj;` for the names the code uses. */
function unpack(obj: string, names: readonly string[], code: string): string {
  const bare = code.replace(/\/\/.*$/gm, "");
  const used = names.filter((n) => new RegExp(`\\b${n}\\b`).test(bare));
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

/** Checks of a per-state object (initialState, stateMasks, dFinalState) and its arrays. */
function stateArrays(plan: Plan, obj: string, what: string, prefix: string): string[] {
  const states = plan.meta.states;
  const L = [`const ${prefix} = own(options, ${q(obj)}) === undefined ? undefined : checkObject(where, ${q(`options.${obj}`)}, own(options, ${q(obj)}), ${q(states.map((s) => s.name))});`];
  states.forEach((s, k) => L.push(`const ${prefix}${k} = optionalArray(where, ${prefix}, ${q(`options.${obj}`)}, ${q(s.name)}, B * ${s.size}, \`batchSize \${B} × ${s.size}\`);`));
  void what;
  return L;
}

export function forwardBody(plan: Plan): string {
  const m = plan.meta;
  const f = plan.forward;
  const L: string[] = [
    `const where = "forward";`,
    `checkObject(where, "options", options, ["batchSize", "timeSteps", "initialState", "lengths", "stateMasks", "tape"]);`,
    `const B = checkBatchSize(where, own(options, "batchSize"));`,
    `const w = weightsOf(where, params);`,
    `checkObject(where, "inputs", inputs, ${q(m.inputs.map((i) => i.name))});`,
    timeSteps(plan),
  ];
  m.inputs.forEach((i, k) => L.push(`const in${k} = checkArray(where, ${q(`inputs.${i.name}`)}, own(inputs, ${q(i.name)}), T * B * ${i.size}, \`timeSteps \${T} × batchSize \${B} × ${i.size}\`);`));
  L.push(...stateArrays(plan, "initialState", "initial state", "init"), ...stateArrays(plan, "stateMasks", "mask", "masks"));
  L.push(`const tape = allocTape(T, B, own(options, "tape"));`, `const fwd = tape.buf;`);
  f.inputs.forEach((i, k) => L.push(`fwd.${name(plan, i.buf)}.set(in${k});`));
  L.push(`checkLengths(where, own(options, "lengths"), B, T, fwd.${name(plan, f.active)});`);
  f.states.forEach((s, k) => {
    const n = width(plan, s.buf);
    L.push(`if (init${k} !== undefined) fwd.${name(plan, s.buf)}.set(init${k}); else fwd.${name(plan, s.buf)}.fill(0, 0, B * ${n});`);
    L.push(`if (masks${k} !== undefined) fwd.${name(plan, s.mask)}.set(masks${k}); else fwd.${name(plan, s.mask)}.fill(1);`);
  });
  L.push(`run(w, fwd, T, B);`, `return { outputs: tape.outputs, finalState: tape.finalState, tape };`);
  return L.join("\n");
}

export function stepBody(plan: Plan): string {
  const m = plan.meta;
  const f = plan.forward;
  const L: string[] = [
    `const where = "step";`,
    `const B = checkBatchSize(where, batchSize);`,
    `const w = weightsOf(where, params);`,
    `checkObject(where, "inputs", inputs, ${q(m.inputs.map((i) => i.name))});`,
    `checkObject(where, "state", state, ${q(m.states.map((s) => s.name))});`,
  ];
  m.inputs.forEach((i, k) => L.push(`const in${k} = checkArray(where, ${q(`inputs.${i.name}`)}, own(inputs, ${q(i.name)}), B * ${i.size}, \`batchSize \${B} × ${i.size}\`);`));
  m.states.forEach((s, k) => L.push(`const s${k} = checkArray(where, ${q(`state.${s.name}`)}, own(state, ${q(s.name)}), B * ${s.size}, \`batchSize \${B} × ${s.size}\`);`));
  L.push(`// one step of forward, on a tape of the step's own`, `const fwd = stepTape(B).buf;`);
  f.inputs.forEach((i, k) => L.push(`fwd.${name(plan, i.buf)}.set(in${k});`));
  L.push(`fwd.${name(plan, f.active)}.fill(1);`);
  f.states.forEach((s, k) => L.push(`fwd.${name(plan, s.buf)}.set(s${k});`, `fwd.${name(plan, s.mask)}.fill(1);`));
  L.push(`run(w, fwd, 1, B);`);
  f.states.forEach((s, k) => L.push(`s${k}.set(fwd.${name(plan, s.buf)}.subarray(B * ${width(plan, s.buf)}));`));
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
    `checkObject(where, "dOutputs", dOutputs, ${q(m.outputs.map((o) => o.name))});`,
    `checkObject(where, "options", options, ["dFinalState", "into", "inputGradients"]);`,
  ];
  m.outputs.forEach((o, k) => L.push(`const dOut${k} = optionalArray(where, dOutputs, "dOutputs", ${q(o.name)}, T * B * ${o.size}, \`timeSteps \${T} × batchSize \${B} × ${o.size}\`);`));
  L.push(...stateArrays(plan, "dFinalState", "final state gradient", "dFinal"));
  L.push(`const inputGradients = checkFlag(where, "options.inputGradients", own(options, "inputGradients")) !== false;`);
  L.push(`const grads = gradientsFor(where, own(options, "into"), T, B);`);
  L.push(`const adj = tape.adjoints ?? (tape.adjoints = allocAdjoints(T, B));`);
  // The state gradients entering the last step.
  bw.states.forEach((s, k) => L.push(`if (dFinal${k} !== undefined) adj.${name(plan, s.carry)}.set(dFinal${k}); else adj.${name(plan, s.carry)}.fill(0);`));
  // Gradients of params: the caller's arrays, zeroed; a pack's gradient in place when its parts'
  // gradients lie side by side, else scratch added into them at the end.
  const io: string[] = [];
  for (const p of bw.params) {
    L.push(`const ${name(plan, p.buf)} = grads.params[${q(p.name)}] as Float32Array;`, `${name(plan, p.buf)}.fill(0);`);
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
    L.push(`const ${name(plan, b.buf)} = dOut${k} ?? (tape.zeros[${k}] ??= new Float32Array(T * B * ${width(plan, b.buf)}));`);
    io.push(name(plan, b.buf));
  });
  bw.inputs.forEach((i) => {
    L.push(`const ${name(plan, i.buf)} = grads.inputs[${q(i.name)}] as Float32Array;`);
    io.push(name(plan, i.buf));
  });
  L.push(`runBackward(w, tape.buf, adj, { ${io.join(", ")} }, T, B, inputGradients);`);
  bw.packs.forEach((pk, k) => {
    const id = name(plan, pk.buf);
    const parts = pk.parts.map((x) => ({ id: name(plan, bw.params.find((p) => p.param === x.param)!.buf), offset: x.offset, size: plan.buffers[x.param]!.size! }));
    L.push(`if (!own${k}) {`, ...parts.map((x) => `for (let j = 0; j < ${x.size}; j++) ${x.id}[j] = ${x.id}[j]! + ${id}[${x.offset} + j]!;`), `}`);
  });
  bw.states.forEach((s) => L.push(`(grads.initialState[${q(s.name)}] as Float32Array).set(adj.${name(plan, s.carry)});`));
  L.push(`return grads;`);
  return L.join("\n");
}
