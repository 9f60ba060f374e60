// Source positions and spans: every AST node and every diagnostic points back into the text.

export interface Pos {
  /** 0-based character offset into the source text. */
  offset: number;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface Span {
  /** The file as the user named it (or "<input>" for in-memory sources). */
  file: string;
  start: Pos;
  /** Exclusive end. */
  end: Pos;
}

/** JavaScript's line terminators, the ones the lexer ends a `//` comment at (CRLF counts once). */
export const LINE_TERMINATOR = /\r\n|[\n\r\u2028\u2029]/g;

/** Maps offsets to line/column for one source text. Lines end at LF, CR, CRLF, U+2028, U+2029. */
export class SourceText {
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    for (const m of text.matchAll(LINE_TERMINATOR)) this.lineStarts.push(m.index + m[0].length);
  }

  pos(offset: number): Pos {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { offset: o, line: lo + 1, column: o - this.lineStarts[lo]! + 1 };
  }

  /** Span of the half-open offset range [start, end). */
  span(start: number, end: number): Span {
    return { file: this.file, start: this.pos(start), end: this.pos(Math.max(start, end)) };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return "";
    const next = this.lineStarts[line];
    const end = next === undefined ? this.text.length : next;
    return this.text.slice(start, end).replace(/(?:\r\n|[\n\r\u2028\u2029])$/, "");
  }
}
