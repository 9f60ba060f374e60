// The WebAssembly side of the `threads` option (the JavaScript side is support/threads.ts; how a
// plan's stages split is compiler/plan/parallel.ts): the share of a range a worker takes, the
// chunks of a range workers take turns at (dynamic scheduling), and the barrier every worker of a
// call waits at between stages.
//
// The barrier's three words at $s: [0] how many have arrived, [1] its generation, [2] set when a
// worker failed (the others then stop waiting; the call reports the failure). The last to arrive
// resets the count and the dynamic loops' counters, then moves the generation on and wakes the
// sleepers; the others spin a little (a stage may end at nearly the same time on every core), then
// sleep until the generation moves.
//
// Dynamic loops: between two barriers, the k-th loop (k < DYNAMIC_SLOTS) over chunks has its
// counter at $s + 16 + 4k; a worker takes the next chunk with an atomic add, so a fast core takes
// more chunks than a slow or busy one. Which worker computes a chunk never changes a number: every
// value is computed whole by one worker, in the same order, whoever it is.

import { get, i32, set, type Fn } from "./wat.ts";

/** Counters for dynamic loops between two barriers (words 20-27 of the team's control block,
 *  support/threads.ts: CTL.sync is word 16, CTL.state word 32). */
export const DYNAMIC_SLOTS = 8;

/** `body()` over [0, n) in chunks taken in turn by the workers: the body sees its chunk as
 *  [$dlo, $dhi). `n` and `chunk` are i32 expressions every worker computes alike; `slot` is the
 *  counter (a fresh one since the last barrier). On one thread the chunks come in order. */
export function dynamicLoop(f: Fn, slot: number, n: string, chunk: string, body: () => void): void {
  const lo = f.local("dlo", "i32");
  const hi = f.local("dhi", "i32");
  const size = f.local("dchunk", "i32");
  const seq = f.local("dseq", "i32");
  const total = f.local("dn", "i32");
  f.emit(set(total, n), set(size, chunk), set(seq, i32(0)));
  f.nest(`(block $dyn_done${slot}`, () =>
    f.nest(`(loop $dyn${slot}`, () => {
      f.emit(set(lo, `(i32.mul (call $grab ${get("$sync")} ${i32(slot)} ${get("$nw")} ${get(seq)}) ${get(size)})`));
      f.emit(set(seq, `(i32.add ${get(seq)} (i32.const 1))`));
      f.emit(`(br_if $dyn_done${slot} (i32.ge_u ${get(lo)} ${get(total)}))`);
      f.emit(set(hi, `(select (i32.add ${get(lo)} ${get(size)}) ${get(total)} (i32.lt_u (i32.add ${get(lo)} ${get(size)}) ${get(total)}))`));
      body();
      f.emit(`(br $dyn${slot})`);
    }),
  );
}

export function threadsFunctions(): string {
  return `  ;; The start of worker w's share of [0, n) among nw workers (n itself for w = nw), rounded down
  ;; to the mask (-4: whole tiles of rows; -1: any row) except at the ends.
  (func $share (param $n i32) (param $w i32) (param $nw i32) (param $mask i32) (result i32)
    (if (i32.ge_u (local.get $w) (local.get $nw)) (then (return (local.get $n))))
    (i32.and
      (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $n)) (i64.extend_i32_u (local.get $w))) (i64.extend_i32_u (local.get $nw))))
      (local.get $mask))
  )
  ;; The next chunk of the dynamic loop with counter $slot: an atomic ticket, or $seq on one thread.
  (func $grab (param $s i32) (param $slot i32) (param $nw i32) (param $seq i32) (result i32)
    (if (result i32) (i32.le_u (local.get $nw) (i32.const 1))
      (then (local.get $seq))
      (else (i32.atomic.rmw.add offset=16 (i32.add (local.get $s) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 1))))
  )
  ;; Returns once all nw workers have called it (at once when nw is 1, or when a worker failed).
  (func $barrier (param $s i32) (param $nw i32)
    (local $g i32) (local $k i32)
    (if (i32.le_u (local.get $nw) (i32.const 1)) (then (return)))
    (local.set $g (i32.atomic.load offset=4 (local.get $s)))
    (if (i32.eq (i32.atomic.rmw.add (local.get $s) (i32.const 1)) (i32.sub (local.get $nw) (i32.const 1)))
      (then
        (memory.fill (i32.add (local.get $s) (i32.const 16)) (i32.const 0) (i32.const ${DYNAMIC_SLOTS * 4}))
        (i32.atomic.store (local.get $s) (i32.const 0))
        (drop (i32.atomic.rmw.add offset=4 (local.get $s) (i32.const 1)))
        (drop (memory.atomic.notify offset=4 (local.get $s) (i32.const -1)))
        (return)))
    (local.set $k (i32.const 20000))
    (loop $spin
      (if (i32.ne (i32.atomic.load offset=4 (local.get $s)) (local.get $g)) (then (return)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br_if $spin (local.get $k)))
    (loop $sleep
      (if (i32.ne (i32.atomic.load offset=4 (local.get $s)) (local.get $g)) (then (return)))
      (if (i32.atomic.load offset=8 (local.get $s)) (then (return)))
      (drop (memory.atomic.wait32 offset=4 (local.get $s) (local.get $g) (i64.const 1000000000)))
      (br $sleep))
  )`;
}
