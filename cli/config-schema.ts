// The shape of cellc.config.json as one zod schema: config.ts validates a config with it (every
// message names the field: `entries[2].dims.H: must be a positive integer, got 0`), and the
// build writes it out as a JSON Schema (dist/cellc.config.schema.json) so editors complete and
// check the file through its "$schema". What a schema cannot say (a spec file exists, one output
// file for one module) config.ts checks afterwards.

import { z } from "zod";
import { BACKENDS } from "../backends/index.ts";
import { MAX_THREADS } from "../abi/checks.ts";
import { FMA_MODES } from "../compiler/api-types.ts";
import { isSizeName, sizeValueProblem } from "./args.ts";

/** A value as a message shows it. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return JSON.stringify(v);
}

const sizeName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const outPath = z
  .string({ error: (i) => `must be a non-empty path string, got ${describe(i.input)}` })
  .min(1, { error: (i) => `must be a non-empty path string, got ${describe(i.input)}` });
const optimize = z.boolean({ error: (i) => `must be true or false, got ${describe(i.input)}` });
const targets = [...BACKENDS.keys()] as [string, ...string[]];
const target = z.enum(targets, { error: (i) => `must be one of ${targets.join(", ")}, got ${describe(i.input)}` });
const formats = ["ts", "js"] as const;
const format = z.enum(formats, { error: (i) => `must be "ts" or "js", got ${describe(i.input)}` });
const threadsProblem = (i: { input: unknown }) => `must be a whole number of threads from 1 to ${MAX_THREADS}, got ${describe(i.input)}`;
const threads = z.int({ error: threadsProblem }).min(1, { error: threadsProblem }).max(MAX_THREADS, { error: threadsProblem });
const fma = z.enum(FMA_MODES, { error: (i) => `must be "auto", "on" or "off", got ${describe(i.input)}` });

const sizeValue = z
  .union([z.number().int().min(1), z.string().regex(/^[0-9]+$/)], {
    error: (i) => `must be a positive integer, got ${describe(i.input)}`,
  })
  .meta({ description: "A positive integer (a string of digits is accepted too)." });

/** Sizes of one build, e.g. { "I": 64, "H": 128 }. */
const binding = z
  .record(z.string().regex(sizeName), z.unknown(), {
    error: (i) => `must be an object of sizes like { "I": 64, "H": 128 }, got ${describe(i.input)}`,
  })
  .superRefine((dims, ctx) => {
    for (const [name, value] of Object.entries(dims)) {
      const text = typeof value === "number" ? String(value) : typeof value === "string" ? value : undefined;
      const problem = text === undefined ? `must be a positive integer, got ${describe(value)}` : sizeValueProblem(text);
      if (problem !== undefined) ctx.addIssue({ code: "custom", path: [name], message: problem });
    }
  });

const entry = z
  .strictObject(
    {
      spec: z
        .string({ error: (i) => `must be a path to a .cell file, got ${describe(i.input)}` })
        .min(1, { error: () => `must be a path to a .cell file, got ""` })
        .meta({ description: "The .cell file, relative to this config." }),
      dims: z
        .union([binding, z.array(binding).min(1, { error: 'is an empty list; give at least one binding like { "H": 128 }' })])
        .optional()
        .meta({ description: "Size bindings: one object, or a list for one module set each. Sizes the spec does not declare are ignored." }),
      out: outPath.optional().meta({ description: "Where this entry's modules go; a path ending in the target's extension (.ts, .py) names one file." }),
      cell: z
        .string({ error: (i) => `must be the name of a cell or stack, got ${describe(i.input)}` })
        .regex(sizeName, { error: (i) => `must be the name of a cell or stack, got ${describe(i.input)}` })
        .optional()
        .meta({ description: "Build only this cell or stack of the spec." }),
      optimize: optimize.optional().meta({ description: "Run the optimizing passes (default: the top-level value, else true)." }),
      target: target.optional().meta({ description: 'What to emit: "ts" (a TypeScript kernel module) or another backend (default: the top-level value, else "ts").' }),
      threads: threads.optional().meta({ description: 'With "target": "wasm", the worker threads a call runs on when it does not say (default: the top-level value, else 1).' }),
      fma: fma.optional().meta({ description: 'With "target": "wasm", fused multiply-add (relaxed SIMD) in the matrix products: "auto" ships a binary with it and one without and runs the first where the engine has relaxed SIMD, "on" only the FMA one, "off" only the plain one (default: the top-level value, else "auto").' }),
      format: format.optional().meta({ description: 'With "target" "ts" or "wasm": "ts" writes TypeScript modules, "js" what tsc emits for them (.js and .d.ts). Default: the top-level value, else "ts" when the output\'s project has a tsconfig.json or a TypeScript dependency (or no package.json), else "js".' }),
    },
    { error: (i) => `must be an object like { "spec": "x.cell", "dims": {...} }, got ${describe(i.input)}` },
  )
  .meta({ description: "One spec to build, with its sizes and output." });

