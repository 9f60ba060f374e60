// Saving and loading weights: a JSON header (format, dtype, the data file's name, byte length
// and checksum, and per weight its name, shape, byte offset and length) next to a binary file
// of little-endian float32 values.
//
// Atomicity: the data file gets a fresh name each save and is written to a temp file, fsynced
// and renamed; then the header is written the same way and renamed over the old header, which
// is the commit point; only then is the previous data file removed. A crash at any moment leaves
// either the old header with its old data file or the new header with its new one.
// The file system is injectable (CheckpointFs) so tests can make a step fail halfway.

import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { shapeString } from "./tensor.ts";

export interface NamedWeight {
  /** "layer/param", unique in the model. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

export interface CheckpointFs {
  /** Writes the whole file and fsyncs it. */
  writeFileSynced(file: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  readFile(file: string): Promise<Uint8Array>;
  mkdirp(dir: string): Promise<void>;
  /** fsyncs a directory so a rename in it is durable (best effort where unsupported). */
  syncDir(dir: string): Promise<void>;
}

export const nodeCheckpointFs: CheckpointFs = {
  async writeFileSynced(file, data) {
    const fh = await fsp.open(file, "w");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (a, b) => fsp.rename(a, b),
  unlink: (f) => fsp.unlink(f),
  readFile: async (f) => new Uint8Array(await fsp.readFile(f)),
  mkdirp: async (d) => {
    await fsp.mkdir(d, { recursive: true });
  },
  async syncDir(dir) {
    let fh;
    try {
      fh = await fsp.open(dir, "r");
      await fh.sync();
    } catch {
      // Some platforms cannot fsync a directory; the rename is still atomic.
    } finally {
      await fh?.close();
    }
  },
};

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

/** The header path for a user path: "dir/model" and "dir/model.json" both mean dir/model.json. */
export function headerPath(p: string): string {
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
  if (os.endianness() !== "LE") throw new Error("weights files are little-endian; this big-endian platform is not supported");
}

let saveCounter = 0;

/** Writes weights atomically to `file` (header) and a data file beside it; returns the header path. */
export async function saveWeights(weights: readonly NamedWeight[], file: string, opts: CheckpointOptions = {}): Promise<string> {
  checkEndianness();
  const fs = opts.fs ?? nodeCheckpointFs;
  const hdrPath = headerPath(file);
  const dir = path.dirname(hdrPath);
  const stem = path.basename(hdrPath, ".json");
  const dataName = `${stem}.${Date.now().toString(36)}-${process.pid.toString(36)}-${(saveCounter++).toString(36)}.bin`;
  const dataPath = path.join(dir, dataName);

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
    const old = JSON.parse(new TextDecoder().decode(await fs.readFile(hdrPath))) as Partial<Header>;
    if (typeof old.data === "string" && !old.data.includes("/") && !old.data.includes("\\")) oldData = path.join(dir, old.data);
  } catch {
    oldData = undefined;
  }

  const dataTmp = `${dataPath}.tmp`;
  const hdrTmp = `${hdrPath}.${process.pid}.tmp`;
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
  return hdrPath;
}

/** Reads a checkpoint, checks it fits `weights` (names, order, shapes) and only then copies the values in. */
export async function loadWeights(weights: readonly NamedWeight[], file: string, opts: CheckpointOptions = {}): Promise<void> {
  checkEndianness();
  const fs = opts.fs ?? nodeCheckpointFs;
  const hdrPath = headerPath(file);
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(hdrPath));
  } catch (e) {
    throw new Error(`cannot read weights header ${hdrPath}: ${(e as Error).message}`);
  }
  let header: Header;
  try {
    header = JSON.parse(text) as Header;
  } catch (e) {
    throw new Error(`${hdrPath} is not a weights header (invalid JSON: ${(e as Error).message})`);
  }
  if (header?.format !== "cellc-weights" || header.dtype !== "float32" || !Array.isArray(header.weights) || typeof header.data !== "string") {
    throw new Error(`${hdrPath} is not a cellc float32 weights header`);
  }
  if (header.version !== 1) throw new Error(`${hdrPath} has format version ${String(header.version)}; this runtime reads version 1`);

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
    if (!same) {
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

  const dataPath = path.join(path.dirname(hdrPath), header.data);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(dataPath);
  } catch (e) {
    throw new Error(`cannot read weights data ${dataPath} named by ${hdrPath}: ${(e as Error).message}`);
  }
  if (bytes.length !== header.byteLength) throw new Error(`weights data ${dataPath} has ${bytes.length} bytes; its header says ${header.byteLength}`);
  if (fnv1a(bytes) !== header.checksum) throw new Error(`weights data ${dataPath} is corrupt (checksum mismatch)`);
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const values = new Float32Array(aligned.buffer);
  for (let i = 0; i < ws.length; i++) {
    const c = ws[i]!;
    if (c.length !== weights[i]!.value.length || c.offset % 4 !== 0 || c.offset + c.length * 4 > bytes.length) {
      throw new Error(`${hdrPath}: weight '${c.name}' has an invalid offset or length`);
    }
  }
  for (let i = 0; i < ws.length; i++) {
    const c = ws[i]!;
    weights[i]!.value.set(values.subarray(c.offset / 4, c.offset / 4 + c.length));
  }
}
