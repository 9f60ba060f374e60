// The cellc plugin for Esbuild (see index.ts): `import cellc from "cellc/plugin/esbuild"`, then `cellc()` in the plugins.
import { cellc } from "./index.ts";

export default cellc.esbuild;
