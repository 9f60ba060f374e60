// Types of `.cell` imports through the cellc bundler plugin. Add to tsconfig.json
// `"types": ["cellc/client"]`, or write `/// <reference types="cellc/client" />` in a .d.ts.
//
// TypeScript matches a module name against one `*` only, so an import whose query gives sizes
// ends in `&kernel` for TypeScript to know it: `./lstm.cell?I=64&H=128&kernel`; without sizes,
// `./lstm.cell` (the spec's defaults, or the plugin's `dims` option). Each is a kernel module,
// a cellc CellKernel: pass the namespace to recurrent({ kernel }) or call forward/backward.

type CellKernelModule = import("cellc/abi").CellKernel;

declare module "*.cell" {
  export const meta: CellKernelModule["meta"];
  export const createParams: CellKernelModule["createParams"];
  export const createState: CellKernelModule["createState"];
  export const step: CellKernelModule["step"];
  export const forward: CellKernelModule["forward"];
  export const backward: CellKernelModule["backward"];
}

declare module "*&kernel" {
  export const meta: CellKernelModule["meta"];
  export const createParams: CellKernelModule["createParams"];
  export const createState: CellKernelModule["createState"];
  export const step: CellKernelModule["step"];
  export const forward: CellKernelModule["forward"];
  export const backward: CellKernelModule["backward"];
}

declare module "*?kernel" {
  export const meta: CellKernelModule["meta"];
  export const createParams: CellKernelModule["createParams"];
  export const createState: CellKernelModule["createState"];
  export const step: CellKernelModule["step"];
  export const forward: CellKernelModule["forward"];
  export const backward: CellKernelModule["backward"];
}
