// The cellc plugin for Webpack (see index.ts): `import cellc from "cellc/plugin/webpack"`, then `cellc()` in the plugins.
import { cellc } from "./index.ts";

export default cellc.webpack;
