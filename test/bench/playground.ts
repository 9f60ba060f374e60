// The playground's figures (issue 24), measured, not asserted: the first load's transfer size
// (gzipped: the page, its stylesheets and what the editor needs before the first diagnostic:
// main.js and the compiler worker with its chunks up to the checker), keystroke-to-diagnostic
// latency (median and p95, from the key press to the page's `cellc:diagnostics` event) for a
// 30-line and a 300-line spec, and training steps per second in the page (its training worker)
// against the same WebAssembly kernel, model and data in Node.
//
//   npm run bench:playground      (builds the site first; needs Chromium)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { gzipSync } from "node:zlib";
import { compile, importModule } from "../../driver/index.ts";
import { adam, recurrent, sequential } from "../../runtime/index.ts";
import adding from "../../studies/tasks/adding.ts";
import type { CellKernel } from "../../abi/kernel.ts";
import { serveStatic } from "../helpers/static-server.ts";

const root = new URL("../..", import.meta.url).pathname;

// Page-side callbacks run in Chromium; this program has no DOM types, so it names what they use.
interface PageElement {
  textContent: string | null;
  value: string;
  href: string;
  innerHTML: string;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
  createTreeWalker(root: unknown, what: number): { nextNode(): PageElement | null };
  createRange(): { setStart(n: unknown, i: number): void; setEnd(n: unknown, i: number): void; getBoundingClientRect(): { x: number; y: number; width: number; height: number } };
};

const site = join(mkdtempSync(join(tmpdir(), "cellc-pg-bench-")), "site");
execFileSync(process.execPath, [join(root, "scripts/build-playground.mjs"), "--out", site], { stdio: "inherit" });

const gz = (f: string) => gzipSync(readFileSync(join(site, f))).length;
const server = await serveStatic(site);
const { url, served } = server;
const puppeteer = await import("puppeteer-core");
const browser = await puppeteer.launch({ executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const tab = await browser.newPage();
await tab.goto(url);
await tab.waitForSelector("[data-testid=diagnostics] li.ok", { timeout: 60_000 });
/** A file and every file it imports statically (not the import() chunks it loads on demand). */
function closure(file: string, into = new Set<string>()): Set<string> {
  if (into.has(file)) return into;
  into.add(file);
  const text = readFileSync(join(site, file), "utf8");
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*"(\.[^"]+\.js)"/g)) closure(normalize(join(file, "..", m[1]!)), into);
  return into;
}
const kib = (files: Iterable<string>) => `${([...files].reduce((s, f) => s + gz(f), 0) / 1024).toFixed(0)} KiB`;
// What the page needs before its first diagnostic: the page, its stylesheets, main.js and the
// checker worker with their static imports. The code generators (and ts-morph, wabt) come with
// the first code view, the training worker with the first run.
const first = new Set(["index.html", "style.css", "uPlot.min.css", ...closure("main.js"), ...closure("compiler-worker.js")]);
const all = readdirSync(site, { recursive: true }).map(String).filter((f) => statSync(join(site, f)).isFile());
const training = [...closure("train-worker.js")].filter((f) => !first.has(f));
console.log(`first load (page + checker, to the first diagnostic): ${first.size} files, ${kib(first)} gzipped`);
console.log(`training worker (first run): ${kib(training)} gzipped; whole site: ${all.length} files, ${kib(all)} gzipped (the rest: code generators, ts-morph, TypeScript, wabt, on the first code view)`);
console.log(`served by the time the first diagnostic showed: ${served.size} files, ${kib(served)} gzipped (the code view's generators start loading at once)`);

/** A spec of about `lines` lines: one cell with enough gates. */
function specOf(lines: number): string {
  const gates = Math.max(1, Math.floor((lines - 7) / 2));
  const out = ["cell big(I, H) {", "  input x: [I]", "  state h: [H]"];
  for (let g = 0; g < gates; g++) out.push(`  param W${g}: [H, I], U${g}: [H, H], b${g}: [H]`);
  out.push("  a0 = h");
  for (let g = 0; g < gates; g++) out.push(`  a${g + 1} = tanh(W${g} @ x + U${g} @ a${g} + b${g})`);
  out.push(`  h' = a${gates}`, "  output h'", "}");
  return out.join("\n") + "\n";
}

