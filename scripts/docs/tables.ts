// The tables of the user docs that mirror code, generated from that code: the functions a spec may
// call (compiler/functions.ts and the primitive registry), the diagnostic catalogue
// (grammar/diagnostics.ts) and the command-line flags (cli/args.ts, cli/study.ts, and the usage
// text of cli/export.ts). Each lives in a doc between `<!-- generated:NAME -->` and `<!-- /generated -->`; `npm run docs:tables`
// rewrites those regions and test/docs-tables.test.ts fails when a committed doc differs from what
// this file generates. Nothing here touches the file system (scripts/docs-tables.ts does).

import { availableParallelism } from "node:os";
import { commandFlags } from "../../cli/args.ts";
import { exportUsage } from "../../cli/export.ts";
import type { FlagDefs } from "../../cli/flags.ts";
import { studyFlags } from "../../cli/study.ts";
import { functionNames, functionSignature } from "../../compiler/functions.ts";
import { elementwise } from "../../compiler/primitives/elementwise.ts";
import { surfaceRow } from "../../compiler/primitives/rows.ts";
import { catalogue, warningCodes, type DiagnosticCode } from "../../grammar/diagnostics.ts";

/** What the functions that are not one registry primitive compute (a registry primitive's text is
 *  its `doc`, an elementwise one's or a row primitive's). A function missing here, or listed here but unknown to the checker, stops the
 *  generator: the table cannot silently lose or invent a function. */
const FUNCTION_DOCS: Readonly<Record<string, string>> = {
  hard_sigmoid: "Keras 2's and TensorFlow.js's clip(0.2 x + 0.5, 0, 1)",
  max: "max(v): the largest element, [n] → [1] (the subgradient goes to the first maximum only); max(a, b): elementwise, broadcasting (NaN if either is; on a tie the derivative goes to a)",
  min: "min(v): the smallest element, [n] → [1] (the subgradient goes to the first minimum only); min(a, b): elementwise, broadcasting (NaN if either is; on a tie the derivative goes to a)",
  mean: "Σ v / n, [n] → [1]",
  norm: "√(Σ v²), [n] → [1]; not differentiable at v = 0 (its gradient there is NaN; write sqrt(dot(v, v) + ε) if v can be 0)",
  softmax: "e^v / Σ e^v, [n] → [n], shifted by max(v) first so large inputs do not overflow",
  log_softmax: "v − log Σ e^v, [n] → [n], shifted by max(v) first",
  dot: "Σ a·b, [n], [n] → [1]",
  outer: "a[i] · b[j], [m], [n] → [m, n]",
  transpose: "[m, n] → [n, m]; read in place as an operand of @ (tied weights), elsewhere a copy per sample",
  concat: "the vectors one after the other, [Σ n]",
  layernorm: "v normalised over its elements with ε = 1e-5 (PyTorch's default), then scaled by gain and shifted by bias, [n] → [n]",
};

/** The CE code ranges (the hundreds digit), as grammar/diagnostics.ts groups them. */
const DIAGNOSTIC_GROUPS: Readonly<Record<string, string>> = {
  "0": "input",
  "1": "syntax",
  "2": "names and shapes",
  "3": "imports and stacks",
  "4": "build time: sizes, targets",
};

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Prose inside a table cell: `<task>` must not read as an HTML tag. */
function prose(text: string): string {
  return cell(text).replace(/</g, "&lt;");
}

/** Text as a code span inside a table cell (a backtick in it widens the fence). */
function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${cell(text)}${pad}${fence}`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

export function functionsTable(): string {
  const unknown = Object.keys(FUNCTION_DOCS).filter((f) => !functionNames.includes(f));
  if (unknown.length > 0) throw new Error(`scripts/docs/tables.ts describes ${unknown.join(", ")}, which the checker does not know`);
  const rows = functionNames.map((name) => {
    const primitive = elementwise(name);
    const doc = primitive?.surface ? primitive.doc : (FUNCTION_DOCS[name] ?? surfaceRow(name)?.doc);
    if (doc === undefined) {
      throw new Error(`function '${name}' has no description: give its registry entry a doc, or add it to FUNCTION_DOCS in scripts/docs/tables.ts`);
    }
    return [code(name), prose(functionSignature(name)!.arityText), prose(doc)];
  });
  return table(["function", "arguments", "what it computes"], rows);
}

export function diagnosticsTable(): string {
  const codes = Object.keys(catalogue) as DiagnosticCode[];
  const rows = codes.map((c) => {
    const group = DIAGNOSTIC_GROUPS[c.charAt(2)];
    if (group === undefined) throw new Error(`${c}: no group for codes CE${c.charAt(2)}xx in scripts/docs/tables.ts`);
    const message = catalogue[c].replace(/\{\d+\}/g, "…");
    return [c, group, warningCodes.has(c) ? "warning" : "error", code(message)];
  });
  return table(["code", "group", "severity", "message (… is filled in)"], rows);
}

/** A flag's help for a doc: the same on every machine (`cellc study --help` names this machine's
 *  core count, which a committed doc must not). */
function machineIndependent(text: string): string {
  return text.replaceAll(`, here ${availableParallelism()}`, "");
}

export function flagsTable(defs: FlagDefs): string {
  const rows = Object.entries(defs).map(([name, d]) => {
    const head = `${d.short ? `-${d.short}, ` : ""}--${name}${d.type === "string" ? ` ${d.arg ?? "VALUE"}` : ""}`;
    return [code(head), prose(machineIndependent(d.help).split("\n").join(" "))];
  });
  return table(["option", "meaning"], rows);
}

/** The flags of a usage text whose options are printed rather than declared (`cellc export`
 *  parses with node:util parseArgs, so its help is the text it prints): the lines of its
 *  "Options:" block, `  FLAG   description` with continuation lines indented to the description. */
export function usageFlagsTable(usage: string): string {
  const lines = usage.split("\n");
  const start = lines.indexOf("Options:");
  if (start < 0) throw new Error("the usage text has no 'Options:' block");
  const rows: [string, string][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    const m = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (m) rows.push([m[1]!, m[2] ?? ""]);
    else if (rows.length > 0 && /^ {3,}\S/.test(line)) rows[rows.length - 1]![1] += ` ${line.trim()}`;
    else throw new Error(`cannot read the usage line '${line}'`);
  }
  return table(["option", "meaning"], rows.map(([flag, help]) => [code(flag), prose(help.trim())]));
}

/** Every generated region by name. */
export function generatedTables(): Record<string, string> {
  return {
    functions: functionsTable(),
    diagnostics: diagnosticsTable(),
    "flags-check": flagsTable(commandFlags.check),
    "flags-build": flagsTable(commandFlags.build),
    "flags-study": flagsTable(studyFlags),
    "flags-export": usageFlagsTable(exportUsage),
  };
}

const REGION = /(<!-- generated:([\w-]+) -->\n)([\s\S]*?)(<!-- \/generated -->)/g;

/** The names of the regions a doc has, in order. */
export function regionNames(doc: string): string[] {
  return [...doc.matchAll(REGION)].map((m) => m[2]!);
}

/** The doc with every generated region's body replaced by its table; an unknown region name
 *  throws (a typo in a marker must not leave a table unchecked). */
export function rewriteRegions(doc: string, tables: Readonly<Record<string, string>>, file = "doc"): string {
  return doc.replace(REGION, (_all, open: string, name: string, _body: string, close: string) => {
    const t = tables[name];
    if (t === undefined) throw new Error(`${file}: unknown generated region '${name}' (known: ${Object.keys(tables).join(", ")})`);
    return `${open}${t}\n${close}`;
  });
}
