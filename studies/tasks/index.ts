// The tasks `cellc study --task NAME` knows, by name. Each lives in its own file here and is its
// file's default export (see ../task.ts); a task in any other file is used by passing the file's
// path to --task, without listing it here.

import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { taskProblem, type StudyTask } from "../task.ts";

// These files are .ts in the sources and .js in the built package (dist/): use this file's own.
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** Built-in task name -> module, relative to this file. */
const BUILTIN: Record<string, string> = {
  adding: `./adding${EXT}`,
  reber: `./reber${EXT}`,
  copy: `./copy${EXT}`,
  charlm: `./charlm${EXT}`,
  sentiment: `./sentiment${EXT}`,
};

export const taskNames: readonly string[] = Object.keys(BUILTIN);

/** A task that is neither built in nor a loadable task file. */
export class UnknownTaskError extends Error {
  override name = "UnknownTaskError";
}

export interface ResolvedTask {
  task: StudyTask;
  /** URL of the module whose default export is the task (workers import it). */
  module: string;
}

/** Loads a task by built-in name or by the path of a file whose default export is a task. */
export async function resolveTask(nameOrPath: string): Promise<ResolvedTask> {
  let module: string;
  if (Object.hasOwn(BUILTIN, nameOrPath)) {
    module = new URL(BUILTIN[nameOrPath]!, import.meta.url).href;
  } else if (/[\\/]|\.[cm]?[jt]s$/.test(nameOrPath)) {
    const file = resolve(nameOrPath);
    if (!existsSync(file)) throw new UnknownTaskError(`no such task file: ${nameOrPath}`);
    module = pathToFileURL(file).href;
  } else {
    throw new UnknownTaskError(`unknown task '${nameOrPath}'; known tasks: ${taskNames.join(", ")} (or the path of a task file)`);
  }
  return { task: await loadTask(module, nameOrPath), module };
}

/** Imports a task module and checks its default export. */
export async function loadTask(module: string, shown = module): Promise<StudyTask> {
  let m: { default?: unknown };
  try {
    m = (await import(module)) as { default?: unknown };
  } catch (e) {
    throw new UnknownTaskError(`cannot load task ${shown}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const problem = taskProblem(m.default);
  if (problem !== undefined) throw new UnknownTaskError(`task file ${shown}: ${problem}`);
  return m.default as StudyTask;
}
