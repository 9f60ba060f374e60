// `npm run fuzz -- --cases N --seed S [--kind check|compile|names]`: runs any number of fuzz cases
// (kinds.ts) in a worker thread watched for hangs, prints cases, passes, crashes, hangs, slow
// cases, mismatches and the slowest case with wall time and throughput, samples emitted modules
// through `tsc --strict`, and writes each failure, shrunk, to .tmp/fuzz-failures/ as a .cell file
// with a .txt line saying what failed and how to replay it.

import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import type { KindName, Rendered } from "./kinds.ts";
import type { Outcome } from "./verdict.ts";
import type { WorkerJob, WorkerMessage } from "./worker.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const KIND_NAMES: KindName[] = ["check", "compile", "names"];

const USAGE = `usage: npm run fuzz -- [--cases N] [--seed S] [--kind check|compile|names] [options]

  --cases N       cases per kind (default 1000)
  --seed S        integer seed (default 1); case i of a run is replayable alone with --from i --cases 1
  --kind K        check (front-end mutations), compile (random well-typed cells through every build)
                  or names (the same with hostile identifiers); default: all three
  --from I        first case index (default 0)
  --out DIR       where failures are written (default .tmp/fuzz-failures)
  --hang-ms MS    a case running longer is stopped and counted as a hang (default 20000 for check,
                  120000 otherwise)
  --tsc-every K   type-check the module of every K-th passing case with tsc --strict (default 25 for
                  compile, 5 for names; 0: none)
  --shrink-ms MS  time to spend shrinking each failure (default 60000)
  --restart-every K  restart the worker every K cases to bound memory (default 2000)
  --max-minutes M stop each kind after M minutes (the summary counts the cases run)
  --no-torch      no torch build (by default, where python3 with torch exists, compile and names
                  cases also build each cell's PyTorch module and compare it in float64)
  --skip-known    do not run the cases test/fuzz/known.ts lists as known front-end failures
                  (counted as discarded); by default everything runs
  -h, --help`;

function usage(message?: string): never {
  if (message) console.error(`fuzz: ${message}`);
  console.error(USAGE);
  process.exit(message ? 2 : 0);
}

