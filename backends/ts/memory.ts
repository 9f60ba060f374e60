// The memory code of a TypeScript module: the weight layout (createParams returns views of one
// buffer, packs' parts side by side), reading the caller's params into the kernel's weights
// (in place when they are the module's own, stacked by copying when not), and the tape and
// backward buffers.

import type { Plan, PlanBuffer } from "../../compiler/plan/types.ts";
import { tsLiteral } from "./escape.ts";
import { ARRAY, key, rowsExpr } from "./util.ts";

const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/** createParams: one buffer, every param a view of it at its place in the layout. */
export function createParamsBody(plan: Plan): string {
  const parts = plan.weights.params.map((p) => `${key(p.name)}: mem.subarray(${p.offset}, ${p.offset + p.size}),`);
  if (parts.length === 0) return `return {};`;
  return [`const mem = new ${ARRAY}(${plan.weights.size});`, `return { ${parts.join(" ")} };`].join("\n");
}

/** weightsOf: the caller's params checked and read into the kernel's weights. */
export function weightsOfBody(plan: Plan): string {
  const L: string[] = [];
  const meta = plan.meta;
  L.push(`checkObject(where, "params", params, ${tsLiteral(meta.params.map((p) => p.name))});`);
  for (const p of plan.weights.params) {
    const pm = meta.params.find((m) => m.name === p.name)!;
    const id = plan.buffers[p.buf]!.name;
    L.push(`const ${id} = checkArray(where, ${tsLiteral(`params.${p.name}`)}, own(params, ${tsLiteral(p.name)}), ${p.size}, "${shapeText(pm.shape)}");`);
  }
  for (const pk of plan.weights.packs) {
    const id = plan.buffers[pk.buf]!.name;
    const parts = pk.parts.map((q) => ({ id: plan.buffers[q.param]!.name, offset: q.offset }));
    const copy = parts.map((q) => `${id}.set(${q.id}, ${q.offset});`).join(" ");
    if (pk.offset === null) {
      L.push(`const ${id} = packed.${id};`, copy);
    } else {
      // Side by side in one buffer (params from createParams): the stacked matrix is read in place.
      const adjacent = parts.slice(1).map((q, k) => `follows(${q.id}, ${parts[k]!.id})`).join(" && ");
      L.push(`let ${id}: ${ARRAY} = packed.${id};`, `if (${adjacent}) ${id} = span(${parts[0]!.id}, ${pk.size});`, `else { ${copy} }`);
    }
  }
  const all = [...plan.weights.params.map((p) => p.buf), ...plan.weights.packs.map((p) => p.buf)].map((b) => plan.buffers[b]!.name);
  L.push(`return { ${all.join(", ")} };`);
  return L.join("\n");
}

/** Scratch for packs whose parts are not side by side (and for their gradients). */
export function packScratch(plan: Plan): string {
  const packs = plan.weights.packs.map((p) => `${plan.buffers[p.buf]!.name}: new ${ARRAY}(${p.size}),`);
  const grads = plan.backward.packs.map((p) => `${plan.buffers[p.buf]!.name}: new ${ARRAY}(${plan.buffers[p.buf]!.size}),`);
  return [
    ...(packs.length > 0
      ? [`/** Stacked weights, used when the params passed in are not side by side (not from createParams). */`, `const packed = { ${packs.join(" ")} };`]
      : []),
    ...(grads.length > 0
      ? [`/** Pack gradients, used when the gradients asked for are not side by side. */`, `const packedGrads = { ${grads.join(" ")} };`]
      : []),
  ].join("\n");
}

const alloc = (b: PlanBuffer) => `${b.name}: new ${ARRAY}(${rowsExpr(b.rows)}${b.width === 1 ? "" : ` * ${b.width}`}),`;

/** The buffers forward allocates on a tape. */
export function tapeBuffers(plan: Plan): PlanBuffer[] {
  return plan.buffers.filter((b) => b.entry === "forward");
}

/** The buffers backward allocates with a tape (seeds, grads and input gradients are the caller's). */
export function adjointBuffers(plan: Plan): PlanBuffer[] {
  return plan.buffers.filter((b) => b.entry === "backward" && (b.kind === "adjoint" || b.kind === "scratch" || b.kind === "carryAdj"));
}

export function allocTapeBody(plan: Plan): string {
  const f = plan.forward;
  const name = (id: number) => plan.buffers[id]!.name;
  const width = (id: number) => plan.buffers[id]!.width;
  return [
    `if (reuse !== undefined) {`,
    `if (typeof reuse !== "object" || reuse === null || !tapes.has(reuse)) fail("forward", "options.tape was not made by this kernel");`,
    `const given = reuse as TapeData;`,
    `if (given.timeSteps === T && given.batchSize === B) return given;`,
    `}`,
    `const buf: TapeBuffers = { ${tapeBuffers(plan).map(alloc).join(" ")} };`,
    `const tape: TapeData = {`,
    `timeSteps: T, batchSize: B, buf, adjoints: null, zeros: [],`,
    `outputs: { ${f.outputs.map((o) => `${key(o.name)}: buf.${name(o.buf)},`).join(" ")} },`,
    `finalState: { ${f.states.map((s) => `${key(s.name)}: buf.${name(s.buf)}.subarray(T * B * ${width(s.buf)}),`).join(" ")} },`,
    `};`,
    `tapes.add(tape);`,
    `return tape;`,
  ].join("\n");
}

export function allocAdjointsBody(plan: Plan): string {
  return `return { ${adjointBuffers(plan).map(alloc).join(" ")} };`;
}
