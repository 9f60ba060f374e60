// The module-level Python of a cell's own forward and backward: the fused elementwise helpers,
// the forward (masked and unmasked) and backward functions over whole sequences (entries.ts),
// each compiled once by TorchScript, and the torch.autograd.Function that runs them, so that
// torch's autograd calls cellc's backward (per-step adjoints in reverse, weight gradients as one
// product over all T·B rows) instead of re-deriving it op by op.

import type { PrintedEntries } from "./entries.ts";

export function functionText(c: PrintedEntries, cls: string, nIn: number, nStates: number, nParams: number, nOut: number): string[] {
  const k = nOut + nStates;
  const script = (name: string) => `${name}_script`;
  const fwdArgs = [
    ...Array.from({ length: nIn }, (_, i) => `x${i}`),
    ...Array.from({ length: nStates }, (_, i) => `s${i}`),
    ...Array.from({ length: nStates }, (_, i) => `m${i}`),
    "active",
    ...Array.from({ length: nParams }, (_, i) => `p${i}`),
  ];
  const params = fwdArgs.slice(fwdArgs.length - nParams);
  const list = (xs: readonly string[]) => xs.join(", ");
  const tuple = (xs: readonly string[]) => (xs.length === 1 ? `(${xs[0]},)` : `(${list(xs)})`);
  const grads = [
    "None",
    ...Array.from({ length: nIn + nStates }, (_, i) => `g[${i}]`),
    ...Array(nStates + 1).fill("None"),
    ...Array.from({ length: nParams }, (_, i) => `g[${nIn + nStates + i}]`),
  ];
  return [
    `# ---- cellc's own forward and backward of this cell, from its value-level schedule: the inputs'`,
    `# products for all steps at once, then one step at a time; the backward through time in reverse,`,
    `# then the weight gradients as one product over all T·B rows. Elementwise work is fused into helpers.`,
    ``,
    ...c.helpers.flatMap((h) => [...h, ``, ``]),
    ...c.forward.lines,
    ``,
    ``,
    ...c.inference.lines,
    ``,
    ``,
    ...c.backward.lines,
    ``,
    ``,
    ...(c.unmaskedBackward !== c.backward ? [...c.unmaskedBackward.lines, ``, ``] : []),
    `${script(c.forward.name)} = torch.jit.script(${c.forward.name})`,
    `${script(c.inference.name)} = torch.jit.script(${c.inference.name})`,
    `${script(c.backward.name)} = torch.jit.script(${c.backward.name})`,
    ...(c.unmaskedBackward !== c.backward ? [`${script(c.unmaskedBackward.name)} = torch.jit.script(${c.unmaskedBackward.name})`] : []),
    ``,
    ``,
    `class ${cls}(torch.autograd.Function):`,
    `    """The cell over a sequence with cellc's backward: forward(unmasked, inputs.., states.., masks..,`,
    `    active, params..) -> (outputs.., final states..). unmasked: no lengths and no masks given (all`,
    `    ones), so the forward and backward may skip them."""`,
    ``,
    `    @staticmethod`,
    `    def forward(ctx, unmasked, ${list(fwdArgs)}):`,
    `        if unmasked:`,
    `            r = ${script(c.inference.name)}(${list(fwdArgs)})`,
    `        else:`,
    `            r = ${script(c.forward.name)}(${list(fwdArgs)})`,
    `        ctx.save_for_backward(*r[${k}:], ${list(params)})`,
    `        ctx.unmasked = unmasked`,
    `        return ${k === 1 ? "r[0]" : `tuple(r[:${k}])`}`,
    ``,
    `    @staticmethod`,
    `    def backward(ctx, *d):`,
    `        input_grads = ${nIn ? `any(ctx.needs_input_grad[1:${1 + nIn}])` : "False"}`,
    `        backward = ${script(c.unmaskedBackward.name)} if ctx.unmasked else ${script(c.backward.name)}`,
    `        g = backward(input_grads, *ctx.saved_tensors, *d)`,
    `        return ${tuple(grads)}`,
  ];
}