async function latency(spec: string, samples: number): Promise<{ median: number; p95: number; lines: number }> {
  await tab.click("[data-testid=spec-editor] .cm-content");
  await tab.keyboard.down("Control");
  await tab.keyboard.press("a");
  await tab.keyboard.up("Control");
  await tab.keyboard.sendCharacter(spec);
  await tab.waitForFunction((n: number) => document.querySelector("[data-testid=spec-editor] .cm-content")!.textContent!.length > 0 && document.querySelector("[data-testid=diagnostics] li.ok") !== null && Number((document.querySelector("[data-testid=diagnostics]") as unknown as { dataset: Record<string, string> }).dataset["version"]) > n, { timeout: 120_000 }, 0);
  await tab.keyboard.down("Control");
  await tab.keyboard.press("End");
  await tab.keyboard.up("Control");
  await tab.keyboard.type("// ");
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const wait = tab.evaluate(() => new Promise<number>((r) => document.addEventListener("cellc:diagnostics", () => r(performance.now()), { once: true })));
    const t0 = await tab.evaluate(() => performance.now());
    // Each keystroke adds or removes a letter of a comment after the cell: every one needs a new check
    // (and, the spec being valid, new code in the other worker).
    if (i % 2 === 0) await tab.keyboard.type("x");
    else await tab.keyboard.press("Backspace");
    times.push((await wait) - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))]!, lines: spec.split("\n").length - 1 };
}
for (const n of [30, 300]) {
  const r = await latency(specOf(n), 30);
  console.log(`keystroke to diagnostic, ${r.lines}-line spec: median ${r.median.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms (30 keystrokes)`);
}

// Steps per second: the LSTM baseline alone on adding in the page, then the same in Node.
const lstm = readFileSync(join(root, "examples/specs/lstm.cell"), "utf8");
await tab.select("[data-testid=task-select]", "adding");
await tab.$eval("#budget", (e) => ((e as unknown as PageElement).value = "2048"));
await tab.click("[data-testid=train-button]");
await tab.waitForFunction(() => (globalThis as unknown as { playground: { trainer: { runs: { status: string }[] } } }).playground.trainer.runs.length === 2 && (globalThis as unknown as { playground: { trainer: { runs: { status: string }[] } } }).playground.trainer.runs.every((r) => r.status === "ok"), { timeout: 600_000, polling: 1000 });
const pageRate = await tab.evaluate(() => (globalThis as unknown as { playground: { trainer: { runs: { label: string; points: { stepsPerSecond: number }[] }[] } } }).playground.trainer.runs.map((r) => [r.label, r.points.at(-1)!.stepsPerSecond] as const));
await browser.close();
await server.close();

const r = await compile(lstm, { dims: { I: 2, H: 8 }, format: false, target: "wasm" });
const kernel = (await importModule(r.module!.code)) as CellKernel;
const s = { T: 20 };
const model = sequential(adding.layers(recurrent({ kernel, returnSequences: false }), s), { seed: 1 });
model.compile({ optimizer: adam({ learningRate: 0.01 }), loss: "mse", clipNorm: 1 });
const data = adding.data(s, 1);
let busy = 0;
let steps = 0;
for (let c = 0; c < 16; c++) {
  const b = data.train(c, 128);
  const t = performance.now();
  await model.fit(b.x, b.y, { epochs: 1, batchSize: 32, verbose: 0 });
  busy += performance.now() - t;
  steps += 4;
}
console.log(`training steps/s (adding, T=20, H=8, batch 32): page ${pageRate.map(([l, v]) => `${l} ${v.toFixed(1)}`).join(", ")}; Node lstm ${(steps / (busy / 1000)).toFixed(1)}`);
