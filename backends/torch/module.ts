// The PyTorch backend: prints a plan as one self-contained Python file holding a torch.nn.Module
// named Cell. Its parameters carry the spec's names, shapes and initializers; its forward runs the
// cell through a torch.autograd.Function whose forward and backward are cellc's own, printed
// from the value-level schedule (entries.ts, function.ts); Cell(autograd=True), and
// torch.jit.script(cell), run the same forward under torch's autograd instead. The file also
// carries the weight exchange with cellc (support/weights.py) and the initializers
// (support/init.py), inlined from real Python files so it needs nothing but torch.

import { assetText, type RuntimeAssets } from "../assets.ts";
import type { Plan } from "../../compiler/plan/types.ts";
import type { EmitOptions } from "../backend.ts";
import { valueSchedule } from "../../compiler/schedule/schedule.ts";
import { Names } from "../../compiler/plan/names.ts";
import { printEntries } from "./entries.ts";
import { functionText } from "./function.ts";
import { torchAttributeNames } from "../../formats/torch/names.ts";
import { pyComment, pyDocstring, pyFormatText, pyLiteral, pyString } from "./python.ts";
import { pyNum } from "../../compiler/primitives/elementwise.ts";
import type { InitSpec } from "../../abi/kernel.ts";
import { TORCH_RESERVED } from "./reserved.ts";

/** The files this module reads (declared in the backend registry, shipped by the package build). */
export const torchSupportAssets: RuntimeAssets = { dir: "backends/torch/support", extension: ".py" };

const supportCache = new Map<string, string>();

/** The inlinable text of ./support/<name>.py: everything after its `# ---- inline from here` line. */
export function torchSupportText(name: "weights" | "init"): string {
  let text = supportCache.get(name);
  if (text === undefined) {
    const raw = assetText(torchSupportAssets, name);
    const marker = raw.indexOf("# ---- inline from here");
    if (marker < 0) throw new Error(`torch backend: support/${name}.py lacks its inline marker`);
    text = raw.slice(raw.indexOf("\n", marker) + 1).trim();
    supportCache.set(name, text);
  }
  return text;
}

/** Module-level names a generated module uses besides the cell's own functions. */
export function moduleWords(): string[] {
  const support = [torchSupportText("weights"), torchSupportText("init")].join("\n");
  const defined = [...support.matchAll(/^(?:def|class) (\w+)|^(\w+) =/gm)].map((m) => m[1] ?? m[2]!);
  return ["Cell", "META", "PARAMS", "json", "math", "os", "sys", "time", "Dict", "List", "Optional", "Tuple", "torch", "Tensor", "nn", ...defined];
}

/** "Tensor" for one, "Tuple[Tensor, Tensor]" for several, "Tuple[()]" for none. */
function tupleType(n: number): string {
  if (n === 1) return "Tensor";
  return n === 0 ? "Tuple[()]" : `Tuple[${Array(n).fill("Tensor").join(", ")}]`;
}

function tupleValue(items: readonly string[]): string {
  if (items.length === 1) return items[0]!;
  return items.length === 0 ? "()" : `(${items.join(", ")})`;
}

function initCall(attr: string, init: InitSpec): string {
  const p = `self.${attr}`;
  switch (init.kind) {
    case "zeros":
      return `${p}.zero_()`;
    case "ones":
      return `${p}.fill_(1.0)`;
    case "const":
      return `${p}.fill_(${pyNum(init.value)})`;
    case "uniform":
      return `${p}.uniform_(${pyNum(init.low)}, ${pyNum(init.high)})`;
    case "normal":
      return `${p}.normal_(0.0, ${pyNum(init.std)})`;
    case "glorot":
      return `_cellc_glorot_(${p})`;
    case "orthogonal":
      return `_cellc_orthogonal_(${p})`;
  }
}

