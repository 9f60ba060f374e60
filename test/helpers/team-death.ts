// Run by test/wasm-threads.test.ts in a child process (node --import tsx): a Team (backends/wasm/
// support/threads.ts) on a small test module whose worker threads die, then more calls. Prints
// one JSON line per call: [threads used, slot 0, slot 1, slot 2] or { error: message }. In a
// child so that a hang (a call that waits forever on a dead worker) ends in the test's timeout,
// not in a blocked test runner.
//
// forward: T = 1 traps on worker 1, T = 2 on worker 0 (before the barrier the others wait at),
// T = 3 calls m.die(7) on worker 1, T = 4 m.quit() and T = 5 m.rest() on worker 1; otherwise
// every worker meets at the barrier, then stores w + 1 at tbl + 4w. The workers' m.die ends the
// worker's thread while it runs its share (as a crash or running out of memory would); m.quit
// makes the worker end as soon as it is idle again (its next Atomics.wait exits the thread);
// m.rest makes its next wait for work time out, so it leaves as an idle worker does after
// IDLE_MS. On the calling thread all three do nothing.

import { Team, TEAM_BYTES } from "../../backends/wasm/support/threads.ts";
import { threadsFunctions } from "../../backends/wasm/threads.ts";
import { assemble } from "../../backends/wasm/module.ts";
import { WA } from "../../backends/wasm/support/heap.ts";

const wat = `(module (import "env" "memory" (memory 1 100 shared))
  (import "m" "die" (func $die (param i32) (result i32)))
  (import "m" "quit" (func $quit (param i32) (result i32)))
  (import "m" "rest" (func $rest (param i32) (result i32)))
${threadsFunctions()}
  (func (export "forward") (param $tbl i32) (param $T i32) (param $B i32) (param $w i32) (param $nw i32) (param $sync i32)
    (if (i32.and (i32.eq (local.get $T) (i32.const 1)) (i32.eq (local.get $w) (i32.const 1))) (then unreachable))
    (if (i32.and (i32.eq (local.get $T) (i32.const 2)) (i32.eqz (local.get $w))) (then unreachable))
    (if (i32.and (i32.eq (local.get $T) (i32.const 3)) (i32.eq (local.get $w) (i32.const 1))) (then (drop (call $die (i32.const 7)))))
    (if (i32.and (i32.eq (local.get $T) (i32.const 4)) (i32.eq (local.get $w) (i32.const 1))) (then (drop (call $quit (i32.const 0)))))
    (if (i32.and (i32.eq (local.get $T) (i32.const 5)) (i32.eq (local.get $w) (i32.const 1))) (then (drop (call $rest (i32.const 0)))))
    (call $barrier (local.get $sync) (local.get $nw))
    (i32.store (i32.add (local.get $tbl) (i32.shl (local.get $w) (i32.const 2))) (i32.add (local.get $w) (i32.const 1))))
  (func (export "backward") (param i32 i32 i32 i32 i32 i32 i32)))`;

const module = new WA.Module(await assemble(wat, "failing"));
const memory = new WA.Memory({ initial: 1, maximum: 100, shared: true });
const nothing = () => 0;
const entry = new WA.Instance(module, { env: { memory }, m: { die: nothing, quit: nothing, rest: nothing } }).exports as never;
const host = {
  die: (code: number) => (process.exit(code), 0),
  quit: () => ((Atomics as { wait: unknown }).wait = () => process.exit(9)) && 0,
  rest: () => ((Atomics as { wait: unknown }).wait = () => "timed-out") && 0,
};
const team = new Team(memory, 1024, module, host, entry);
const tbl = 1024 + TEAM_BYTES;

/** Calls as "T:threads", separated by spaces, from the command line. */
for (const c of process.argv.slice(2).join(" ").split(/\s+/).filter(Boolean)) {
  const [T, threads] = c.split(":").map(Number) as [number, number];
  new Int32Array(memory.buffer, tbl, 3).fill(0);
  try {
    team.run({ entry: "forward", tbl, T, B: 1, ig: 0 }, threads);
    console.log(JSON.stringify([team.last, ...new Int32Array(memory.buffer, tbl, 3)]));
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
  }
}
