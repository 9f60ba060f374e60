// A study's progress: runs done out of the total and an ETA from the training sequences done so
// far (every run has the same budget; a run that ends early counts as done). On a terminal one
// status line is redrawn in place, with each finished run printed above it; elsewhere (a log
// file, CI) one plain line per finished run, with the count and the ETA, and no control characters.

import { formatDuration, type ProgressStream } from "../runtime/index.ts";

export class StudyProgress {
  private readonly seen = new Map<number, number>();
  private finished = 0;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private readonly tty: boolean;
  private extra = "";

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly budget: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
    this.tty = stream.isTTY === true;
  }

  /** Fraction of all training done, and the estimated seconds left ("?" before any). */
  estimate(): { fraction: number; eta: number } {
    let done = 0;
    for (const s of this.seen.values()) done += Math.min(s, this.budget);
    const fraction = this.total === 0 ? 1 : done / (this.total * this.budget);
    const elapsed = (this.now() - this.t0) / 1000;
    return { fraction, eta: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN };
  }

  progress(id: number, seen: number): void {
    this.seen.set(id, seen);
    if (!this.tty) return;
    const t = this.now();
    if (t - this.lastDraw < 250) return;
    this.lastDraw = t;
    this.draw();
  }

  /** A run is finished; `line` says how it went. */
  done(id: number, line: string): void {
    this.finished++;
    this.seen.set(id, this.budget);
    const { eta } = this.estimate();
    const count = `[${String(this.finished).padStart(String(this.total).length)}/${this.total}]`;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${count} ${line}\n`);
      if (this.finished < this.total) this.draw();
    } else {
      const left = this.finished < this.total ? ` - ETA ${formatDuration(eta)}${this.extra}` : "";
      this.stream.write(`${count} ${line}${left}\n`);
    }
  }

  /** A few words shown after the ETA from now on (a job queue's counts and rate). */
  note(text: string): void {
    this.extra = text === "" ? "" : ` - ${text}`;
  }

  /** Clears the status line (terminal). */
  end(): void {
    if (this.tty) this.stream.write("\r\x1b[2K");
  }

  private draw(): void {
    const { fraction, eta } = this.estimate();
    const running = [...this.seen.values()].filter((s) => s < this.budget).length;
    const elapsed = formatDuration((this.now() - this.t0) / 1000);
    const line = `study: ${this.finished}/${this.total} runs done, ${running} running - ${Math.floor(fraction * 100)}% of training - ${elapsed} elapsed - ETA ${formatDuration(eta)}${this.extra}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${line.length > cols - 1 ? line.slice(0, cols - 1) : line}`);
  }
}