export async function emitTorchModule(plan: Plan, o: EmitOptions): Promise<string> {
  if (o.dtype === "float64") throw new Error("torch backend: dtype is chosen at run time (module.double()); build without dtype");
  const meta = plan.meta;
  const f = plan.forward;
  /** The method, as f-string text (spec names reach the module through the Python escaper). */
  const where = pyFormatText(`${meta.name}.forward`);
  const attrs = torchAttributeNames(meta.params.map((p) => p.name));
  const attrOf = new Map<string, string>(meta.params.map((p, i) => [p.name, attrs[i]!]));
  const attrByBuf = new Map<number, string>(plan.weights.params.map((p) => [p.buf, attrOf.get(p.name)!]));
  const bufName = (id: number) => plan.buffers[id]!.name;
  const dimText = Object.entries(meta.dims).map(([k, v]) => `${k}=${v}`).join(", ");
  const states = f.states.map((s, k) => ({ ...s, meta: meta.states[k]!, var: bufName(s.buf) }));
  const inputs = f.inputs.map((i, k) => ({ ...i, meta: meta.inputs[k]!, var: bufName(i.buf) }));
  states.forEach((s) => s.meta.name !== s.name && fail(`state order ${s.name} / ${s.meta.name}`));
  inputs.forEach((s) => s.meta.name !== s.name && fail(`input order ${s.name} / ${s.meta.name}`));

  const L: string[] = [];
  const emit = (s: string) => L.push(`        ${s}`);
  const sched = valueSchedule(plan);
  const names = new Names(new Set(TORCH_RESERVED));
  for (const w of moduleWords()) names.get(w);
  const cores = printEntries(sched, meta.name, { global: (w) => names.get(w), scope: () => names.scope() });
  const cls = names.get(`_${meta.name}_function`);

  // ---- signature and docstring
  const stateT = `Optional[${tupleType(states.length)}]`;
  const args = [
    "self",
    ...(inputs.length ? inputs.map((i) => `${i.var}: Tensor`) : ["steps: int"]),
    `state: ${stateT} = None`,
    "lengths: Optional[Tensor] = None",
    `state_masks: ${stateT} = None`,
    ...(inputs.length ? [] : ["batch_size: int = 1"]),
  ];
  const ret = `Tuple[${tupleType(meta.outputs.length)}, ${tupleType(states.length)}]`;
  L.push(`    def forward(${args.join(", ")}) -> ${ret}:`);
  const seqDoc = (n: number) => `[T, B, ${n}] ([B, T, ${n}] with batch_first)`;
  const doc = [
    `Runs the cell over a whole sequence.`,
    ``,
    `Args:`,
    ...(inputs.length
      ? inputs.map((i) => `    ${i.var}: input ${i.name}, ${seqDoc(i.meta.size)}.`)
      : [`    steps: the number of time steps T (the cell has no inputs).`]),
    `    state: the initial state${states.length > 1 ? "s, a tuple (" + states.map((s) => s.name).join(", ") + ")" : states.length ? ` ${states[0]!.name}` : " (the cell has none: ())"}${states.map((s) => `; ${s.name} [B, ${s.meta.size}]`).join("")}; zeros when None.`,
    `    lengths: per-sample lengths [B] (integers 0..T): past its length a sample keeps its`,
    `        state and its outputs are zero. None: every sample runs T steps.`,
    `    state_masks: multiplicative masks on the states where the cell reads them (variational`,
    `        recurrent dropout), shaped like the states; None: ones.`,
    ...(inputs.length ? [] : [`    batch_size: B when no state is given.`]),
    ``,
    `Returns:`,
    `    (outputs, final state): ${meta.outputs.length === 1 ? `output ${meta.outputs[0]!.name}` : `a tuple of the outputs (${meta.outputs.map((x) => x.name).join(", ")})`}, each [T, B, n] ([B, T, n] with batch_first);`,
    `    the state after each sample's last step, in the form \`state\` takes.`,
    ``,
  ];
  for (const line of pyDocstring(doc.join("\n")).split("\n")) emit(line);

  // ---- arguments: shapes, T and B, dtype and device
  if (inputs.length) {
    for (const i of inputs) {
      emit(`if ${i.var}.dim() != 3 or ${i.var}.shape[2] != ${i.meta.size}:`);
      emit(`    raise ValueError(f"${where}: ${pyFormatText(i.name)} must be 3-D with ${i.meta.size} features per step ([T, B, ${i.meta.size}], or [B, T, ${i.meta.size}] with batch_first), got shape {list(${i.var}.shape)}")`);
    }
    emit(`if self.batch_first:`);
    for (const i of inputs) emit(`    ${i.var} = ${i.var}.transpose(0, 1)`);
    const first = inputs[0]!;
    emit(`T = ${first.var}.shape[0]`);
    emit(`B = ${first.var}.shape[1]`);
    for (const i of inputs.slice(1)) {
      emit(`if ${i.var}.shape[0] != T or ${i.var}.shape[1] != B:`);
      emit(`    raise ValueError(f"${where}: ${pyFormatText(i.name)} has {${i.var}.shape[0]} steps of {${i.var}.shape[1]} samples, ${pyFormatText(first.name)} {T} of {B}")`);
    }
    emit(`dtype = ${first.var}.dtype`);
    emit(`device = ${first.var}.device`);
  } else {
    emit(`T = steps`);
    emit(`B = batch_size`);
    if (meta.params.length) {
      emit(`dtype = self.${attrs[0]}.dtype`);
      emit(`device = self.${attrs[0]}.device`);
    } else {
      emit(`dtype = torch.float32`);
      emit(`device = torch.device("cpu")`);
    }
    if (states.length) {
      emit(`if state is not None:`);
      emit(`    B = state${states.length > 1 ? "[0]" : ""}.shape[0]`);
    }
    emit(`if B < 1:`);
    emit(`    raise ValueError(f"${where}: the batch size must be at least 1, got {B}")`);
  }
  emit(`if T < 1:`);
  emit(`    raise ValueError(f"${where}: a sequence needs at least one time step, got {T}")`);

  // ---- the per-step active flags from the lengths
  const activeName = bufName(f.active);
  emit(`if lengths is None:`);
  emit(`    ${activeName} = torch.ones(T, B, 1, dtype=dtype, device=device)`);
  emit(`else:`);
  emit(`    if lengths.dim() != 1 or lengths.shape[0] != B or lengths.is_floating_point():`);
  emit(`        raise ValueError(f"${where}: lengths must be integers of shape [B] = [{B}], got {lengths.dtype} of shape {list(lengths.shape)}")`);
  emit(`    if bool((lengths < 0).any()) or bool((lengths > T).any()):`);
  emit(`        raise ValueError(f"${where}: lengths must lie in 0..{T}, got values from {int(lengths.min())} to {int(lengths.max())}")`);
  emit(`    ${activeName} = (torch.arange(T, device=device).unsqueeze(1) < lengths.to(device).unsqueeze(0)).to(dtype).unsqueeze(2)`);

  // ---- states and masks
  const perState = (arg: string, fill: string, local: (s: (typeof states)[number]) => string, what: string) => {
    if (!states.length) return;
    emit(`if ${arg} is None:`);
    for (const s of states) emit(`    ${local(s)} = torch.${fill}(B, ${s.meta.size}, dtype=dtype, device=device)`);
    emit(`else:`);
    if (states.length > 1) {
      emit(`    if len(${arg}) != ${states.length}:`);
      emit(`        raise ValueError(f"${where}: ${arg} must be a tuple of ${states.length} tensors (${pyFormatText(states.map((s) => s.name).join(", "))})")`);
    }
    states.forEach((s, k) => {
      emit(`    ${local(s)} = ${arg}${states.length > 1 ? `[${k}]` : ""}`);
      emit(`    if list(${local(s)}.shape) != [B, ${s.meta.size}]:`);
      emit(`        raise ValueError(f"${where}: ${what} ${pyFormatText(s.name)} must be [B, ${s.meta.size}] = [{B}, ${s.meta.size}], got {list(${local(s)}.shape)}")`);
    });
  };
  perState("state", "zeros", (s) => s.var, "state");
  perState("state_masks", "ones", (s) => bufName(s.mask), "the mask of state");

  // ---- the run: cellc's forward and backward as a torch.autograd.Function, or the forward
  // under torch's autograd (autograd=True, and in TorchScript)
  const weights = attrs.map((a) => `self.${a}`);
  const coreArgs = [...inputs.map((i) => i.var), ...states.map((s) => s.var), ...states.map((s) => bufName(s.mask)), activeName, ...weights];
  const results = [...meta.outputs.map((x) => `${plan.buffers[f.outputs.find((y) => y.name === x.name)!.buf]!.name}`), ...states.map((s) => s.var)];
  const unmasked = states.length ? `lengths is None and state_masks is None` : `lengths is None`;
  const n = results.length;
  emit(`if torch.jit.is_scripting() or self.autograd:`);
  emit(`    if ${unmasked}:`);
  emit(`        r = ${cores.inference.name}(${coreArgs.join(", ")})`);
  emit(`    else:`);
  emit(`        r = ${cores.forward.name}(${coreArgs.join(", ")})`);
  emit(`    ${results.join(", ")} = ${results.map((_, k) => `r[${k}]`).join(", ")}`);
  emit(`else:`);
  emit(`    ${results.join(", ")} = self._cellc_function(${unmasked}, ${coreArgs.slice(0, coreArgs.length - weights.length).join(", ")})`);
  const outs = results.slice(0, meta.outputs.length);
  const outVars = outs.map((e) => `${e}.transpose(0, 1)`);
  if (meta.outputs.length) {
    emit(`if self.batch_first:`);
    emit(`    return ${tupleValue(outVars)}, ${tupleValue(states.map((s) => s.var))}`);
  }
  emit(`return ${tupleValue(outs)}, ${tupleValue(states.map((s) => s.var))}`);
  const forward = L.join("\n");
  const fnArgs = coreArgs.slice(0, coreArgs.length - weights.length);
  const applyMethod = [
    `    @torch.jit.unused`,
    `    def _cellc_function(self, unmasked: bool, ${fnArgs.map((a) => `${a}: Tensor`).join(", ")}) -> ${tupleType(n)}:`,
    `        """cellc's forward and backward (${cls}): not TorchScript, which runs the forward under autograd."""`,
    `        return ${cls}.apply(unmasked, ${coreArgs.join(", ")})`,
  ];

  // ---- the module
  const paramsList = meta.params.map((m, i) => `    (${pyString(attrs[i]!)}, ${pyString(m.name)}),`);
  const header = [
    `# Generated by cellc from ${pyComment(o.origin)}: ${meta.kind} ${meta.name} with ${dimText || "no sizes"}, for PyTorch (torch >= 1.13).`,
    `# Do not edit: change the spec and rebuild. Self-contained: needs torch and the standard library only.`,
    `# Layout: sequences are time-major [T, B, n] ([B, T, n] with batch_first=True); a matrix parameter`,
    `# [m, n] maps n features to m, as nn.Linear's weight; parameters carry the spec's names.`,
    `#`,
    `#   from ${pyComment(o.fileName.replace(/\.py$/, ""))} import Cell`,
    `#   cell = Cell()                          # the spec's initializers`,
    `#   ${inputs.length ? `y, state = cell(${inputs.map((i) => i.var).join(", ")}, lengths=lengths)` : "y, state = cell(steps, state)"}`,
    `#   scripted = torch.jit.script(cell)`,
    `#   cell.load_cellc("model.json")          # weights from a cellc checkpoint (or save_cellc)`,
  ];
  const classDoc = [
    `${meta.kind} ${meta.name} (${dimText || "no sizes"}) from ${o.origin}, as a torch.nn.Module.`,
    ``,
    `    Inputs ${meta.inputs.map((x) => `${x.name} [${x.size}]`).join(", ") || "(none)"}; states ${meta.states.map((x) => `${x.name} [${x.size}]`).join(", ") || "(none)"};`,
    `    outputs ${meta.outputs.map((x) => `${x.name} [${x.size}]`).join(", ")}; ${meta.paramCount} parameters.`,
    ``,
    `    Trains with cellc's own backward (a torch.autograd.Function). Cell(autograd=True) leaves the`,
    `    backward to torch's autograd instead (for double backward); so does torch.jit.script(cell).`,
  ].join("\n");
  const init = meta.params.map((m, i) => `            ${initCall(attrs[i]!, m.init)}`);
  const text = [
    ...header,
    `import json`,
    `import math`,
    `import os`,
    `import sys`,
    `import time`,
    `from typing import Dict, List, Optional, Tuple`,
    ``,
    `import torch`,
    `from torch import Tensor, nn`,
    ``,
    `# ---- Support code every generated module carries (from cellc's backends/torch/support/).`,
    ``,
    torchSupportText("weights"),
    ``,
    ``,
    torchSupportText("init"),
    ``,
    ``,
    `# ---- This cell.`,
    ``,
    `#: What this cell is: sizes, inputs, states, outputs and parameters (with their initializers).`,
    `META = ${pyLiteral(meta)}`,
    ``,
    `#: (attribute, spec name) of every parameter, in the spec's order.`,
    `PARAMS = [`,
    ...paramsList,
    `]`,
    ``,
    ``,
    ...functionText(cores, cls, meta.inputs.length, meta.states.length, meta.params.length, meta.outputs.length),
    ``,
    ``,
    `class Cell(nn.Module):`,
    `    ${pyDocstring(classDoc)}`,
    ``,
    `    def __init__(self, batch_first: bool = False, autograd: bool = False) -> None:`,
    `        super().__init__()`,
    `        self.batch_first = batch_first`,
    `        self.autograd = autograd`,
    ...meta.params.map((m, i) => `        self.${attrs[i]} = nn.Parameter(torch.empty(${m.shape.join(", ")}))`),
    `        self.reset_parameters()`,
    ``,
    `    def reset_parameters(self) -> None:`,
    `        """Each parameter's initializer from the spec (torch's random generator)."""`,
    ...(init.length ? [`        with torch.no_grad():`, ...init] : [`        pass`]),
    ``,
    forward,
    ``,
    ...applyMethod,
    ``,
    `    def cellc_state_dict(self) -> Dict[str, Tensor]:`,
    `        """The parameters by their spec names (detached), in the spec's order."""`,
    `        return {spec: getattr(self, attr).detach() for attr, spec in PARAMS}`,
    ``,
    `    def load_cellc_state_dict(self, weights: Dict[str, Tensor], prefix: str = "") -> None:`,
    `        """Sets every parameter from weights[prefix + spec name]; all are checked before any changes."""`,
    `        _cellc_copy_in(self, PARAMS, weights, prefix, ${pyString(`${meta.name}.load_cellc_state_dict`)})`,
    ``,
    `    def load_cellc(self, path: str, layer: Optional[str] = None) -> None:`,
    `        """Loads a cellc checkpoint (header .json + .bin): this cell's own weights, or a model's`,
    `        (weights named "layer/param"; the one layer holding all of this cell's, or \`layer\`)."""`,
    `        weights = read_cellc_weights(path)`,
    `        where = ${pyString(`${meta.name}.load_cellc(`)} + repr(path) + ")"`,
    `        prefix = _cellc_layer_prefix(weights, [spec for _, spec in PARAMS], layer, where)`,
    `        _cellc_copy_in(self, PARAMS, weights, prefix, where)`,
    ``,
    `    def save_cellc(self, path: str, layer: Optional[str] = None) -> str:`,
    `        """Writes the parameters as a cellc checkpoint (names "layer/param" when \`layer\` is given);`,
    `        returns the header's path."""`,
    `        prefix = "" if layer is None else layer + "/"`,
    `        return write_cellc_weights(path, {prefix + k: v for k, v in self.cellc_state_dict().items()})`,
    ``,
    `    def extra_repr(self) -> str:`,
    `        return ${pyString(`${meta.name} ${dimText}`)} + (", batch_first=True" if self.batch_first else "")`,
    ``,
  ].join("\n");
  return text;
}

function fail(what: string): never {
  throw new Error(`torch backend: ${what}`);
}
