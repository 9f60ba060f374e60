// Loads a spec and, transitively, the files it imports; resolves imported names and reports
// unreadable files, unknown names and import cycles as diagnostics.

import * as path from "node:path";
import { declsWithSyntaxErrors, parse } from "../grammar/index.ts";
import type { CellDecl, SpecFile, StackDecl, TopDecl } from "../grammar/ast.ts";
import { diag, type Diagnostic } from "../grammar/diagnostics.ts";
import type { SourceText } from "../grammar/source.ts";
import { describeFsError, MAX_SPEC_BYTES, readTextFile } from "./read-text.ts";

export { describeFsError } from "./read-text.ts";

export type UnitDecl = CellDecl | StackDecl;

export interface LoadedFile {
  /** The path as shown in diagnostics. */
  file: string;
  ast: SpecFile;
  source: SourceText;
  /** Cells and stacks visible in this file: its own and the ones it imports. */
  scope: Map<string, { decl: UnitDecl; file: LoadedFile }>;
  /** Names whose import failed (already reported), so their uses are not reported again. */
  unresolved: Set<string>;
  /** Declarations with syntax errors: not checked further, so their knock-on errors stay quiet. */
  broken: ReadonlySet<TopDecl>;
}

export interface Program {
  root: LoadedFile;
  files: Map<string, LoadedFile>;
  diagnostics: Diagnostic[];
  sources: Record<string, string>;
}

export type ReadFile = (file: string) => string;

/** Reads a spec or an import from disk: regular files of at most MAX_SPEC_BYTES only (a FIFO or a
 *  device would block or never end); throws FileReadError saying why not. */
export const defaultRead: ReadFile = (f) => readTextFile(f, MAX_SPEC_BYTES, "a spec");

export const INPUT_FILE = "<input>";

/** Parses `text` (named `file`) and every file it imports. Never throws for a user's mistake. */
export function loadProgram(text: string, file: string, readFile: ReadFile = defaultRead): Program {
  const files = new Map<string, LoadedFile>();
  const diagnostics: Diagnostic[] = [];
  const sources: Record<string, string> = {};
  const inProgress: string[] = [];

  const load = (name: string, body: string): LoadedFile => {
    const { ast, diagnostics: ds, source } = parse(body, name);
    sources[name] = body;
    diagnostics.push(...ds);
    const lf: LoadedFile = { file: name, ast, source, scope: new Map(), unresolved: new Set(), broken: declsWithSyntaxErrors({ ast }) };
    files.set(name, lf);
    inProgress.push(name);
    for (const d of ast.decls) {
      if (d.kind !== "import") continue;
      const target = resolveImport(name, d.from.value);
      if (inProgress.includes(target)) {
        const cycle = [...inProgress.slice(inProgress.indexOf(target)), target].join(" -> ");
        diagnostics.push(diag("CE305", d.from.span, cycle));
        for (const n of d.names) lf.unresolved.add(n.name);
        continue;
      }
      let dep = files.get(target);
      if (!dep) {
        let depText: string;
        try {
          depText = readFile(target);
        } catch (e) {
          diagnostics.push(diag("CE301", d.from.span, d.from.value, describeFsError(e)));
          for (const n of d.names) lf.unresolved.add(n.name);
          continue;
        }
        dep = load(target, depText);
      }
      for (const n of d.names) {
        const found = dep.ast.decls.find((x): x is UnitDecl => (x.kind === "cell" || x.kind === "stack") && x.name.name === n.name);
        if (!found) {
          diagnostics.push(diag("CE302", n.span, n.name, d.from.value));
          lf.unresolved.add(n.name);
        }
        else lf.scope.set(n.name, { decl: found, file: dep });
      }
    }
    for (const d of ast.decls) {
      if (d.kind === "import") continue;
      if (lf.scope.has(d.name.name)) diagnostics.push(diag("CE204", d.name.span, d.name.name));
      else lf.scope.set(d.name.name, { decl: d, file: lf });
    }
    inProgress.pop();
    return lf;
  };

  const root = load(file, text);
  return { root, files, diagnostics, sources };
}

function resolveImport(fromFile: string, spec: string): string {
  const base = fromFile === INPUT_FILE ? "." : path.dirname(fromFile);
  const joined = path.normalize(path.join(base, spec));
  return path.isAbsolute(spec) ? path.normalize(spec) : joined;
}
