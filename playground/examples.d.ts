// Virtual modules scripts/build-playground.mjs writes into the bundles.
declare module "playground:examples" {
  /** Every spec in examples/specs, by its path there ("lstm.cell", "greff/nfg.cell"). */
  export const examples: Record<string, string>;
}
declare module "playground:files" {
  /** The files node:fs may read in the browser, by path relative to backends/ or studies/. */
  export const files: Record<string, string>;
}
