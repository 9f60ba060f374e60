#!/usr/bin/env node
// The `cellc` executable. The compiler is TypeScript run from source, so this plain-JS entry point
// registers tsx's loader first, then hands argv to cli/main.ts. The import is resolved from this
// file's location, so it works from any directory, through npx, npm scripts or a symlinked bin.
import { register } from "tsx/esm/api";

// Ignore whatever tsconfig.json the user's working directory has: cellc's sources need none.
register({ tsconfig: false });

// Output piped into a reader that stops early (`cellc build ... | head`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    process.exit(e.code === "EPIPE" ? (process.exitCode ?? 0) : 70);
  });
}

try {
  const { main } = await import("../main.ts");
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // main() never throws; reaching here means cellc itself failed to load.
  process.stderr.write(`cellc: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 70;
}
