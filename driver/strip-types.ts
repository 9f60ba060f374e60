// Generated TypeScript to JavaScript for loading in this process (importModule): types stripped,
// nothing else changed. esbuild's transform does it about ten times faster than TypeScript's
// transpileModule (a 1,900-line LSTM module: ~25 ms against 160-500 ms), and loaders run it once
// per kernel; esbuild is optional (a devDependency here, and a dependency of most bundler setups),
// so where it cannot be loaded TypeScript, which the package depends on, does it.

export type Stripper = "esbuild" | "typescript";

/** The JavaScript of `code`, and which stripper made it. `using` forces one (tests). */
export async function stripTypes(code: string, using?: Stripper): Promise<{ js: string; by: Stripper }> {
  if (using !== "typescript") {
    const transform = await esbuildTransform();
    if (transform) {
      // esbuild drops comments and reprints the code, so two texts that differ only there would
      // give one JavaScript text, and import() of one data: URL gives one module instance (whose
      // top level ran once: a WebAssembly probe, say). The source's hash keeps them apart, as the
      // comments did.
      const js = (await transform(code, { loader: "ts", format: "esm", target: "es2022" })).code;
      return { js: `${js}// source ${fnv1a(code)}\n`, by: "esbuild" };
    }
    if (using === "esbuild") throw new Error("stripTypes: esbuild cannot be loaded here");
  }
  const { default: ts } = await import("typescript");
  const js = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  return { js, by: "typescript" };
}

type Transform = (code: string, options: { loader: "ts"; format: "esm"; target: string }) => Promise<{ code: string }>;
let found: Promise<Transform | undefined> | undefined;

/** esbuild's transform, or undefined where the package is missing (or mapped away in a browser build). */
function esbuildTransform(): Promise<Transform | undefined> {
  // The name through a variable: a bundler that bundles this file (a build tool, the playground)
  // then leaves the import to run time instead of failing where esbuild is not installed.
  const name = "esbuild";
  found ??= (import(name) as Promise<{ transform?: unknown; default?: { transform?: unknown } }>).then(
    (m: { transform?: unknown; default?: { transform?: unknown } }) => {
      const t = m.transform ?? m.default?.transform;
      return typeof t === "function" ? (t as Transform) : undefined;
    },
    () => undefined,
  );
  return found;
}

/** FNV-1a over the UTF-16 units of `text`, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