export const configSchema = z
  .strictObject(
    {
      $schema: z.string().optional().meta({ description: "The JSON Schema of this file, for editors." }),
      out: outPath.optional().meta({ description: "Default output (a directory, or a .ts file) for entries without one." }),
      optimize: optimize.optional().meta({ description: "Default for entries: run the optimizing passes (true)." }),
      target: target.optional().meta({ description: 'Default for entries: what to emit ("ts").' }),
      threads: threads.optional().meta({ description: 'Default for wasm entries: the worker threads a call runs on (1).' }),
      fma: fma.optional().meta({ description: 'Default for wasm entries: fused multiply-add in the matrix products, "auto", "on" or "off" ("auto").' }),
      format: format.optional().meta({ description: 'Default for ts and wasm entries: "ts" (TypeScript modules) or "js" (.js and .d.ts); absent: from the output\'s project.' }),
      entries: z
        .array(entry, { error: (i) => `must be an array of entries, got ${describe(i.input)}` })
        .min(1, { error: 'is empty: list at least one { "spec": ..., "dims": ... }' }),
    },
    { error: (i) => `must be an object with "entries", got ${describe(i.input)}` },
  )
  .meta({ title: "cellc.config.json", description: "Kernels for `cellc build` to compile. Paths are relative to this file." });

export type ConfigJson = z.infer<typeof configSchema>;

/** The JSON Schema of cellc.config.json (draft 2020-12). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema) as Record<string, unknown>;
}

const expected: Record<string, string> = {
  top: '"entries", "out", "optimize", "target", "threads", "fma" or "format"',
  entry: "spec, dims, out, cell, optimize, target, threads, fma or format",
};

/** The first problem of an invalid config as [where, problem], e.g. ["entries[0].dims.H", "must be ..."]. */
export function validateConfig(json: unknown): { ok: true; value: ConfigJson } | { ok: false; where: string; problem: string } {
  const r = configSchema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  // The first problem in the file's order: an object's unknown keys before its fields' problems.
  const first = [...r.error.issues].sort((a, b) => comparePaths(a.path, b.path))[0]!;
  const [where, problem] = explain(first, [], json);
  return { ok: false, where, problem };
}

type Issue = z.core.$ZodIssue;

function comparePaths(a: readonly PropertyKey[], b: readonly PropertyKey[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return 0; // two fields of one object: keep the schema's order (the sort is stable)
  }
  return a.length - b.length;
}

function explain(issue: Issue, base: readonly PropertyKey[], root: unknown): [string, string] {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0 && !customMessage(issue)) {
    // dims: the object form or the list form, whichever the value is.
    const branch = issue.errors[Array.isArray(at(root, path)) ? 1 : 0] ?? issue.errors[0]!;
    const first = branch[0];
    if (first !== undefined) return explain(first, path, root);
  }
  if (issue.code === "invalid_key") return [where(path.slice(0, -1)), `'${String(path[path.length - 1])}' is not a size name`];
  if (issue.code === "unrecognized_keys") {
    const list = path.length === 0 ? expected["top"] : expected["entry"];
    return [where([...path, issue.keys[0]!]), `unknown field (expected ${list})`];
  }
  return [where(path), issue.message];
}

function customMessage(issue: Issue): boolean {
  return !issue.message.startsWith("Invalid input");
}

function at(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** `entries[0].dims.H`; a top-level field is quoted (`"out"`); the root is "top level". */
function where(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "top level";
  if (path.length === 1) return `"${String(path[0])}"`;
  let s = String(path[0]);
  for (const k of path.slice(1)) s += typeof k === "number" ? `[${k}]` : `.${String(k)}`;
  return s;
}

export { isSizeName };