function parse() {
  let v;
  try {
    v = parseArgs({
      options: {
        cases: { type: "string" },
        seed: { type: "string" },
        kind: { type: "string" },
        from: { type: "string" },
        out: { type: "string" },
        "hang-ms": { type: "string" },
        "tsc-every": { type: "string" },
        "shrink-ms": { type: "string" },
        "restart-every": { type: "string" },
        "skip-known": { type: "boolean" },
        "no-torch": { type: "boolean" },
        "max-minutes": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (v.help) usage();
  const int = (name: string, s: string | undefined, dflt: number, min: number) => {
    if (s === undefined) return dflt;
    if (!/^-?\d+$/.test(s) || Number(s) < min || !Number.isSafeInteger(Number(s))) usage(`--${name} must be an integer ≥ ${min}, got '${s}'`);
    return Number(s);
  };
  if (v.kind !== undefined && !KIND_NAMES.includes(v.kind as KindName)) usage(`--kind must be one of ${KIND_NAMES.join(", ")}, got '${v.kind}'`);
  return {
    cases: int("cases", v.cases, 1000, 1),
    seed: int("seed", v.seed, 1, -(2 ** 31)),
    from: int("from", v.from, 0, 0),
    kinds: v.kind ? [v.kind as KindName] : KIND_NAMES,
    out: path.resolve(v.out ?? path.join(ROOT, ".tmp/fuzz-failures")),
    hangMs: v["hang-ms"] === undefined ? undefined : int("hang-ms", v["hang-ms"], 0, 1),
    tscEvery: v["tsc-every"] === undefined ? undefined : int("tsc-every", v["tsc-every"], 0, 0),
    shrinkMs: int("shrink-ms", v["shrink-ms"], 60_000, 0),
    restartEvery: int("restart-every", v["restart-every"], 2000, 1),
    skipKnown: v["skip-known"] === true,
    torch: v["no-torch"] !== true,
    maxMinutes: v["max-minutes"] === undefined ? Infinity : int("max-minutes", v["max-minutes"], 0, 1),
  };
}

type Options = ReturnType<typeof parse>;

const tscEvery = (o: Options, kind: KindName) => o.tscEvery ?? (kind === "check" ? 0 : kind === "compile" ? 25 : 5);

interface Summary {
  counts: Record<Outcome, number>;
  stats: Record<string, number>;
  slowest: { i: number; ms: number };
  modules: string[];
  failures: number;
  lastReport: number;
  /** Cases finished. */
  done: number;
  /** When to stop (performance.now()). */
  deadline: number;
}

function writeFailure(o: Options, kind: KindName, i: number, outcome: Outcome, message: string, r: Rendered, note: string): string {
  mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, `${kind}-seed${o.seed}-case${i}`);
  writeFileSync(`${base}.cell`, r.text);
  const replay = `npm run fuzz -- --kind ${kind} --seed ${o.seed} --from ${i} --cases 1`;
  const head = message.split("\n")[0]!;
  const info = [
    `${outcome}: ${head}`,
    ...(r.dims ? [`build: cell ${r.unit} with dims ${JSON.stringify(r.dims)}`] : [`file: ${r.file}`]),
    note,
    `replay: ${replay}`,
    "",
    message,
  ].join("\n");
  writeFileSync(`${base}.txt`, `${info}\n`);
  console.log(`  ${outcome} at case ${i}: ${head.slice(0, 200)}\n    -> ${path.relative(process.cwd(), base)}.cell (${note})`);
  return base;
}

/** Runs cases [from, to) of one kind in a worker; resolves with the index reached (to, or the case
 *  after a hang). */
function runRange(o: Options, kind: KindName, from: number, to: number, s: Summary): Promise<number> {
  return new Promise((resolve, reject) => {
    const job: WorkerJob = { kind, seed: o.seed, from, to, codeEvery: tscEvery(o, kind), shrinkMs: o.shrinkMs, skipKnown: o.skipKnown, torch: o.torch };
    // Node 20 does not apply --import loaders to a worker's entry file: register tsx first.
    const entry = `import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)}); });`;
    const w = new Worker(entry, { eval: true, workerData: job });
    const hangMs = o.hangMs ?? (kind === "check" ? 20_000 : 120_000);
    let current = from;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        s.counts.hang++;
        s.failures++;
        s.done++;
        const r = KINDS[kind].render(caseValue(KINDS[kind], o.seed, current));
        writeFailure(o, kind, current, "hang", `no result after ${ms} ms`, r, "not shrunk: stopped by the watchdog");
        void w.terminate().then(() => resolve(current + 1));
      }, ms);
    };
    arm(hangMs + 60_000); // the first case includes loading the compiler
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "start") {
        current = m.i;
        arm(current === from ? hangMs + 60_000 : hangMs);
      } else if (m.type === "shrink") {
        arm(o.shrinkMs + 2 * hangMs);
      } else if (m.type === "done") {
        const v = m.verdict;
        s.done++;
        if (performance.now() - s.lastReport > 30_000) {
          s.lastReport = performance.now();
          const c = s.counts;
          console.log(`  … case ${m.i + 1}: ${c.pass} passed, ${c.crash + c.hang + c.slow + c.mismatch} failed so far`);
        }
        s.counts[v.outcome]++;
        for (const [k, n] of Object.entries(v.stats ?? {})) s.stats[k] = (s.stats[k] ?? 0) + n;
        if (m.ms > s.slowest.ms) s.slowest = { i: m.i, ms: m.ms };
        if (v.code) s.modules.push(v.code);
        if (m.failure) {
          s.failures++;
          const f = m.failure;
          const note = f.shrinks > 0 ? `shrunk ${f.shrinks} times, from ${f.rendered.text.length} to ${f.shrunk.text.length} characters` : o.shrinkMs === 0 ? "not shrunk (--shrink-ms 0)" : "not shrunk: no smaller case failed the same way in time";
          writeFailure(o, kind, m.i, v.outcome, f.shrinks > 0 ? f.shrunkVerdict.message ?? "" : v.message ?? "", f.shrinks > 0 ? f.shrunk : f.rendered, note);
        }
        if (performance.now() > s.deadline) {
          clearTimeout(timer);
          void w.terminate().then(() => resolve(Infinity));
        }
      } else {
        clearTimeout(timer);
        void w.terminate().then(() => resolve(to));
      }
    });
    w.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function runKind(o: Options, kind: KindName): Promise<number> {
  const s: Summary = { counts: { pass: 0, discard: 0, crash: 0, mismatch: 0, slow: 0, hang: 0 }, stats: {}, slowest: { i: -1, ms: 0 }, modules: [], failures: 0, lastReport: performance.now(), done: 0, deadline: performance.now() + o.maxMinutes * 60_000 };
  console.log(`fuzz ${kind}: ${o.cases} cases from ${o.from}, seed ${o.seed}${Number.isFinite(o.maxMinutes) ? `, at most ${o.maxMinutes} min` : ""}`);
  if (kind !== "check") {
    setTorchEnabled(o.torch);
    const t = torchStatus();
    console.log(
      t.on
        ? `  torch build: on — each cell's PyTorch module (float64, torch ${t.version}, ${t.python}) against the TypeScript kernel: outputs and final states within 1e-9, gradients within 1e-7 (relative, floor 1)`
        : `  torch build: SKIPPED — ${t.why}; the cells are not checked against their PyTorch modules`,
    );
  }
  const t0 = performance.now();
  const end = o.from + o.cases;
  for (let i = o.from; i < end; ) i = await runRange(o, kind, i, Math.min(end, i + o.restartEvery), s);
  const wall = (performance.now() - t0) / 1000;
  const c = s.counts;
  let tscLine = "";
  if (kind !== "check" && tscEvery(o, kind) > 0) {
    const errors = typeCheck(s.modules);
    tscLine = `\n  tsc --strict: ${s.modules.length} sampled modules, ${errors.length} errors${errors.length ? `\n    ${errors.slice(0, 10).join("\n    ")}` : ""}`;
    if (errors.length) {
      c.mismatch++;
      s.failures++;
    }
  }
  const stats = Object.entries(s.stats).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `fuzz ${kind}: ${s.done} cases${s.done < o.cases ? ` (stopped at the time limit; ${o.cases} asked)` : ""} in ${wall.toFixed(1)} s (${(s.done / wall).toFixed(1)} cases/s): ` +
      `${c.pass} passed, ${c.discard} discarded, ${c.crash} crashes, ${c.hang} hangs, ${c.slow} slow, ${c.mismatch} mismatches\n` +
      `  slowest: case ${s.slowest.i}, ${s.slowest.ms.toFixed(0)} ms` +
      (stats ? `\n  totals: ${stats}` : "") +
      tscLine +
      (s.failures ? `\n  failures written to ${path.relative(process.cwd(), o.out)}/` : ""),
  );
  return s.failures;
}

const o = parse();
// The compiler and fast-check load only once the flags are known good: a usage error is instant.
const { caseValue, KINDS } = await import("./kinds.ts");
const { typeCheck } = await import("./tsc.ts");
const { setTorchEnabled, torchStatus } = await import("./torch-build.ts");
let failures = 0;
for (const k of o.kinds) failures += await runKind(o, k);
process.exit(failures > 0 ? 1 : 0);
