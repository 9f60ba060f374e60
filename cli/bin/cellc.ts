#!/usr/bin/env node
// The `cellc` executable as the package ships it (dist/cli/bin/cellc.js, plain JavaScript): hands
// argv to cli/main.ts and sets the exit status. In the repository, cellc.mjs beside this file
// registers tsx and runs this same file from source.
import { main } from "../main.ts";
import { visible } from "../../grammar/visible.ts";

// Output piped into a reader that stops early (`cellc build ... | head`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    process.exit(e.code === "EPIPE" ? (process.exitCode ?? 0) : 70);
  });
}

// main() never throws; a throw here means cellc itself failed.
process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(visible(`cellc: internal error: ${e instanceof Error ? e.message : String(e)}`) + "\n");
  return 70;
});
