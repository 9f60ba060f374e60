// node:fs in the playground's bundles: the compiler reads its backends' support files and the
// studies read the bundled corpus through readFileSync; the build (scripts/build-playground.mjs)
// inlines exactly those files into a table keyed by their path under the repository, and this
// shim answers from it. Anything else is a file the browser does not have: the error says so.

import { files } from "playground:files";

function find(path: string | URL): string | undefined {
  const p = typeof path === "string" ? path : path.pathname;
  for (const [key, text] of Object.entries(files)) if (p.endsWith(`/${key}`) || p === key) return text;
  return undefined;
}

function missing(path: unknown): Error {
  const e = new Error(`ENOENT: the playground has no file ${String(path)}`) as Error & { code: string };
  e.code = "ENOENT";
  return e;
}

export function readFileSync(path: string | URL): string {
  const text = find(path);
  if (text === undefined) throw missing(path);
  return text;
}
export const existsSync = (path: string | URL): boolean => find(path) !== undefined;
export function statSync(path: string | URL): { isFile(): boolean; isDirectory(): boolean; size: number } {
  const text = find(path);
  if (text === undefined) throw missing(path);
  return { isFile: () => true, isDirectory: () => false, size: text.length };
}
const unsupported = (name: string) => () => {
  throw new Error(`${name} is not available in the playground`);
};
export const openSync = unsupported("openSync");
export const closeSync = unsupported("closeSync");
export const fstatSync = unsupported("fstatSync");
export const readSync = unsupported("readSync");
export const writeFileSync = unsupported("writeFileSync");
export const mkdirSync = unsupported("mkdirSync");
export const readdirSync = unsupported("readdirSync");
export const realpathSync = unsupported("realpathSync");
export const constants = { O_RDONLY: 0 };
export const promises = {};
export default { readFileSync, existsSync, statSync, openSync, closeSync, fstatSync, readSync, writeFileSync, mkdirSync, readdirSync, realpathSync, constants, promises };
