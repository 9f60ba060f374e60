// Types of `.cell` imports through the cellc bundler plugin. Add to tsconfig.json
// `"types": ["cellc/client"]`, or write `/// <reference types="cellc/client" />` in a .d.ts.
//
// TypeScript matches a module name against one `*` only, so an import whose query gives sizes
// ends in `&kernel` for TypeScript to know it: `./lstm.cell?I=64&H=128&kernel`; without sizes,
// `./lstm.cell` (the spec's defaults, or the plugin's `dims` option). Each is a kernel module,
// a cellc CellKernel: pass the namespace to recurrent({ kernel }) or call forward/backward.

type CellcKernelModule = import("cellc/abi").CellKernel;

declare module "*.cell" {
  export const meta: CellcKernelModule["meta"];
  export const createParams: CellcKernelModule["createParams"];
  export const createState: CellcKernelModule["createState"];
  export const step: CellcKernelModule["step"];
  export const forward: CellcKernelModule["forward"];
  export const backward: CellcKernelModule["backward"];
}

declare module "*&kernel" {
  export const meta: CellcKernelModule["meta"];
  export const createParams: CellcKernelModule["createParams"];
  export const createState: CellcKernelModule["createState"];
  export const step: CellcKernelModule["step"];
  export const forward: CellcKernelModule["forward"];
  export const backward: CellcKernelModule["backward"];
}

declare module "*?kernel" {
  export const meta: CellcKernelModule["meta"];
  export const createParams: CellcKernelModule["createParams"];
  export const createState: CellcKernelModule["createState"];
  export const step: CellcKernelModule["step"];
  export const forward: CellcKernelModule["forward"];
  export const backward: CellcKernelModule["backward"];
}
