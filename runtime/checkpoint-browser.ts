// Checkpoint storage for browsers: the same CheckpointFs interface over IndexedDB (kept across
// page loads) or over memory (a Map, e.g. for tests or to hand the bytes to a download). Paths
// are plain keys: "models/lstm.json" and its data file "models/lstm.<id>.bin" are two entries; a
// "directory" is every key that starts with it and a "/".

import type { CheckpointFs } from "./checkpoint.ts";

// The few IndexedDB types used here, declared structurally so that neither this file nor its
// declarations need the DOM library (a Node project type-checks against them too).
interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbStore {
  get(key: string): IdbRequest<unknown>;
  count(key: string): IdbRequest<number>;
  getAllKeys(): IdbRequest<unknown[]>;
  put(value: unknown, key: string): unknown;
  delete(key: string): unknown;
}
interface IdbTransaction {
  readonly error: unknown;
  objectStore(name: string): IdbStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface IdbDatabase {
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: "readonly" | "readwrite"): IdbTransaction;
}
/** The part of the browser's `indexedDB` this storage uses. */
export interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

/** A storage that keeps every file in `files` (path -> bytes); pass your own Map to read them. */
export function memoryCheckpointFs(files: Map<string, Uint8Array> = new Map()): CheckpointFs & { files: Map<string, Uint8Array> } {
  const missing = (f: string) => Object.assign(new Error(`no such file: ${f}`), { code: "ENOENT" });
  return {
    files,
    async writeFileSynced(file, data) {
      files.set(file, data.slice());
    },
    async rename(from, to) {
      const data = files.get(from);
      if (data === undefined) throw missing(from);
      files.set(to, data);
      files.delete(from);
    },
    async unlink(file) {
      if (!files.delete(file)) throw missing(file);
    },
    async readFile(file) {
      const data = files.get(file);
      if (data === undefined) throw missing(file);
      return data.slice();
    },
    async mkdirp() {},
    async syncDir() {},
    async readdir(dir) {
      return childNames([...files.keys()], dir);
    },
  };
}

/** Names directly in `dir` among `keys`. */
function childNames(keys: readonly string[], dir: string): string[] {
  const prefix = dir === "." || dir === "" ? "" : dir.endsWith("/") ? dir : `${dir}/`;
  return keys.filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("/")).map((k) => k.slice(prefix.length));
}

/**
 * A storage in IndexedDB database `dbName` (one object store, "files", keyed by path). Each
 * write is its own transaction, so a rename commits atomically, as on a file system.
 */
export function indexedDbCheckpointFs(dbName = "cellc-checkpoints", factory: IdbFactory | undefined = (globalThis as { indexedDB?: IdbFactory }).indexedDB): CheckpointFs {
  if (factory === undefined) throw new Error("indexedDbCheckpointFs: this environment has no IndexedDB (use memoryCheckpointFs)");
  const STORE = "files";
  let db: Promise<IdbDatabase> | undefined;
  const open = (): Promise<IdbDatabase> =>
    (db ??= new Promise((resolve, reject) => {
      const req = factory.open(dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error instanceof Error ? req.error : new Error(`cannot open IndexedDB database ${dbName}`));
    }));
  /** Runs `work` in one transaction and resolves with what it returned once the transaction commits. */
  const tx = async <T>(mode: "readonly" | "readwrite", work: (s: IdbStore) => T | Promise<T>): Promise<T> => {
    const t = (await open()).transaction(STORE, mode);
    const done = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error instanceof Error ? t.error : new Error("IndexedDB transaction failed"));
      t.onabort = () => reject(t.error instanceof Error ? t.error : new Error("IndexedDB transaction aborted"));
    });
    const value = await work(t.objectStore(STORE));
    await done;
    return value;
  };
  const request = <T>(r: IdbRequest<T>): Promise<T> =>
    new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error instanceof Error ? r.error : new Error("IndexedDB request failed"));
    });
  const missing = (f: string) => Object.assign(new Error(`no such file: ${f}`), { code: "ENOENT" });
  return {
    async writeFileSynced(file, data) {
      await tx("readwrite", (s) => void s.put(data.slice(), file));
    },
    async rename(from, to) {
      await tx("readwrite", async (s) => {
        const data = await request(s.get(from));
        if (data === undefined) throw missing(from);
        s.put(data, to);
        s.delete(from);
      });
    },
    async unlink(file) {
      await tx("readwrite", async (s) => {
        if ((await request(s.count(file))) === 0) throw missing(file);
        s.delete(file);
      });
    },
    async readFile(file) {
      const data = await tx("readonly", (s) => request(s.get(file)));
      if (!(data instanceof Uint8Array)) throw missing(file);
      return data;
    },
    async mkdirp() {},
    async syncDir() {},
    async readdir(dir) {
      const keys = await tx("readonly", (s) => request(s.getAllKeys()));
      return childNames(keys.filter((k): k is string => typeof k === "string"), dir);
    },
  };
}
