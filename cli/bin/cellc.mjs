#!/usr/bin/env node
// The `cellc` command run from the repository's sources (npm run cellc, the tests): registers
// tsx's loader, then runs cellc.ts. The package's bin is the compiled dist/cli/bin/cellc.js, which
// needs no tsx. The import is resolved from this file's location, so any working directory works.
import { register } from "tsx/esm/api";

// Ignore whatever tsconfig.json the user's working directory has: cellc's sources need none.
register({ tsconfig: false });

try {
  await import("./cellc.ts");
} catch (e) {
  // cellc.ts handles its own errors; reaching here means it failed to load.
  process.stderr.write(`cellc: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 70;
}
