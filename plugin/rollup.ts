// The cellc plugin for Rollup (see index.ts): `import cellc from "cellc/plugin/rollup"`, then `cellc()` in the plugins.
import { cellc } from "./index.ts";

export default cellc.rollup;
