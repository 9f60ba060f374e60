// The fuzzer's torch build: where a python3 with torch exists (test/helpers/torch.ts finds it), each
// random program is also built with `target: "torch"` and its module run in float64 by one
// long-lived Python process (torch_fuzz.py, one JSON line per request), so a case costs
// milliseconds, not a torch import. compile-prop.ts compares its outputs, final states and
// gradients with the TypeScript kernel's. Where torch is missing the build is skipped and
// `torchStatus()` says why; `npm run fuzz` prints it.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { compile } from "../../driver/index.ts";
import type { Diagnostic } from "../../grammar/diagnostics.ts";
import { findTorch } from "../helpers/torch.ts";
import type { Dict, Problem } from "./fd.ts";

/** What the module hands back for one problem, keyed by spec names. */
export interface TorchResult {
  outputs: Dict;
  finalState: Dict;
  grads: { params: Dict; inputs: Dict; initialState: Dict };
}

export interface TorchBuild {
  name: string;
  /** The module's Python source, or the diagnostics that refused the program. */
  build(text: string, dims: Record<string, number>, unit: string): Promise<{ code: string } | { diagnostics: Diagnostic[] }>;
  /** Runs a module on a problem. Rejects (with the reason) when the module fails or Python dies. */
  run(code: string, p: Problem): Promise<TorchResult>;
}

/** No answer in this long: the Python process is stopped and the case fails. */
const ANSWER_MS = 60_000;
const script = path.join(path.dirname(new URL(import.meta.url).pathname), "torch_fuzz.py");

let enabled = true;
/** `npm run fuzz -- --no-torch`: no torch build even where torch exists. */
export function setTorchEnabled(on: boolean): void {
  enabled = on;
}

/** The torch build's state, for the fuzz output: what runs it, or why it is skipped. */
export function torchStatus(): { on: true; python: string; version: string } | { on: false; why: string } {
  if (!enabled) return { on: false, why: "--no-torch" };
  const t = findTorch();
  return typeof t === "string" ? { on: false, why: t } : { on: true, ...t };
}

interface Session {
  child: ChildProcessWithoutNullStreams;
  waiting: ((line: string | Error) => void)[];
  stderr: string;
  dir: string;
  n: number;
}

let session: Session | undefined;

function start(python: string): Session {
  const child = spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"] });
  const s: Session = { child, waiting: [], stderr: "", dir: mkdtempSync(path.join(tmpdir(), "cellc-fuzz-torch-")), n: 0 };
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => s.waiting.shift()?.(line));
  child.stderr.on("data", (d: Buffer) => (s.stderr = (s.stderr + d.toString()).slice(-2000)));
  const dead = (why: string) => {
    if (session === s) session = undefined;
    rmSync(s.dir, { recursive: true, force: true });
    for (const w of s.waiting.splice(0)) w(new Error(`the torch build's Python process ${why}${s.stderr.trim() ? `: ${s.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`));
  };
  child.on("exit", (code, signal) => dead(`ended (${signal ?? `exit status ${code}`})`));
  child.on("error", (e) => dead(`could not run (${e.message})`));
  child.stdin.on("error", () => {}); // a dead process: reported by "exit"
  // Idle, the process must not keep Node (or a fuzz worker) alive; it ends when stdin closes.
  idle(s);
  return s;
}

/** The pipes are sockets (net.Socket), which can be told not to keep the event loop alive. */
type Handle = { ref?: () => void; unref?: () => void };
const handle = (stream: unknown) => stream as Handle;

function idle(s: Session): void {
  s.child.unref();
  for (const stream of [s.child.stdin, s.child.stdout, s.child.stderr]) handle(stream).unref?.();
}

function busy(s: Session): void {
  s.child.ref();
  handle(s.child.stdout).ref?.();
}

/** One line from the process: the answer to `request` (or, with none, its greeting). */
function exchange(s: Session, request: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    busy(s);
    const timer = setTimeout(() => {
      s.child.kill("SIGKILL");
      finish(new Error(`the torch build gave no answer in ${ANSWER_MS / 1000} s; its Python process was stopped`));
    }, ANSWER_MS);
    const finish = (line: string | Error) => {
      clearTimeout(timer);
      const i = s.waiting.indexOf(finish);
      if (i >= 0) s.waiting.splice(i, 1);
      if (s.waiting.length === 0) idle(s);
      if (line instanceof Error) reject(line);
      else resolve(line);
    };
    s.waiting.push(finish);
    if (request !== undefined) s.child.stdin.write(request + "\n");
  });
}

async function connect(): Promise<Session> {
  if (session) return session;
  const t = torchStatus();
  if (!t.on) throw new Error(`no torch build: ${t.why}`);
  const s = start(t.python);
  session = s;
  await exchange(s, undefined); // {"ready": version}
  return s;
}

/** Ends the Python process (tests call it when done; a fuzz run's exit ends it too). */
export function closeTorch(): void {
  session?.child.stdin.end();
  session = undefined;
}

const plain = (d: Dict) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Array.from(v)]));
const decode = (v: number | string) => (typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity);
function dictOf(o: Record<string, (number | string)[]>): Dict {
  const d = Object.create(null) as Dict;
  for (const [k, v] of Object.entries(o)) d[k] = Float64Array.from(v, decode);
  return d;
}

async function runModule(code: string, p: Problem): Promise<TorchResult> {
  const s = await connect();
  const file = path.join(s.dir, `case${++s.n}.py`);
  writeFileSync(file, code);
  try {
    const request = { module: file, T: p.T, B: p.B, params: plain(p.params), inputs: plain(p.inputs), init: plain(p.init), masks: p.masks ? plain(p.masks) : null, lengths: p.lengths ?? null, wOut: plain(p.wOut), wFinal: plain(p.wFinal) };
    const answer = JSON.parse(await exchange(s, JSON.stringify(request))) as { error?: string; outputs: never; final: never; grads: { params: never; inputs: never; initialState: never } };
    if (answer.error !== undefined) throw new Error(answer.error);
    return { outputs: dictOf(answer.outputs), finalState: dictOf(answer.final), grads: { params: dictOf(answer.grads.params), inputs: dictOf(answer.grads.inputs), initialState: dictOf(answer.grads.initialState) } };
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // the directory went with a dead process
    }
  }
}

/** The torch build compile-prop.ts uses by default; undefined where torch is missing or off. */
export function defaultTorchBuild(): TorchBuild | undefined {
  if (!torchStatus().on) return undefined;
  return {
    name: "torch (float64)",
    async build(text, dims, unit) {
      const r = await compile(text, { dims, cell: unit, target: "torch" });
      return r.module ? { code: r.module.code } : { diagnostics: r.diagnostics };
    },
    run: runModule,
  };
}
