// When the language server checks which open document. A change marks the changed document and
// the open documents that import it (directly or through other files: what each one's last check
// read) as out of date; nothing is checked until the edits pause for `delayMs`, so a burst of
// keystrokes costs one check of the file being typed in, and none of an unrelated file. The
// queued checks then run one document at a time, yielding between documents: a newer edit
// supersedes the rest of the pass (the documents stay queued, behind a new pause), and a request
// (hover, completion) for an out-of-date document checks that one document at once.

export interface CheckHooks {
  /** Checks the document's current text (and caches the result). */
  check(uri: string): void;
  /** Sends the diagnostics of the document's last check. */
  publish(uri: string): void;
  /** The open documents whose last check read this document's file. */
  importersOf(uri: string): readonly string[];
  /** A check or a publish threw (a cellc bug): reported, and the pass goes on. */
  failed(uri: string, error: unknown): void;
}

/** The pause after the last edit before checking, unless the client asks for another (tests). */
export const DEFAULT_CHECK_DELAY_MS = 150;

export class CheckQueue {
  /** Documents whose cached check is older than their text or their imports' text. */
  private readonly stale = new Set<string>();
  /** Documents whose diagnostics for the current text have not been sent, in the order queued. */
  private readonly unpublished = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by every edit: a pass that sees it change stops and leaves the rest to the next one. */
  private generation = 0;

  constructor(
    private readonly hooks: CheckHooks,
    public delayMs = DEFAULT_CHECK_DELAY_MS,
  ) {}

  /** The document was opened or edited: it and its importers need checking. */
  changed(uri: string): void {
    this.mark([uri, ...this.hooks.importersOf(uri)]);
  }

  /** The document was closed: it needs nothing; its importers now read it from disk. */
  closed(uri: string): void {
    const importers = this.hooks.importersOf(uri).filter((u) => u !== uri);
    this.stale.delete(uri);
    this.unpublished.delete(uri);
    this.mark(importers);
  }

  /** Makes the document's cached check current (for a request about it); returns at once if it is. */
  ensureFresh(uri: string): void {
    if (!this.stale.has(uri)) return;
    this.stale.delete(uri);
    this.hooks.check(uri);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.generation++;
  }

  private mark(uris: readonly string[]): void {
    for (const u of uris) {
      this.stale.add(u);
      this.unpublished.add(u);
    }
    this.generation++;
    clearTimeout(this.timer);
    const generation = this.generation;
    this.timer = setTimeout(() => void this.pass(generation), this.delayMs);
  }

  private async pass(generation: number): Promise<void> {
    for (;;) {
      if (generation !== this.generation) return;
      const next = this.unpublished.values().next();
      if (next.done) return;
      this.unpublished.delete(next.value);
      try {
        this.ensureFresh(next.value);
        this.hooks.publish(next.value);
      } catch (e) {
        this.hooks.failed(next.value, e);
      }
      // Let pending messages (a newer edit, a request) in before the next document.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
