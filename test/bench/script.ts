// What the small benchmark scripts (bench:versus, bench:threads) share: reading their flags, with
// a bad one answered by the usage and exit 2 (and --help by the usage and exit 0), and the median.

import { FlagError, parseFlags, type FlagDefs } from "../../cli/flags.ts";

/** The script's flags (`help` among its defs), and how it reports a bad value it finds later. */
export function scriptFlags(defs: FlagDefs, usageText: string): { values: Map<string, string | string[] | true>; usage: (message: string) => never } {
  const usage = (message: string): never => {
    process.stderr.write(`error: ${message}\n\n${usageText}`);
    process.exit(2);
  };
  let values;
  try {
    values = parseFlags(process.argv.slice(2), defs).values;
  } catch (e) {
    if (e instanceof FlagError) usage(e.message);
    throw e;
  }
  if (values.has("help")) {
    process.stdout.write(usageText);
    process.exit(0);
  }
  return { values, usage };
}

export const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
