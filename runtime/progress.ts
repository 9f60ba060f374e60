// Training progress for fit(): on a terminal, one line per epoch redrawn in place
// (epoch, bar, batch i/n, ETA, running loss and metrics); when the stream is not a terminal
// (a log file, CI), one plain line per finished epoch and no control characters.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type Logs = Record<string, number>;

/** Running sums of logged means over batches, each weighted by how many positions it averaged. */
export class LogSums {
  private readonly sums = new Map<string, { s: number; n: number }>();
  add(name: string, value: number, count: number): void {
    const e = this.sums.get(name) ?? { s: 0, n: 0 };
    e.s += value * count;
    e.n += count;
    this.sums.set(name, e);
  }
  logs(): Logs {
    const out: Logs = {};
    for (const [k, e] of this.sums) out[k] = e.n > 0 ? e.s / e.n : 0;
    return out;
  }
}

/** Where progress goes by default: the process's stdout on Node; in a browser, the console,
 *  one message per finished line. */
export function defaultProgressStream(): ProgressStream {
  const stdout = (globalThis as { process?: { stdout?: ProgressStream } }).process?.stdout;
  if (stdout !== undefined) return stdout;
  let pending = "";
  return {
    write(s: string) {
      const lines = (pending + s).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) console.log(line);
    },
  };
}

export interface ProgressOptions {
  stream?: ProgressStream;
  epochs: number;
  batches: number;
  /** 1: bar on a TTY, plain lines otherwise. 2: plain lines always. */
  verbose: 1 | 2;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k}: ${formatNumber(v)}`)
    .join(" - ");
}

function formatNumber(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private epochStartMs = 0;
  private lastDraw = -Infinity;
  private epoch = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? defaultProgressStream();
    this.tty = opts.verbose === 1 && this.stream.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
  }

  epochStart(epoch: number): void {
    this.epoch = epoch;
    this.epochStartMs = this.now();
    this.lastDraw = -Infinity;
  }

  /** After batch `done` (1-based) of the epoch. */
  batchEnd(done: number, logs: Logs): void {
    if (!this.tty) return;
    const t = this.now();
    if (done < this.opts.batches && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const elapsed = (t - this.epochStartMs) / 1000;
    const eta = (elapsed / done) * (this.opts.batches - done);
    this.draw(`${this.bar(done)} - ETA ${formatDuration(eta)} - ${formatLogs(logs)}`);
  }

  epochEnd(logs: Logs): void {
    const seconds = (this.now() - this.epochStartMs) / 1000;
    const n = this.opts.batches;
    if (this.tty) {
      this.draw(`${this.bar(n)} - ${formatDuration(seconds)} - ${formatLogs(logs)}`);
      this.stream.write("\n");
    } else {
      this.stream.write(`${this.head()} - ${n}/${n} batches - ${formatDuration(seconds)} - ${formatLogs(logs)}\n`);
    }
  }

  private head(): string {
    const w = String(this.opts.epochs).length;
    return `Epoch ${String(this.epoch + 1).padStart(w)}/${this.opts.epochs}`;
  }

  private bar(done: number): string {
    const n = this.opts.batches;
    const width = 20;
    const filled = n > 0 ? Math.round((done / n) * width) : width;
    const arrow = filled < width ? ">" : "";
    const body = "=".repeat(Math.max(0, filled - arrow.length)) + arrow + ".".repeat(width - filled);
    const w = String(n).length;
    return `${this.head()} [${body}] ${String(done).padStart(w)}/${n}`;
  }

  private draw(line: string): void {
    const cols = this.stream.columns ?? 120;
    const text = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
    this.stream.write(`\r\x1b[2K${text}`);
  }
}
