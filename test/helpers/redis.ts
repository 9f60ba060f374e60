// A Redis of a test's own: redis-server on a free port, in a temporary directory, persisting with
// its append-only file (as a study's Redis should), stopped (and its directory removed) after. It
// is ready when it says so on its standard output (an event, not a clock). Also: a child process
// whose output lines a test can wait for.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((f) => existsSync(f));

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops it (SIGTERM: it writes its append-only file first) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (reloading the append-only file). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "cellc-redis-"));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn(REDIS_SERVER!, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", "", "--daemonize", "no"], { stdio: ["ignore", "pipe", "pipe"] });
      proc = p;
      let out = "";
      p.stdout!.setEncoding("utf8").on("data", (s: string) => {
        out += s;
        if (/Ready to accept connections/.test(out)) resolve();
      });
      p.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
    });
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    restart: launch,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A child process whose standard output and error a test can read and wait on, line by line. */
export class Proc {
  readonly child: ChildProcess;
  out = "";
  err = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchers: Array<() => void> = [];

  constructor(command: string, args: readonly string[], cwd: string) {
    this.child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      this.out += s;
      this.poke();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      this.err += s;
      this.poke();
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Resolves when what it prints (stdout, then stderr; with `onlyNew`, only what it prints from
   *  now on) matches `re`; rejects if the process exits first without it. */
  waitFor(re: RegExp, onlyNew = false): Promise<RegExpMatchArray> {
    const start = { out: this.out.length, err: this.err.length };
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const text = !onlyNew ? this.out + this.err : this.out.slice(start.out) + this.err.slice(start.err);
        const m = text.match(re);
        if (m) resolve(m);
        return m !== null;
      };
      if (check()) return;
      this.watchers.push(() => void check());
      void this.exited.then(() => {
        if (!check()) reject(new Error(`exited before printing ${re}:\n${this.out}\n${this.err}`));
      });
    });
  }

  /** Stops it (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }

  private poke(): void {
    for (const w of this.watchers) w();
  }
}
