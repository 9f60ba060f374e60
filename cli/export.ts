// `cellc export`: one cell or stack of a spec as an ONNX model (the ONNX backend's Scan over time,
// or with --fused a standard cell as ONNX's own LSTM / GRU / RNN operator through its mapping file),
// with parameters from a checkpoint or initialised as the spec declares. Flags are parsed with
// node:util parseArgs; a bad flag is the usage text and exit 2, a spec error its diagnostics and
// exit 1, a kernel with no ONNX form or an unreadable checkpoint one line and exit 1.

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { KernelMeta, Tensors } from "../abi/kernel.ts";
import { describeFsError, FileReadError, MAX_SPEC_BYTES, readTextFile } from "../compiler/read-text.ts";
import { diag } from "../grammar/diagnostics.ts";
import { parseDims, UsageError } from "./args.ts";
import type { Output } from "./build.ts";
import { shownPath } from "./config.ts";

/** The largest checkpoint header export reads (names and shapes only; the numbers are in its .bin). */

export const exportUsage = `Usage: cellc export <spec.cell> --dims I=64,H=128 --out FILE.onnx [options]

Writes one cell or stack of a spec as an ONNX model that onnxruntime (and any ONNX runtime with
opset 17) runs: the input-only work of every step as one MatMul, the recurrence as a Scan.
Inputs: each spec input [T, B, n], lengths int32 [B] (given empty, [0]: every sample runs all
T steps); outputs: output_<name> [T, B, n] per output and final_<state> [B, n] per state.

Options:
  --dims I=64,H=128    Size bindings; repeat the flag or separate with commas
  -o, --out FILE       The .onnx file to write (its directory is created if missing)
  --cell NAME          Which cell or stack of the file (default: the last one it declares)
  --weights CKPT       Parameters from a cellc checkpoint (model.save, saveWeights):
                       weights named as the cell's parameters, or LAYER/param (see --layer)
  --layer NAME         The layer of a model checkpoint that holds the cell's parameters
  --seed N             Without --weights: draw the parameters as the spec initialises them,
                       from this seed (default 0)
  --no-lengths         No lengths input: every sample runs all T steps
  --initial-states     Take each state's starting value as an input initial_<state> [B, n]
                       (given empty, [0, n]: zeros)
  --input-defaults     Give lengths and initial_<state> those empty tensors as defaults, for
                       runtimes that let a caller omit an input with a default (onnxruntime's
                       Python, C, C++ APIs; onnxruntime-node and -web never feed such inputs)
  --fused              Write a standard cell as ONNX's LSTM / GRU / RNN operator, using the
                       mapping file next to the spec (SPEC.map.json); inputs X, sequence_lens,
                       outputs Y, Y_h (and Y_c)
  -h, --help           Show this help

Exit status: 0 written, 1 the spec has errors, has no ONNX form, or a file could not be read or
written, 2 usage error.`;

class ExportFailure extends Error {}

interface ExportArgs {
  spec: string;
  out: string;
  dims: Record<string, number>;
  cell?: string;
  weights?: string;
  layer?: string;
  seed: number;
  lengths: boolean;
  initialStates: boolean;
  inputDefaults: boolean;
  fused: boolean;
}

function parse(argv: readonly string[]): ExportArgs | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        dims: { type: "string", multiple: true },
        out: { type: "string", short: "o" },
        cell: { type: "string" },
        weights: { type: "string" },
        layer: { type: "string" },
        seed: { type: "string" },
        "no-lengths": { type: "boolean" },
        "initial-states": { type: "boolean" },
        "input-defaults": { type: "boolean" },
        fused: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length !== 1) throw new UsageError(parsed.positionals.length ? `give one spec file, got ${parsed.positionals.length}` : "missing the spec file");
  const spec = parsed.positionals[0]!;
  if (v.out === undefined || v.out === "") throw new UsageError("missing --out FILE.onnx (where to write the model)");
  for (const k of ["cell", "weights", "layer"] as const) if (v[k] === "") throw new UsageError(`--${k} needs a value`);
  if (v.layer !== undefined && v.weights === undefined) throw new UsageError("--layer picks a layer of a checkpoint: give --weights too");
  if (v.seed !== undefined && v.weights !== undefined) throw new UsageError("--seed draws parameters; --weights reads them: give one");
  if (v.fused && v["initial-states"]) throw new UsageError("--fused models have no initial-state inputs");
  if (v.fused && v["input-defaults"]) throw new UsageError("--input-defaults is for the Scan form; --fused models' sequence_lens has none");
  let seed = 0;
  if (v.seed !== undefined) {
    if (!/^[0-9]+$/.test(v.seed) || !Number.isSafeInteger(Number(v.seed))) throw new UsageError(`--seed must be a non-negative integer, got '${v.seed}'`);
    seed = Number(v.seed);
  }
  const a: ExportArgs = { spec, out: v.out, dims: parseDims(v.dims ?? []), seed, lengths: !v["no-lengths"], initialStates: v["initial-states"] ?? false, inputDefaults: v["input-defaults"] ?? false, fused: v.fused ?? false };
  if (v.cell !== undefined) a.cell = v.cell;
  if (v.weights !== undefined) a.weights = v.weights;
  if (v.layer !== undefined) a.layer = v.layer;
  return a;
}

