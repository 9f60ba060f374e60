// The wasm memory of a generated WebAssembly module and the regions in it (inlined into every
// such module; tests import it). The memory is shared (a SharedArrayBuffer underneath) where it
// can be, so that growing it never detaches the views callers hold (params from createParams stay
// valid) and so that worker threads can run on it; where it cannot (a page that is not
// cross-origin isolated) it is a memory of the module's own and the kernel copies params in. Regions are found first-fit in a free list, aligned to a
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
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly as WasmApi | undefined as WasmApi;

/** Bytes from base64 (atob is on every platform these modules run on; typed here, see WasmApi). */
export function decodeBase64(text: string): Uint8Array {
  const bin = (globalThis as unknown as { atob(s: string): string }).atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** A module of one function returning a v128 constant: valid only where SIMD is. */
const SIMD_PROBE = "AGFzbQEAAAABBQFgAAF7AwIBAAoWARQA/QwAAAAAAAAAAAAAAAAAAAAACw==";

/** True where WebAssembly with SIMD128 runs (the fallback runs elsewhere). */
export function wasmSupported(): boolean {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi & { validate(b: Uint8Array): boolean } }).WebAssembly;
  if (api === undefined) return false;
  try {
    return api.validate(decodeBase64(SIMD_PROBE));
  } catch {
    return false;
  }
}

/** A module of one function returning f32x4.relaxed_madd of its argument thrice: valid only where
 *  relaxed SIMD is. */
const RELAXED_PROBE = "AGFzbQEAAAABBgFgAXsBewMCAQAKDQELACAAIAAgAP2FAgs=";

/** True where WebAssembly runs relaxed SIMD (its fused multiply-add): Chrome ≥ 114, Node ≥ 22, or
 *  Node 20 with --experimental-wasm-relaxed-simd. A kernel built with FMA runs its FMA binary
 *  there. */
export function relaxedSimdSupported(): boolean {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi & { validate(b: Uint8Array): boolean } }).WebAssembly;
  if (api === undefined) return false;
  try {
    return api.validate(decodeBase64(RELAXED_PROBE));
  } catch {
    return false;
  }
}

/** True where a WebAssembly memory can be shared (a SharedArrayBuffer underneath): Node, and
 *  cross-origin isolated pages (COOP/COEP headers). Elsewhere a kernel runs on one thread, on a
 *  memory of its own. */
export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || WA === undefined) return false;
  try {
    return new WA.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** `binary` importing a memory of its own instead of a shared one: the byte at `flagsAt` (the
 *  memory import's limits, 3: shared with a maximum) becomes 1 (a maximum, not shared). The
 *  module's atomic instructions are valid on such a memory; one thread never waits on it. */
export function unsharedBinary(binary: Uint8Array, flagsAt: number): Uint8Array {
  if (binary[flagsAt] !== 3) throw new Error("WebAssembly kernel: the memory import is not where the module says (a bug in cellc)");
  const copy = binary.slice();
  copy[flagsAt] = 1;
  return copy;
}

/** Bytes per page of wasm memory. */
const PAGE = 65536;
/** The most pages a module's memory may grow to (4 GiB: addresses are 32-bit). */
export const MAX_PAGES = 65536;
/** Alignment and tail room of every region. */
const ALIGN = 64;

/** Thrown by Heap.alloc when the memory cannot hold a region: the bytes asked for and the largest
 *  region it could give (the kernel turns it into a KernelMemoryError, which says more). */
export class HeapFull extends RangeError {
  override name = "HeapFull";
  constructor(
    readonly bytes: number,
    readonly largest: number,
  ) {
    super(`out of WebAssembly memory: ${bytes} bytes needed, the largest free region is ${largest} bytes (a module's memory holds at most 4 GiB, 4.29 GB)`);
  }
}

/** A call that needs more WebAssembly memory than there is: names the kernel's function, T and B,
 *  the bytes needed and what fits. A RangeError, as the kernels' other boundary errors are. */
export class KernelMemoryError extends RangeError {
  override name = "KernelMemoryError";
  constructor(
    message: string,
    /** Bytes the call needed. */
    readonly bytes: number,
    /** Bytes free for it. */
    readonly available: number,
    /** The largest T·B that fits at the call's B for forward and backward (0: not even T = 1). */
    readonly maxSteps: number,
  ) {
    super(message);
  }
}

/** Bytes as a message shows them: 1.23 GB (1,234,567,890 bytes). */
function showBytes(n: number): string {
  const unit = n >= 1e9 ? [1e9, "GB"] : n >= 1e6 ? [1e6, "MB"] : [1e3, "kB"];
  return `${(n / (unit[0] as number)).toFixed(2)} ${unit[1]} (${n.toLocaleString("en-US")} bytes)`;
}

/** The largest n in [0, max] with fits(n) (fits is monotone, fits(0) true). */
function largestFitting(max: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** What a call needs at other sizes: bytes(T, B) for what `label` says ("forward alone"). */
export type MemoryNeed = { label: string; bytes: (T: number, B: number) => number };

/** The error of a call at T, B whose `what` needed `full.bytes`; for each need, the largest T that
 *  fits at this B (bytes(T, B) at most the free region and `spare`: what the call holds already,
 *  its tape for backward). `where` is "name.function". */
export function memoryError(where: string, what: string, T: number, B: number, full: HeapFull, needs: MemoryNeed[], spare = 0): KernelMemoryError {
  const free = full.largest + spare;
  const most = needs.map((n) => largestFitting(T, (t) => t === 0 || n.bytes(t, B) <= free));
  const fits = needs.map((n, k) => (most[k]! > 0 ? `T=${most[k]} (T·B = ${most[k]! * B}) for ${n.label}` : `not even T=1 for ${n.label} (at T=1, B up to ${largestFitting(B, (b) => b === 0 || n.bytes(1, b) <= free)})`));
  const message = `${where}: out of WebAssembly memory: ${what} at T=${T}, B=${B} needs ${showBytes(full.bytes)}, but ${showBytes(full.largest)} is free (a module's memory holds at most 4 GiB, 4.29 GB). At B=${B} the most that fits is ${fits.join(", ")}`;
  return new KernelMemoryError(message, full.bytes, full.largest, most[most.length - 1]! * B);
}

export class Heap {
  /** Every SharedArrayBuffer this memory has had: an array in one of them is the module's own. */
  private readonly seen = new WeakSet<object>();
  private buf: ArrayBufferLike;
  private free: [number, number][] = [];
  private top: number;

  constructor(
    readonly memory: WasmMemory,
    start: number,
    /** Bytes the memory may grow to (its maximum). */
    private readonly limit: number = MAX_PAGES * PAGE,
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
      if (end > this.limit) throw new HeapFull(bytes, this.largest(this.limit));
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        try {
          this.memory.grow(Math.min(Math.max(pages, Math.ceil(have / PAGE / 4)), this.limit / PAGE - have / PAGE));
        } catch {
          try {
            this.memory.grow(pages);
          } catch {
            // The engine gives no more (below the maximum): what it has is the limit now.
            throw new HeapFull(bytes, this.largest(this.memory.buffer.byteLength));
          }
        }
      }
      this.top = end;
    }
    if (zero) new Uint8Array(this.buffer(), addr, size).fill(0);
    return addr;
  }

  /** The most bytes one region can hold with the memory at most `limit` bytes. */
  private largest(limit: number): number {
    const room = Math.max(limit - this.top, ...this.free.map(([, n]) => n));
    return Math.max(0, Math.floor(room / ALIGN) * ALIGN - 16);
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
