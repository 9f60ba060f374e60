// The file the playground's spec is, and the files it may import: the bundled examples.

import { examples } from "playground:examples";

/** The spec being edited is this file (absolute, so imports resolve without a working directory). */
export const SPEC_FILE = "/specs/playground.cell";
/** Its name in messages and in generated modules' spec-line comments. */
export const ORIGIN = "playground.cell";

export function readExample(file: string): string {
  const name = file.replace(/^\/specs\//, "");
  if (!Object.hasOwn(examples, name)) throw Object.assign(new Error(`no such file: ${name} (the playground can import the bundled examples)`), { code: "ENOENT" });
  return examples[name]!;
}