/** The cell's parameters from a checkpoint: names `param` or `<layer>/param` (one layer). */
async function checkpointParams(meta: KernelMeta, file: string, layer: string | undefined): Promise<Tensors> {
  const { headerPath, isShape, loadWeights: load, MAX_HEADER_BYTES } = await import("../runtime/checkpoint.ts");
  // The checkpoint's files on disk: this process never imported cellc/runtime (which would make
  // them the default storage), so the storage is named here.
  const { nodeCheckpointFs } = await import("../runtime/checkpoint-node.ts");
  const loadWeights = (list: Parameters<typeof load>[0], f: string) => load(list, f, { fs: nodeCheckpointFs });
  let entries: { name: string; shape: number[] }[] | undefined;
  let text: string;
  try {
    text = readTextFile(headerPath(file), MAX_HEADER_BYTES, "a checkpoint header");
  } catch (e) {
    // A FIFO or a device is refused here, before loadWeights could block on it.
    if (e instanceof FileReadError && e.reason !== "no such file") throw new ExportFailure(`cannot read weights: ${e.message}`);
    text = "";
  }
  try {
    const h = JSON.parse(text) as { weights?: unknown };
    if (Array.isArray(h.weights) && h.weights.every((w) => typeof w?.name === "string" && Array.isArray(w?.shape))) entries = h.weights as typeof entries;
  } catch {
    entries = undefined;
  }
  // A shape must be sizes (not nested arrays, not 1e39) before anything multiplies or prints it.
  const bad = entries?.findIndex((e) => !isShape(e.shape));
  if (bad !== undefined && bad >= 0) throw new ExportFailure(`checkpoint ${file}: weight #${bad} ('${entries![bad]!.name}') has a shape that is not a list of sizes (non-negative integers)`);
  // Not a header we can read: loadWeights says precisely why.
  if (!entries) await loadWeights([], file);
  const names = new Set(entries!.map((e) => e.name));
  const fits = (prefix: string) => meta.params.every((p) => names.has(`${prefix}${p.name}`));
  let prefix: string;
  if (layer !== undefined) {
    prefix = `${layer}/`;
    if (!fits(prefix)) throw new ExportFailure(`checkpoint ${file} has no layer '${layer}' with ${meta.name}'s parameters (${meta.params.map((p) => p.name).join(", ")})`);
  } else if (fits("")) prefix = "";
  else {
    const layers = [...new Set(entries!.map((e) => e.name.split("/").slice(0, -1).join("/")).filter((l) => l !== ""))].filter((l) => fits(`${l}/`));
    if (layers.length !== 1) {
      throw new ExportFailure(
        layers.length ? `checkpoint ${file} has ${layers.length} layers with ${meta.name}'s parameters (${layers.join(", ")}); pick one with --layer` : `checkpoint ${file} holds no parameters named as ${meta.name}'s (${meta.params.map((p) => p.name).join(", ")})`,
      );
    }
    prefix = `${layers[0]}/`;
  }
  const out: Tensors = {};
  const list = entries!.map((e) => {
    const value = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
    const m = e.name.startsWith(prefix) ? meta.params.find((p) => p.name === e.name.slice(prefix.length)) : undefined;
    if (m) {
      if (e.shape.join() !== m.shape.join()) throw new ExportFailure(`checkpoint ${file}: '${e.name}' is [${e.shape.join(", ")}] but ${meta.name}'s ${m.name} is [${m.shape.join(", ")}] (check --dims)`);
      out[m.name] = value;
    }
    return { name: e.name, shape: e.shape, value };
  });
  await loadWeights(list, file);
  return out;
}

