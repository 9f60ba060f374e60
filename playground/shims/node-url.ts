// node:url in the playground's bundles: file URLs become their paths (the node:fs shim matches
// them by their ends).
export const fileURLToPath = (u: string | URL): string => (typeof u === "string" ? new URL(u) : u).pathname;
export const pathToFileURL = (p: string): URL => new URL(`file://${p}`);
export default { fileURLToPath, pathToFileURL };
