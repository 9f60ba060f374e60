// The bundler plugin (`cellc/plugin`), one implementation on unplugin for Vite, Rollup, esbuild
// and webpack: `import * as lstm from "./lstm.cell?I=64&H=128"` compiles the spec at those sizes
// into the kernel module (JavaScript). The spec and every file it imports are watched, so
// editing either rebuilds; a spec with errors fails the build with its diagnostics and code frames.
//
//   // vite.config.ts
//   import cellc from "cellc/plugin/vite";
//   export default { plugins: [cellc()] };

import { createUnplugin, type UnpluginInstance } from "unplugin";
import { buildCellImport, CellImportError, isCellImport, parseCellImport, resolveCellImport, SpecError } from "./spec-import.ts";

export interface CellcPluginOptions {
  /** Run the optimizing passes (default true). */
  optimize?: boolean;
  /** Sizes used when an import does not give them, e.g. { I: 64 }. */
  dims?: Record<string, number>;
}

/** What load returns after this.error: Rollup, Vite and webpack have thrown by then; esbuild
 *  collects the error and needs a module to attach it to. */
const failed = { code: "export {};", map: null };

export const cellc: UnpluginInstance<CellcPluginOptions | undefined, false> = createUnplugin((options: CellcPluginOptions | undefined = {}) => ({
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
      imp = parseCellImport(id, options?.dims);
    } catch (e) {
      if (!(e instanceof CellImportError)) throw e;
      this.error(`${id}: ${e.message}`);
      return failed;
    }
    this.addWatchFile(imp.file);
    try {
      const built = await buildCellImport(imp, options?.optimize ?? true);
      for (const f of built.files) this.addWatchFile(f);
      return { code: built.code, map: null };
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      for (const f of e.files) this.addWatchFile(f);
      const where = e.line !== undefined ? { loc: { file: e.file, line: e.line, column: (e.column ?? 1) - 1 } } : {};
      this.error({ message: e.message, id: e.file, ...where });
      return failed;
    }
  },
}));

export default cellc;
export type { CellImport } from "./spec-import.ts";
