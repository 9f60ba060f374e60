// Builds the playground (playground/) into a static site: index.html, its stylesheet, and three
// esbuild bundles: the page (main.js), the compiler's worker (compiler-worker.js: the checker at
// once, the code generators and their libraries as chunks loaded on first use) and the training
// worker (train-worker.js: the browser runtime and the study tasks). Every path in the site is
// relative, so the folder can be served as is by any static host.
//
//   node scripts/build-playground.mjs [--out DIR] [--no-minify]
//
// The compiler is written for Node; in the bundles, node:fs answers from a table of the few files
// the compiler and the studies read (the backends' support code, the corpus), node:path is
// path-browserify, and the node modules a library names but the playground never calls are empty.

import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(root, "dist-playground"));
const minify = !args.includes("--no-minify");

/** Files under `dir` (recursively) whose names end in one of `extensions`. */
function walk(dir, extensions) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return walk(p, extensions);
    return extensions.some((e) => n.endsWith(e)) ? [p] : [];
  });
}

/** What node:fs may read in the browser, keyed by the path the code asks for, relative to
 *  the repository (the support code assets.ts reads, abi/'s inlined files among it) or to
 *  studies/ (the corpus). */
function inlinedFiles() {
  const files = {};
  for (const dir of ["backends/ts/support", "backends/wasm/support", "backends/torch/support", "abi"]) {
    for (const f of walk(join(root, dir), [".ts", ".py"])) files[relative(root, f)] = readFileSync(f, "utf8");
  }
  files["corpus/default.txt"] = readFileSync(join(root, "studies/corpus/default.txt"), "utf8");
  return files;
}

/** Every spec in examples/specs (greff/ too), by its path there. */
function examples() {
  const dir = join(root, "examples/specs");
  return Object.fromEntries(walk(dir, [".cell"]).sort().map((f) => [relative(dir, f), readFileSync(f, "utf8")]));
}

/** ts-morph's export names, read from the package itself. */
function tsMorphNames() {
  return Object.keys(createRequire(import.meta.url)("ts-morph")).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default");
}

const shim = (name) => join(root, "playground/shims", name);
const empty = shim("empty.ts");
const aliases = {
  "node:fs": shim("node-fs.ts"),
  fs: shim("node-fs.ts"),
  "node:url": shim("node-url.ts"),
  url: shim("node-url.ts"),
  "node:path": "path-browserify",
  path: "path-browserify",
  // One TypeScript in the bundles: ts-morph's own, which the TypeScript printer loads anyway.
  // (Its real path: node_modules may be a symlink, and esbuild keys modules by real paths.)
  typescript: realpathSync(join(root, "node_modules/@ts-morph/common/dist/typescript.js")),
};
const emptyModules = ["node:fs/promises", "fs/promises", "node:os", "os", "node:worker_threads", "worker_threads", "crypto", "node:crypto", "perf_hooks", "module", "node:module"];

const playgroundPlugin = {
  name: "playground",
  setup(b) {
    b.onResolve({ filter: /^playground:(files|examples)$/ }, (a) => ({ path: a.path, namespace: "playground" }));
    // ts-morph is CommonJS: Node's import() gives its named exports, an esbuild chunk only a
    // default one; a facade gives the backends the names they use.
    b.onResolve({ filter: /^ts-morph$/ }, (a) => (a.namespace === "playground" ? undefined : { path: "ts-morph-facade", namespace: "playground" }));
    b.onLoad({ filter: /.*/, namespace: "playground" }, (a) => ({
      contents:
        a.path === "ts-morph-facade"
          ? `import m from "ts-morph"; export const { ${tsMorphNames().join(", ")} } = m; export default m;`
          : a.path === "playground:files"
            ? `export const files = ${JSON.stringify(inlinedFiles())};`
            : `export const examples = ${JSON.stringify(examples())};`,
      loader: "js",
      resolveDir: root,
    }));
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, async (a) => {
      if (Object.hasOwn(aliases, a.path)) {
        const target = aliases[a.path];
        return target.startsWith("/") ? { path: target } : b.resolve(target, { resolveDir: root, kind: a.kind });
      }
      if (emptyModules.includes(a.path)) return { path: empty };
      return undefined;
    });
    // The studies' tasks import the Node runtime; in the browser they get the browser one (the
    // same API, IndexedDB checkpoints).
    b.onResolve({ filter: /runtime\/index\.ts$/ }, (a) => {
      const p = resolve(a.resolveDir, a.path);
      return p === join(root, "runtime/index.ts") ? { path: join(root, "runtime/browser.ts") } : undefined;
    });
  },
};

export async function buildPlayground(options = {}) {
  const dir = options.out ?? out;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: "playground/main.ts", "compiler-worker": "playground/compiler-worker.ts", "train-worker": "playground/train-worker.ts" },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: options.minify ?? minify,
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
    chunkNames: "chunks/[name]-[hash]",
    loader: { ".css": "css" },
    define: {
      "process.env.CELLC_DUMP_PLAN": "undefined",
      "process.env.CELLC_DUMP_IR": "undefined",
      "process.env.CELLC_WASM_NAMES": "undefined",
      "process.env.NODE_ENV": '"production"',
    },
    plugins: [playgroundPlugin],
    inject: [join(root, "playground/shims/buffer.ts")],
  });
  cpSync(join(root, "playground/index.html"), join(dir, "index.html"));
  cpSync(join(root, "playground/style.css"), join(dir, "style.css"));
  cpSync(join(root, "node_modules/uplot/dist/uPlot.min.css"), join(dir, "uPlot.min.css"));
  return { dir, metafile: result.metafile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { dir } = await buildPlayground();
  console.log(`playground built in ${relative(process.cwd(), dir) || "."}`);
}
