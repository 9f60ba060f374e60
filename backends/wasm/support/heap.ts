// The wasm memory of a generated WebAssembly module and the regions in it (inlined into every
// such module; tests import it). The memory is shared (a SharedArrayBuffer underneath) so that
// growing it never detaches the views callers hold (params from createParams stay valid) and so
// that worker threads can run on it. Regions are found first-fit in a free list, aligned to a
// cache line, with room after each for a vector read past its last element.

// ---- inline from here

/** The parts of the WebAssembly API these modules use, typed here (Node's types omit them, and a
 *  module must compile with or without the DOM library). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bytes from base64 (atob is on every platform these modules run on; typed here, see WasmApi). */
export function decodeBase64(text: string): Uint8Array {
  const bin = (globalThis as unknown as { atob(s: string): string }).atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** A module of one function returning a v128 constant: valid only where SIMD is. */
const SIMD_PROBE = "AGFzbQEAAAABBQFgAAF7AwIBAAoWARQA/QwAAAAAAAAAAAAAAAAAAAAACw==";

/** True where WebAssembly with SIMD128 and shared memory runs (the fallback runs elsewhere). */
export function wasmSupported(): boolean {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi & { validate(b: Uint8Array): boolean } }).WebAssembly;
  if (api === undefined || typeof SharedArrayBuffer === "undefined") return false;
  try {
    new api.Memory({ initial: 1, maximum: 1, shared: true });
    return api.validate(decodeBase64(SIMD_PROBE));
  } catch {
    return false;
  }
}

/** Bytes per page of wasm memory. */
const PAGE = 65536;
/** Alignment and tail room of every region. */
const ALIGN = 64;

export class Heap {
  /** Every SharedArrayBuffer this memory has had: an array in one of them is the module's own. */
  private readonly seen = new WeakSet<object>();
  private buf: ArrayBufferLike;
  private free: [number, number][] = [];
  private top: number;

  constructor(
    readonly memory: WasmMemory,
    start: number,
  ) {
    this.top = Math.ceil(start / ALIGN) * ALIGN;
    this.buf = memory.buffer;
    this.seen.add(this.buf);
  }

  /** The memory's current buffer (a new object after it grew). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.seen.add(b);
    }
    return b;
  }

  /** True when `a` is a view of this memory. */
  owns(a: ArrayBufferView): boolean {
    this.buffer();
    return this.seen.has(a.buffer);
  }

  /** A region of at least `bytes` bytes (zero-filled when `zero`); returns its address. */
  alloc(bytes: number, zero = true): number {
    const size = Math.ceil((bytes + 16) / ALIGN) * ALIGN;
    let addr = -1;
    for (let i = 0; i < this.free.length; i++) {
      const [a, n] = this.free[i]!;
      if (n < size) continue;
      addr = a;
      if (n === size) this.free.splice(i, 1);
      else this.free[i] = [a + size, n - size];
      break;
    }
    if (addr < 0) {
      addr = this.top;
      const end = addr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        try {
          this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
        } catch {
          this.memory.grow(pages); // throws a RangeError when even that is too much
        }
      }
      this.top = end;
    }
    if (zero) new Uint8Array(this.buffer(), addr, size).fill(0);
    return addr;
  }

  /** Gives a region back. */
  release(addr: number, bytes: number): void {
    const size = Math.ceil((bytes + 16) / ALIGN) * ALIGN;
    const f = this.free;
    let i = 0;
    while (i < f.length && f[i]![0] < addr) i++;
    f.splice(i, 0, [addr, size]);
    // Merge with the neighbours, and give the end back to the top.
    if (i + 1 < f.length && f[i]![0] + f[i]![1] === f[i + 1]![0]) {
      f[i]![1] += f[i + 1]![1];
      f.splice(i + 1, 1);
    }
    if (i > 0 && f[i - 1]![0] + f[i - 1]![1] === f[i]![0]) {
      f[i - 1]![1] += f[i]![1];
      f.splice(i, 1);
      i--;
    }
    const last = f[f.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      f.pop();
    }
  }

  /** Bytes in use (for tests). */
  used(): number {
    return this.top - this.free.reduce((s, [, n]) => s + n, 0);
  }
}
