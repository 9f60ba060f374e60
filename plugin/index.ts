// The bundler plugin (`cellc/plugin`), one implementation on unplugin for Vite, Rollup, esbuild
// and webpack: `import * as lstm from "./lstm.cell?I=64&H=128"` compiles the spec at those sizes
// into the kernel module (JavaScript); `target: "wasm"` (or `&target=wasm` in the query) makes it
// the WebAssembly kernel's module. The spec and every file it imports are watched, so
// editing either rebuilds; a spec with errors fails the build with its diagnostics and code frames.
//
//   // vite.config.ts
//   import cellc from "cellc/plugin/vite";
//   export default { plugins: [cellc()] };

import { FMA_MODES, type FmaMode } from "../compiler/api-types.ts";
import { createUnplugin, type UnpluginInstance } from "unplugin";
import { buildCellImport, CellImportError, importTarget, isCellImport, parseCellImport, resolveCellImport, SpecError, type ImportTarget } from "./spec-import.ts";

export interface CellcPluginOptions {
  /** Run the optimizing passes (default true). */
  optimize?: boolean;
  /** Sizes used when an import does not give them, e.g. { I: 64 }. */
  dims?: Record<string, number>;
  /** The backend of imports whose query does not say (`target=wasm`): "ts" (the default) or
   *  "wasm" (WebAssembly SIMD; the TypeScript kernel inside runs where SIMD is missing). */
  target?: ImportTarget;
  /** WebAssembly imports: fused multiply-add (relaxed SIMD) in the matrix products, "auto" (the
   *  default: both binaries, the FMA one where the engine has relaxed SIMD), "on" or "off". */
  fma?: FmaMode;
}

/** What load returns after this.error: Rollup, Vite and webpack have thrown by then; esbuild
 *  collects the error and needs a module to attach it to. */
const failed = { code: "export {};", map: null };

export const cellc: UnpluginInstance<CellcPluginOptions | undefined, false> = createUnplugin((options: CellcPluginOptions | undefined = {}, meta) => {
  const target = options?.target;
  if (target !== undefined && importTarget(target) === undefined) throw new TypeError(`cellc plugin: target must be "ts" or "wasm", got ${JSON.stringify(target)}`);
  const fma = options?.fma;
  if (fma !== undefined && !(FMA_MODES as readonly unknown[]).includes(fma)) throw new TypeError(`cellc plugin: fma must be "auto", "on" or "off", got ${JSON.stringify(fma)}`);
  // Vite shows an error's loc as file:line:column with the column as given, and opens the editor
  // there (1-based): it gets the diagnostic's column, so its header agrees with the code frame.
  // Rollup, esbuild and webpack take 0-based columns (their own errors' headers are 0-based).
  const columnBase = meta.framework === "vite" ? 1 : 0;
  return {
    name: "cellc",
    enforce: "pre",
    resolveId(id, importer) {
      return isCellImport(id) ? resolveCellImport(id, importer) : null;
    },
    loadInclude(id) {
      return isCellImport(id);
    },
    async load(id) {
      let imp;
      try {
        imp = parseCellImport(id, options?.dims, target);
      } catch (e) {
        if (!(e instanceof CellImportError)) throw e;
        this.error(`${id}: ${e.message}`);
        return failed;
      }
      this.addWatchFile(imp.file);
      try {
        const built = await buildCellImport(imp, options?.optimize ?? true, fma);
        for (const f of built.files) this.addWatchFile(f);
        return { code: built.code, map: null };
      } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        for (const f of e.files) this.addWatchFile(f);
        const where = e.line !== undefined ? { loc: { file: e.file, line: e.line, column: (e.column ?? 1) - 1 + columnBase } } : {};
        this.error({ message: e.message, id: e.file, ...where });
        return failed;
      }
    },

  };
});

export default cellc;
export type { CellImport } from "./spec-import.ts";
