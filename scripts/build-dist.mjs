// `npm run build`: the package's dist/ from a clean slate. tsc compiles the sources a user runs
// (tsconfig.build.json: JavaScript, declarations, source maps); then the files tsc does not
// emit are copied beside them: the runtime assets every backend declares in its descriptor
// (backends/index.ts: the support code its generated modules inline, read as text through
// backends/assets.ts), the example specs jit's lstm()/gru() compile, and the declaration module for `.cell` imports. Last, the config's JSON Schema is written from its zod
// schema. Plain JavaScript, so building needs only TypeScript.

import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const started = Date.now();

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});

// Files the backends read at run time (the support code their modules inline): each backend
// declares its own in the registry (backends/index.ts), and every declared folder is shipped, so a
// new backend's assets ship by construction.
const { BACKENDS } = await import(pathToFileURL(join(dist, "backends/index.js")).href);
for (const backend of BACKENDS.values()) {
  for (const { dir, extension } of backend.assets) {
    const files = readdirSync(join(root, dir)).filter((f) => f.endsWith(extension));
    if (files.length === 0) throw new Error(`backend ${backend.name} declares assets ${dir}/*${extension} but there are none`);
    // Into dist/assets/, outside the compiled tree: a support file copied beside its own compiled
    // .js and .d.ts (the runtime imports some of them) would win TypeScript's module resolution
    // over the declarations, and a user's strict tsc would then check cellc's sources.
    for (const f of files) cpSync(join(root, dir, f), join(dist, "assets", dir, f));
  }
}
mkdirSync(join(dist, "examples"), { recursive: true });
cpSync(join(root, "examples/specs"), join(dist, "examples/specs"), {
  recursive: true,
  filter: (src) => !src.includes(".") || src.endsWith(".cell") || src.endsWith(".map.json") || src === join(root, "examples/specs"),
});
cpSync(join(root, "plugin/client.d.ts"), join(dist, "plugin/client.d.ts"));
// The corpus `cellc study --task charlm` trains on (read by studies/data/text.ts).
cpSync(join(root, "studies/corpus/default.txt"), join(dist, "studies/corpus/default.txt"));

// The JSON Schema of cellc.config.json, for editors ("$schema") and the VS Code extension.
const { configJsonSchema } = await import(pathToFileURL(join(dist, "cli/config-schema.js")).href);
const schema = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
writeFileSync(join(dist, "cellc.config.schema.json"), schema);

for (const bin of ["cli/bin/cellc.js", "editor/server/bin.js"]) chmodSync(join(dist, bin), 0o755);
console.error(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
