// Checkpoint storage on Node: real files, each written to a temp name, fsynced and renamed (see
// checkpoint.ts for the protocol). The Node runtime entry (index.ts) makes this the default.

import { promises as fsp } from "node:fs";
import type { CheckpointFs } from "./checkpoint.ts";

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
