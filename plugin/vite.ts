// The cellc plugin for Vite (see index.ts): `import cellc from "cellc/plugin/vite"`, then `cellc()` in the plugins.
import { cellc } from "./index.ts";

export default cellc.vite;
