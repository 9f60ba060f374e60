// The one URL form `--queue` takes, read without loading Redis's client (so that a typo is a usage
// error even where the client is not installed):
//
//   redis://HOST:PORT[/DB]      (also rediss:// for TLS, and redis://:PASSWORD@HOST:PORT/DB)

/** A queue URL that cannot be used, or a Redis that cannot be reached: one line for the user. */
export class QueueError extends Error {
  override name = "QueueError";
}

export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
  /** The URL without its password, for messages and reports. */
  shown: string;
}

/** Parses `redis://HOST:PORT[/DB]`; throws QueueError saying what is wrong. */
export function parseQueueUrl(text: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new QueueError(`--queue expects redis://HOST:PORT[/DB], got '${text}'`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new QueueError(`--queue expects redis://HOST:PORT[/DB], got '${text}' (scheme '${u.protocol.slice(0, -1)}')`);
  if (u.hostname === "") throw new QueueError(`--queue URL '${text}' has no host`);
  const port = u.port === "" ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, "");
  if (!/^\d*$/.test(path) || Number(path) > 15) throw new QueueError(`--queue URL '${text}': the database after the port must be a number from 0 to 15, got '${path}'`);
  if (u.search !== "" || u.hash !== "") throw new QueueError(`--queue URL '${text}' takes no query or fragment`);
  const shown = `${u.protocol}//${u.hostname}${u.port === "" ? "" : `:${u.port}`}${path === "" ? "" : `/${path}`}`;
  const address: QueueAddress = { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port, db: Number(path || "0"), tls: u.protocol === "rediss:", shown };
  if (u.username !== "") address.username = decodeURIComponent(u.username);
  if (u.password !== "") address.password = decodeURIComponent(u.password);
  return address;
}

