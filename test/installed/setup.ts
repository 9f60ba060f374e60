// Global setup of the as-installed suite (test/installed/): once per run, `npm pack` this
// repository (its prepack builds dist/) and install the tarball into an empty app in a temporary
// directory, offline from the npm cache, as a user's project would get it. Every test file of the
// suite then works in that app (installedApp() in ./app.ts) and runs the installed package in
// fresh processes under plain node.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The app directory, with cellc installed from the packed tarball. */
    installedApp: string;
    /** The files the tarball holds (as `npm pack --json` lists them). */
    packedFiles: string[];
  }
}

const root = new URL("../..", import.meta.url).pathname;

const npm = (args: string[], cwd: string) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  [k: string]: unknown;
}

/**
 * The app's lock file: cellc from ./cellc.tgz and its production dependencies at the versions this
 * repository's lock file pins (plus @types/node, as any Node project has). Resolving version
 * ranges offline needs registry metadata the cache may not hold; with every tarball's address and
 * integrity written down, npm finds each one in its cache without asking the registry.
 */
function appLock(): { lock: object; dependencies: Record<string, string> } {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: Record<string, string>;
  };
  const dependencies = { cellc: "file:cellc.tgz", "@types/node": lock.packages["node_modules/@types/node"]!.version! };
  const packages: Record<string, LockEntry> = {
    "": { name: "app", dependencies },
    "node_modules/cellc": { version: pkg.version, resolved: "file:cellc.tgz", dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  const registry = execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim().replace(/\/?$/, "/");
  const needed = consumerPackages(lock.packages, pkg.dependencies);
  for (const [path, entry] of Object.entries(lock.packages)) {
    const forConsumer = path === "node_modules/@types/node" || path === "node_modules/undici-types";
    if (path === "" || (!needed.has(path) && !forConsumer)) continue;
    // devOptional: optional for a consumer (e.g. a native add-on's helper), a dev package here too.
    const { dev: _dev, devOptional, ...rest } = entry;
    if (devOptional) rest["optional"] = true;
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    packages[path] = { resolved: `${registry}${name}/-/${name.split("/").pop()}-${entry.version}.tgz`, ...rest };
  }
  return { lock: { name: "app", lockfileVersion: 3, requires: true, packages }, dependencies };
}

/** The lock paths a consumer of the package installs: everything its production dependencies
 *  reach (dependencies, optional dependencies and non-optional peers), each name resolved as Node
 *  resolves it, from the requiring package's own node_modules up to the top. A package both a dev
 *  tool and an optional production dependency need is marked devOptional in the lock, so the flags
 *  alone cannot tell. */
function consumerPackages(packages: Record<string, LockEntry>, roots: Record<string, string>): Set<string> {
  const seen = new Set<string>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let at = from; ; ) {
      const candidate = `${at === "" ? "" : `${at}/`}node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (at === "") return undefined;
      const up = at.lastIndexOf("/node_modules/");
      at = up < 0 ? "" : at.slice(0, up);
    }
  };
  const visit = (from: string, names: string[]) => {
    for (const name of names) {
      const path = resolve(from, name);
      if (path === undefined || seen.has(path)) continue;
      seen.add(path);
      const e = packages[path] as LockEntry & { dependencies?: object; optionalDependencies?: object; peerDependencies?: object; peerDependenciesMeta?: Record<string, { optional?: boolean }> };
      const peers = Object.keys(e.peerDependencies ?? {}).filter((p) => !e.peerDependenciesMeta?.[p]?.optional);
      visit(path, [...Object.keys(e.dependencies ?? {}), ...Object.keys(e.optionalDependencies ?? {}), ...peers]);
    }
  };
  visit("", Object.keys(roots));
  return seen;
}

export default function setup(project: TestProject): () => void {
  const work = mkdtempSync(join(tmpdir(), "cellc-installed-"));
  const t0 = performance.now();
  // npm pack runs prepack: `npm run build`, a fresh dist/.
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], root)) as { filename: string; files: { path: string }[] }[];
  const tPack = performance.now();
  const app = join(work, "app");
  mkdirSync(app, { recursive: true });
  copyFileSync(join(work, packed[0]!.filename), join(app, "cellc.tgz"));
  const { lock, dependencies } = appLock();
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies }, null, 2));
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(lock));
  npm(["ci", "--offline", "--ignore-scripts"], app);
  const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
  console.log(`installed suite: npm pack (with the build) ${s(t0, tPack)} s, npm ci ${s(tPack, performance.now())} s; app in ${app}`);
  project.provide("installedApp", app);
  project.provide("packedFiles", packed[0]!.files.map((f) => f.path));
  return () => rmSync(work, { recursive: true, force: true });
}