async function exportCell(a: ExportArgs, io: Output): Promise<number> {
  const { planKernel, formatDiagnostics } = await import("../driver/index.ts");
  const { emitOnnx, OnnxExportError } = await import("../backends/onnx/index.ts");
  const { cellOnnxNames } = await import("../formats/onnx/cell-names.ts");
  let source: string;
  try {
    // As check and build read a spec: a regular file of at most MAX_SPEC_BYTES, never blocking.
    source = readTextFile(a.spec, MAX_SPEC_BYTES, "a spec");
  } catch (e) {
    io.err(formatDiagnostics([diag("CE301", undefined, shownPath(a.spec), describeFsError(e))], {}));
    return 1;
  }
  const r = planKernel(source, { file: a.spec, dims: a.dims, dimsSource: "cli", ...(a.cell === undefined ? {} : { cell: a.cell }) });
  if (!r.plan) {
    io.err(formatDiagnostics(r.diagnostics, r.sources));
    return 1;
  }
  if (r.diagnostics.length) io.err(formatDiagnostics(r.diagnostics, r.sources));
  const meta = r.plan.meta;
  let params: Tensors;
  if (a.weights !== undefined) {
    try {
      params = await checkpointParams(meta, a.weights, a.layer);
    } catch (e) {
      throw new ExportFailure(e instanceof ExportFailure ? e.message : `cannot read weights: ${(e as Error).message}`);
    }
  } else {
    const { initializeParams } = await import("../runtime/init.ts");
    const { Rng } = await import("../runtime/rng.ts");
    params = Object.fromEntries(meta.params.map((p) => [p.name, new Float32Array(p.size)]));
    initializeParams(params, meta.params, new Rng(a.seed));
  }
  let bytes: Uint8Array;
  let shape: string;
  if (a.fused) {
    const mapFile = a.spec.replace(/\.cell$/, "") + ".map.json";
    if (!existsSync(mapFile)) throw new ExportFailure(`--fused needs the spec's mapping file ${mapFile} (standard cells ship one: lstm, gru, rnn, ...)`);
    const { loadMapping, exportOnnx, planFor, InteropError } = await import("../runtime/interop/index.ts");
    try {
      const mapping = loadMapping(mapFile);
      const ops = planFor(meta, mapping, "onnx").layers.map((l) => l.op);
      bytes = exportOnnx(meta, mapping, params, { sequenceLengths: a.lengths, states: true, opset: 17 });
      const last = ops[ops.length - 1];
      shape = `ONNX ${ops.join(" + ")}; inputs X${a.lengths ? ", sequence_lens" : ""}; outputs Y, Y_h${last === "LSTM" ? ", Y_c" : ""}`;
    } catch (e) {
      if (e instanceof InteropError) throw new ExportFailure(e.message);
      throw e;
    }
  } else {
    try {
      bytes = emitOnnx(r.plan, { params, lengths: a.lengths, initialStates: a.initialStates, inputDefaults: a.inputDefaults, origin: basename(a.spec) });
    } catch (e) {
      if (e instanceof OnnxExportError) throw new ExportFailure(`${meta.name} has no ONNX form: ${e.message}`);
      throw e;
    }
    const n = cellOnnxNames(meta);
    const ins = [...n.inputs, ...(a.lengths ? [n.lengths] : []), ...(a.initialStates ? n.initial : [])];
    shape = `inputs ${ins.join(", ")}; outputs ${[...n.outputs, ...n.finals].join(", ")}`;
  }
  const out = resolve(a.out);
  try {
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, bytes);
  } catch (e) {
    throw new ExportFailure(`cannot write ${a.out}: ${(e as Error).message}`);
  }
  const dims = Object.entries(meta.dims).map(([k, v]) => `${k}=${v}`).join(" ");
  io.out(`wrote ${a.out} (${bytes.length.toLocaleString("en-US")} bytes): ${meta.name} ${dims}, ${a.weights ? `weights from ${a.weights}` : `initialised with seed ${a.seed}`}; ${shape}`);
  return 0;
}

/** `cellc export ...` (argv after the command name); resolves to the exit status. */
export async function runExport(argv: readonly string[], io: Output): Promise<number> {
  let a: ExportArgs | "help";
  try {
    a = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`cellc export: ${e.message}\n\n${exportUsage}`);
    return 2;
  }
  if (a === "help") {
    io.out(exportUsage);
    return 0;
  }
  try {
    return await exportCell(a, io);
  } catch (e) {
    if (!(e instanceof ExportFailure)) throw e;
    io.err(`cellc export: ${e.message}`);
    return 1;
  }
}
