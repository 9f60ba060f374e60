// Checkpoint storage on Node: real files, each written to a temp name, fsynced and renamed (see
// checkpoint.ts for the protocol). The Node runtime entry (index.ts) makes this the default.
//
// Reading trusts the path no more than the file's content: only a regular file is read (a FIFO
// with no writer would block the read forever, /dev/zero would grow it without bound), opened
// non-blocking and checked with fstat on that same descriptor, and never past the size the caller
// expects (a header's cap; a data file's size as its header declares it).

import { constants, promises as fsp, type Stats } from "node:fs";
import type { CheckpointFs } from "./checkpoint.ts";

/** A regular file's bytes, at most `maxBytes` of them; anything else is refused with the reason. */
async function readRegularFile(file: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  const fh = await fsp.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`it is ${kind(st)}, not a regular file`);
    const tooBig = (size: string) => new Error(`it is ${size} bytes; at most ${maxBytes.toLocaleString("en-US")} were expected`);
    if (st.size > maxBytes) throw tooBig(st.size.toLocaleString("en-US"));
    // Read to the end rather than st.size bytes (the file may grow while it is read), never past the cap.
    let out = new Uint8Array(Math.min(st.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      if (total > maxBytes) throw tooBig(`over ${maxBytes.toLocaleString("en-US")}`);
      if (total === out.length) {
        const grown = new Uint8Array(Math.min(2 * out.length, maxBytes + 1));
        grown.set(out);
        out = grown;
      }
      const { bytesRead } = await fh.read(out, total, out.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return out.subarray(0, total);
  } finally {
    await fh.close();
  }
}

function kind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "something else";
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
  readdir: (d) => fsp.readdir(d),
  unlink: (f) => fsp.unlink(f),
  readFile: readRegularFile,
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
