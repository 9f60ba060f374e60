// The one way cellc reads a text file it was pointed at (a spec, an import, a config): only a
// regular file, only up to a size cap, and never blocking. A FIFO or a device would otherwise
// block the read forever (a FIFO with no writer) or grow it without bound (/dev/zero).
//
// The file is opened non-blocking (opening a FIFO for reading would otherwise wait for a writer)
// and checked with fstat on that same descriptor, so it cannot be swapped between check and read.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

/** The largest spec (or imported file) cellc reads: 1 MiB. */
export const MAX_SPEC_BYTES = 1 << 20;

/** Why a file could not be read, in words for a user ("no such file", "it is a FIFO ..."). */
export class FileReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read '${file}': ${reason}`);
    this.name = "FileReadError";
  }
}

/**
 * The UTF-8 text of `file`. Throws FileReadError when it is missing, unreadable, not a regular
 * file, or larger than `maxBytes` (`what` names the kind of file in that message: "a spec").
 */
export function readTextFile(file: string, maxBytes: number, what = "a file"): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new FileReadError(file, describeFsError(e));
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw new FileReadError(file, describeFsError(e));
    }
    if (!st.isFile()) throw new FileReadError(file, notRegular(st));
    const tooBig = (size: string) =>
      new FileReadError(file, `it is ${size} bytes; ${what} may be at most ${bytes(maxBytes)} bytes`);
    if (st.size > maxBytes) throw tooBig(bytes(st.size));
    // Read to the end rather than st.size bytes: the file may change while it is read.
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1, 64 * 1024));
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw new FileReadError(file, describeFsError(e));
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooBig(`over ${bytes(maxBytes)}`);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function notRegular(st: Stats): string {
  if (st.isDirectory()) return "it is a directory";
  const kind = st.isFIFO()
    ? "a FIFO (named pipe)"
    : st.isCharacterDevice()
      ? "a character device"
      : st.isBlockDevice()
        ? "a block device"
        : st.isSocket()
          ? "a socket"
          : "not a regular file";
  return `it is ${kind}, not a regular file`;
}

function bytes(n: number): string {
  return n.toLocaleString("en-US");
}

/** A file-system error in words. */
export function describeFsError(e: unknown): string {
  if (e instanceof FileReadError) return e.reason;
  const code = (e as { code?: string } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "it is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "a parent is not a directory";
  if (code === "ELOOP") return "too many symbolic links";
  if (code === "ENAMETOOLONG") return "the name is too long";
  return e instanceof Error ? e.message : String(e);
}
