// The WebAssembly side of the `threads` option (the JavaScript side is support/threads.ts; how a
// plan's stages split is compiler/plan/parallel.ts): the share of a range a worker takes, and the
// barrier every worker of a call waits at between stages.
//
// The barrier's three words at $s: [0] how many have arrived, [1] its generation, [2] set when a
// worker failed (the others then stop waiting; the call reports the failure). The last to arrive
// resets the count, then moves the generation on and wakes the sleepers; the others spin a little
// (a stage may end at nearly the same time on every core), then sleep until the generation moves.

export function threadsFunctions(): string {
  return `  ;; The start of worker w's share of [0, n) among nw workers (n itself for w = nw), rounded down
  ;; to the mask (-4: whole tiles of rows; -1: any row) except at the ends.
  (func $share (param $n i32) (param $w i32) (param $nw i32) (param $mask i32) (result i32)
    (if (i32.ge_u (local.get $w) (local.get $nw)) (then (return (local.get $n))))
    (i32.and
      (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $n)) (i64.extend_i32_u (local.get $w))) (i64.extend_i32_u (local.get $nw))))
      (local.get $mask))
  )
  ;; Returns once all nw workers have called it (at once when nw is 1, or when a worker failed).
  (func $barrier (param $s i32) (param $nw i32)
    (local $g i32) (local $k i32)
    (if (i32.le_u (local.get $nw) (i32.const 1)) (then (return)))
    (local.set $g (i32.atomic.load offset=4 (local.get $s)))
    (if (i32.eq (i32.atomic.rmw.add (local.get $s) (i32.const 1)) (i32.sub (local.get $nw) (i32.const 1)))
      (then
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
