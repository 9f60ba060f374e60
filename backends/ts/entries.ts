// The stages of a TypeScript module: `run` and `runBackward` print the plan's forward and
// backward stages over buffers named as the plan names them. What the entry points do around them
// (checks, lengths, states, masks, gradients) is the entry runtime every module carries
// (./support/entry.ts and ./support/arrays.ts), driven by the module's descriptor.

import type { Plan, PlanBuffer } from "../../compiler/plan/types.ts";
import { stageCode } from "./body.ts";
import { wordsIn } from "./util.ts";

/** `const { a, b } = obj;` for the names the code uses. */
function unpack(obj: string, names: readonly string[], code: string): string {
  const words = wordsIn(code);
  const used = names.filter((n) => words.has(n));
  return used.length ? `const { ${used.join(", ")} } = ${obj};` : "";
}

/** The core of forward: the plan's forward stages over tape buffers. */
export function runBody(plan: Plan, f32 = false): string {
  const body = plan.forward.stages.map((s) => stageCode({ plan, f32 }, s)).join("\n");
  const weightNames = plan.buffers.filter((b) => b.entry === "weights").map((b) => b.name);
  return [
    unpack("weights", weightNames, body),
    unpack("fwd", tapeBuffers(plan).map((b) => b.name), body),
    plan.slots > 0 ? `invalidatePanels();` : "",
    body,
  ].filter((l) => l !== "").join("\n");
}

/** The core of backward: the plan's backward stages. */
export function runBackwardBody(plan: Plan, f32 = false): string {
  const body = plan.backward.stages
    .map((s) => {
      const code = stageCode({ plan, f32 }, s, "adjoint of ");
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

/** The buffers forward allocates on a tape. */
export function tapeBuffers(plan: Plan): PlanBuffer[] {
  return plan.buffers.filter((b) => b.entry === "forward");
}

/** The buffers backward allocates with a tape (seeds, grads and input gradients are the caller's;
 *  support/arrays.ts allocates the same ones). */
export function adjointBuffers(plan: Plan): PlanBuffer[] {
  return plan.buffers.filter((b) => b.entry === "backward" && (b.kind === "adjoint" || b.kind === "scratch" || b.kind === "carryAdj"));
}
