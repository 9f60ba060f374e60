// Saving and loading weights: a JSON header (format, dtype, the data file's name, byte length
// and checksum, and per weight its name, shape, byte offset and length) next to a binary file
// of little-endian float32 values.
//
// Atomicity: the data file gets a fresh name each save and is written to a temp file, fsynced
// and renamed; then the header is written the same way and renamed over the old header, which
// is the commit point; only then is the previous data file removed. A crash at any moment leaves
// either the old header with its old data file or the new header with its new one. Files a
// crashed save left behind (temp files, a data file no header names) are removed by the next
// successful save of the same checkpoint; one process should write a checkpoint at a time.
// The storage is an interface (CheckpointFs): files on Node (checkpoint-node.ts), IndexedDB or
// memory in a browser (checkpoint-browser.ts); tests inject one that fails halfway.
//
// Loading trusts nothing in the files: the header's every field is checked (offsets in range and
// not overlapping, shapes, lengths), the data's length and checksum, and every value is finite,
// before a single weight is overwritten.

import { describeValue } from "./describe.ts";
import { MAX_RANK } from "./interop/tensor.ts";
import { shapeString } from "./tensor.ts";

export interface NamedWeight {
  /** "layer/param", unique in the model. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

/**
 * Where checkpoints are stored: files on Node (nodeCheckpointFs in checkpoint-node.ts), IndexedDB
 * or memory in a browser (checkpoint-browser.ts), or anything else that can hold named bytes.
 * Paths use "/" (a "\\" separates too); a storage without directories may ignore mkdirp/syncDir.
 */
export interface CheckpointFs {
  /** Writes the whole file and fsyncs it. */
  writeFileSynced(file: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  /** The file's bytes. With `maxBytes`, a larger file is refused (rejects) instead of read; on
   *  Node, anything but a regular file (a FIFO, a device) is refused too. */
  readFile(file: string, maxBytes?: number): Promise<Uint8Array>;
  mkdirp(dir: string): Promise<void>;
  /** fsyncs a directory so a rename in it is durable (best effort where unsupported). */
  syncDir(dir: string): Promise<void>;
  /** Names in a directory; without it, files left by a crashed save are not cleaned up. */
  readdir?(dir: string): Promise<string[]>;
}

/** The same interface under the name the browser documentation uses. */
export type CheckpointStorage = CheckpointFs;

let defaultFs: CheckpointFs | undefined;

/** The storage save/load use when no `fs` option is given; each runtime entry sets its own
 *  (cellc/runtime on Node: files; in a browser: IndexedDB, or memory where there is none). */
export function setDefaultCheckpointFs(fs: CheckpointFs): void {
  defaultFs = fs;
}

/** The storage of `opts.fs`, else the runtime entry's default (files on Node, IndexedDB in a browser). */
export function storage(opts: { fs?: CheckpointFs }): CheckpointFs {
  const fs = opts.fs ?? defaultFs;
  if (fs === undefined) throw new Error("no checkpoint storage: pass { fs } (a CheckpointFs) or import the runtime through cellc/runtime");
  return fs;
}

// Paths without node:path, so this file runs in a browser: "/" or "\\" separate.
function dirname(p: string): string {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? p.slice(0, 1) : p.slice(0, i);
}

function basename(p: string, ext: string): string {
  const base = p.slice(Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\")) + 1);
  return base.endsWith(ext) ? base.slice(0, base.length - ext.length) : base;
}

function join(dir: string, name: string): string {
  return dir === "." ? name : /[\\/]$/.test(dir) ? dir + name : `${dir}/${name}`;
}

/** This process's id where there is one (Node), else a random number fixed for the page. */
const processId: number = (globalThis as { process?: { pid?: number } }).process?.pid ?? Math.floor(Math.random() * 1e9);

export interface CheckpointOptions {
  fs?: CheckpointFs;
}

interface HeaderWeight {
  name: string;
  shape: number[];
  /** Byte offset into the data file. */
  offset: number;
  /** Number of float32 values. */
  length: number;
}

interface Header {
  format: "cellc-weights";
  version: 1;
  dtype: "float32";
  endianness: "little";
  /** Data file name, relative to the header's directory. */
  data: string;
  byteLength: number;
  /** FNV-1a 32-bit hash of the data file, hex. */
  checksum: string;
  weights: HeaderWeight[];
}

/** The largest weights header read: 64 MiB (a header lists names and shapes, not values). */
export const MAX_HEADER_BYTES = 64 << 20;

/**
 * Whether `shape` (from a file) is a shape: an array of at most MAX_RANK sizes (non-negative safe
 * integers) whose product is a safe integer. Nothing here recurses into it, so an array nested
 * 10,000 deep or a size of 1e39 is refused before anything multiplies or prints it. Every reader
 * of a checkpoint header (loadWeights, cellc export --weights, loadTorchWeights) asks this.
 */
export function isShape(shape: unknown): shape is number[] {
  if (!Array.isArray(shape) || shape.length > MAX_RANK) return false;
  let size = 1;
  for (const d of shape) {
    if (!isCount(d)) return false;
    size *= d;
  }
  return Number.isSafeInteger(size);
}

/** The header path for a user path: "dir/model" and "dir/model.json" both mean dir/model.json. */
export function headerPath(p: string): string {
  if (typeof p !== "string" || p === "") throw new Error(`a checkpoint path must be a non-empty string, got ${describeValue(p)}`);
  return p.endsWith(".json") ? p : `${p}.json`;
}

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function checkEndianness(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("weights files are little-endian; this big-endian platform is not supported");
}

let saveCounter = 0;

/** Writes weights atomically to `file` (header) and a data file beside it; returns the header path. */
export async function saveWeights(weights: readonly NamedWeight[], file: string, opts: CheckpointOptions = {}): Promise<string> {
  checkEndianness();
  const fs = storage(opts);
  const hdrPath = headerPath(file);
  const dir = dirname(hdrPath);
  const stem = basename(hdrPath, ".json");
  const dataName = `${stem}.${Date.now().toString(36)}-${processId.toString(36)}-${(saveCounter++).toString(36)}.bin`;
  const dataPath = join(dir, dataName);

  const bad = firstNonFinite(weights);
  if (bad) throw new Error(`not saving weights to ${hdrPath}: ${bad}; a checkpoint holds finite numbers only`);
  const total = weights.reduce((s, w) => s + w.value.length, 0);
  const values = new Float32Array(total);
  const entries: HeaderWeight[] = [];
  let o = 0;
  for (const w of weights) {
    values.set(w.value, o);
    entries.push({ name: w.name, shape: [...w.shape], offset: o * 4, length: w.value.length });
    o += w.value.length;
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const header: Header = {
    format: "cellc-weights",
    version: 1,
    dtype: "float32",
    endianness: "little",
    data: dataName,
    byteLength: bytes.length,
    checksum: fnv1a(bytes),
    weights: entries,
  };

  // Which data file the current header names, to remove once the new one is committed.
  let oldData: string | undefined;
  try {
    const old = JSON.parse(new TextDecoder().decode(await fs.readFile(hdrPath, MAX_HEADER_BYTES))) as Partial<Header>;
    if (typeof old.data === "string" && !old.data.includes("/") && !old.data.includes("\\")) oldData = join(dir, old.data);
  } catch {
    oldData = undefined;
  }

  const dataTmp = `${dataPath}.tmp`;
  const hdrTmp = `${hdrPath}.${processId}.tmp`;
  let committed = false;
  try {
    await fs.mkdirp(dir);
    await fs.writeFileSynced(dataTmp, bytes);
    await fs.rename(dataTmp, dataPath);
    await fs.writeFileSynced(hdrTmp, new TextEncoder().encode(JSON.stringify(header, null, 1) + "\n"));
    await fs.rename(hdrTmp, hdrPath);
    committed = true;
    await fs.syncDir(dir);
  } catch (e) {
    if (!committed) {
      for (const f of [dataTmp, dataPath, hdrTmp]) await fs.unlink(f).catch(() => undefined);
      throw new Error(`saving weights to ${hdrPath} failed (${(e as Error).message}); the previous checkpoint, if any, is unchanged`);
    }
    throw new Error(`saving weights to ${hdrPath}: ${(e as Error).message}`);
  }
  if (oldData && oldData !== dataPath) await fs.unlink(oldData).catch(() => undefined);
  await removeLeftovers(fs, dir, stem, dataName);
  return hdrPath;
}

/** Files of checkpoint `stem` in `dir` that no header names any more: data files (and temp
 *  files) of saves that crashed before their commit. Another checkpoint's files never match. */
async function removeLeftovers(fs: CheckpointFs, dir: string, stem: string, keep: string): Promise<void> {
  if (!fs.readdir) return;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  // Data files are stem.<time>-<pid>-<counter>.bin (base 36), written as .bin.tmp first; header
  // temp files are stem.json.<pid>.tmp. The stem is compared as a string (no pattern is built
  // from a file name), the rest by a fixed pattern.
  const ours = /^(?:[0-9a-z]+-[0-9a-z]+-[0-9a-z]+\.bin(?:\.tmp)?|json\.[0-9]+\.tmp)$/;
  for (const name of names) {
    if (name !== keep && name.startsWith(`${stem}.`) && ours.test(name.slice(stem.length + 1))) await fs.unlink(join(dir, name)).catch(() => undefined);
  }
}

/** The first NaN or ±Infinity in the weights, in words, if any. */
function firstNonFinite(weights: readonly { name: string; value: Float32Array }[]): string | undefined {
  for (const w of weights) {
    const v = w.value;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return `weight '${w.name}' holds ${v[i]} at index ${i}`;
  }
  return undefined;
}

/** Reads a checkpoint, checks it fits `weights` (names, order, shapes) and only then copies the values in. */
export async function loadWeights(weights: readonly NamedWeight[], file: string, opts: CheckpointOptions = {}): Promise<void> {
  checkEndianness();
  const fs = storage(opts);
  const hdrPath = headerPath(file);
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(hdrPath, MAX_HEADER_BYTES));
  } catch (e) {
    throw new Error(`cannot read weights header ${hdrPath}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${hdrPath} is not a weights header (invalid JSON: ${(e as Error).message})`);
  }
  const header = checkHeader(parsed, hdrPath);

  const ws = header.weights;
  const n = Math.min(ws.length, weights.length);
  for (let i = 0; i < n; i++) {
    const m = weights[i]!;
    const c = ws[i]!;
    if (c.name !== m.name) {
      throw new Error(
        `checkpoint ${hdrPath} does not fit the model: weight #${i} is '${m.name}' ${shapeString(m.shape)} in the model but '${c.name}' ${shapeString(c.shape)} in the checkpoint`,
      );
    }
    const same = c.shape.length === m.shape.length && c.shape.every((d, j) => d === m.shape[j]);
    if (!same || c.length !== m.value.length) {
      throw new Error(`checkpoint ${hdrPath} does not fit the model: weight '${m.name}' has shape ${shapeString(c.shape)} in the checkpoint but ${shapeString(m.shape)} in the model`);
    }
  }
  if (weights.length > ws.length) {
    const m = weights[ws.length]!;
    throw new Error(`checkpoint ${hdrPath} does not fit the model: the model's weight '${m.name}' ${shapeString(m.shape)} is missing from the checkpoint`);
  }
  if (ws.length > weights.length) {
    const c = ws[weights.length]!;
    throw new Error(`checkpoint ${hdrPath} does not fit the model: the checkpoint has weight '${c.name}' ${shapeString(c.shape)} that the model lacks`);
  }

  const dataPath = join(dirname(hdrPath), header.data);
  let bytes: Uint8Array;
  try {
    // Never more than the header declares (the length check below says so if it differs).
    bytes = await fs.readFile(dataPath, header.byteLength);
  } catch (e) {
    throw new Error(`cannot read weights data ${dataPath} named by ${hdrPath}: ${(e as Error).message}`);
  }
  if (bytes.length !== header.byteLength) throw new Error(`weights data ${dataPath} has ${bytes.length} bytes; its header says ${header.byteLength}`);
  if (fnv1a(bytes) !== header.checksum) throw new Error(`weights data ${dataPath} is corrupt (checksum mismatch)`);
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const values = new Float32Array(aligned.buffer);
  const stored = ws.map((c) => ({ name: c.name, value: values.subarray(c.offset / 4, c.offset / 4 + c.length) }));
  const bad = firstNonFinite(stored);
  if (bad) throw new Error(`weights data ${dataPath}: ${bad}; nothing was loaded`);
  for (let i = 0; i < ws.length; i++) weights[i]!.value.set(stored[i]!.value);
}

/** The header's fields, each checked; the message names the field and what it holds. */
function checkHeader(h: unknown, hdrPath: string): Header {
  const bad = (what: string): never => {
    throw new Error(`${hdrPath} is not a valid weights header: ${what}`);
  };
  if (!isRecord(h)) return bad(`expected an object, got ${show(h)}`);
  if (h["format"] !== "cellc-weights" || h["dtype"] !== "float32") {
    throw new Error(`${hdrPath} is not a cellc float32 weights header`);
  }
  if (h["version"] !== 1) throw new Error(`${hdrPath} has format version ${show(h["version"])}; this runtime reads version 1`);
  const data = h["data"];
  // Only a file beside the header: a header must not point elsewhere on the disk.
  if (typeof data !== "string" || data === "" || data === "." || data === ".." || /[\\/]/.test(data)) {
    return bad(`"data" must name a file beside the header, got ${show(data)}`);
  }
  const byteLength = h["byteLength"];
  if (!isCount(byteLength) || byteLength % 4 !== 0) return bad(`"byteLength" must be a whole number of float32s in bytes, got ${show(byteLength)}`);
  const checksum = h["checksum"];
  if (typeof checksum !== "string" || !/^[0-9a-f]{8}$/.test(checksum)) return bad(`"checksum" must be 8 hex digits, got ${show(checksum)}`);
  const list = h["weights"];
  if (!Array.isArray(list)) return bad(`"weights" must be an array, got ${show(list)}`);
  const weights: HeaderWeight[] = list.map((w: unknown, i): HeaderWeight => {
    const at = `weights[${i}]`;
    if (!isRecord(w)) return bad(`${at} must be an object, got ${show(w)}`);
    const { name, shape, offset, length } = w;
    if (typeof name !== "string" || name === "") return bad(`${at}.name must be a non-empty string, got ${show(name)}`);
    const of = `${at} ('${name}')`;
    if (!isShape(shape)) return bad(`${of}.shape must be an array of sizes, got ${show(shape)}`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!isCount(length) || length !== size) return bad(`${of}.length must be ${size} (the product of its shape), got ${show(length)}`);
    if (!isCount(offset) || offset % 4 !== 0) return bad(`${of}.offset must be a byte offset that is a multiple of 4, got ${show(offset)}`);
    if (offset + length * 4 > byteLength) {
      return bad(`${of} spans bytes ${offset} to ${offset + length * 4}, past the end of the data (${byteLength} bytes)`);
    }
    return { name, shape, offset, length };
  });
  const byOffset = weights.map((w, i) => ({ w, i })).sort((a, b) => a.w.offset - b.w.offset);
  for (let k = 1; k < byOffset.length; k++) {
    const a = byOffset[k - 1]!;
    const b = byOffset[k]!;
    if (a.w.offset + a.w.length * 4 > b.w.offset && b.w.length > 0) {
      return bad(`weights[${a.i}] ('${a.w.name}') and weights[${b.i}] ('${b.w.name}') overlap in the data (bytes ${b.w.offset} to ${a.w.offset + a.w.length * 4})`);
    }
  }
  return { format: "cellc-weights", version: 1, dtype: "float32", endianness: "little", data, byteLength, checksum, weights };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** A JSON value as an error shows it: short, and never deeper than a few levels (a value from a
 *  file may be nested 10,000 deep; JSON.stringify of it would overflow the stack). */
function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const limit = 60;
  let text = "";
  const put = (x: unknown, depth: number): void => {
    if (Array.isArray(x) || isRecord(x)) {
      if (depth === 4) {
        text += Array.isArray(x) ? "[...]" : "{...}";
        return;
      }
      const entries = Array.isArray(x) ? x.map((e) => [undefined, e] as const) : Object.entries(x);
      text += Array.isArray(x) ? "[" : "{";
      for (let i = 0; i < entries.length && text.length <= limit; i++) {
        if (i > 0) text += ",";
        const [key, value] = entries[i]!;
        if (key !== undefined) text += `${JSON.stringify(key)}:`;
        put(value, depth + 1);
      }
      text += Array.isArray(x) ? "]" : "}";
    } else text += JSON.stringify(x) ?? String(x);
  };
  put(v, 0);
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}
