// The playground page: wires the editor, the compiler worker, the graph and code views, the
// trainer, downloads and share links together. Each part lives in its own file.

import { examples } from "playground:examples";
import { createEditor } from "./editor.ts";
import { drawGraph } from "./graph-view.ts";
import { createCodeView } from "./code-view.ts";
import { decodeShare, encodeShare } from "./share.ts";
import { taskPlan, Trainer } from "./train-view.ts";
import type { CheckReply, CodeReply, CodeTarget, CompilerReply, CompilerRequest, ArtifactReply } from "./protocol.ts";

const DEFAULT_SPEC = `// A minimal gated unit: invent your own, see it, train it against LSTM.
cell mgu(I, H) {
  input x: [I]
  state h: [H]
  param W_f: [H, I], U_f: [H, H], b_f: [H] = ones
  param W_h: [H, I], U_h: [H, H], b_h: [H]

  f = sigmoid(W_f @ x + U_f @ h + b_f)       // forget gate
  n = tanh(W_h @ x + U_h @ (f * h) + b_h)    // candidate
  h' = (1 - f) * h + f * n
  output h'
}
`;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $("status");
const say = (text: string) => (status.textContent = text);

// ---- the compiler, in two workers: one only checks (every edit), the other generates code and
// artifacts, so a check never waits behind a code generation.
const compilerUrl = new URL("./compiler-worker.js", import.meta.url);
const checker = new Worker(compilerUrl, { type: "module" });
const generator = new Worker(compilerUrl, { type: "module" });
let nextId = 1;
const waiting = new Map<number, (r: CompilerReply) => void>();
for (const w of [checker, generator]) {
  w.onmessage = (e: MessageEvent<CompilerReply & { error?: string }>) => {
    const done = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    done?.(e.data);
  };
  w.onerror = (e) => say(`the compiler worker failed: ${e.message}`);
}
type Unsent = CompilerRequest extends infer T ? (T extends CompilerRequest ? Omit<T, "id"> : never) : never;
function request<R extends CompilerReply>(m: Unsent & { kind: R["kind"] }): Promise<R & { error?: string }> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve as (r: CompilerReply) => void);
    (m.kind === "check" ? checker : generator).postMessage({ ...m, id });
  });
}

let text = DEFAULT_SPEC;
let lastCheck: CheckReply | undefined;
let checking = false;
let checkedText: string | undefined;
let version = 0;

/** The sizes field as numbers, only for sizes the cell declares (defaults fill the rest). */
function sizes(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of $<HTMLInputElement>("sizes").value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)/g)) out[m[1]!] = Number(m[2]);
  const declared = lastCheck?.sizes ?? [];
  for (const d of declared) if (out[d.name] === undefined && d.default !== undefined) out[d.name] = d.default;
  return Object.fromEntries(Object.entries(out).filter(([k]) => declared.some((d) => d.name === k)));
}

const editor = createEditor($("editor"), text, {
  changed(t) {
    text = t;
    version++;
    void runCheck();
  },
  sizes,
  hoverLine(line) {
    codeView.highlightSpecLine(line);
    for (const n of document.querySelectorAll<SVGGElement>("#graph .node")) n.classList.toggle("hl", line !== undefined && n.dataset["line"] === String(line));
  },
});
const codeView = createCodeView($("code"), (lines) => editor.markLines(lines));

async function runCheck(): Promise<void> {
  if (checking) return;
  checking = true;
  try {
    while (checkedText !== text) {
      const t = text;
      const v = version;
      const r = await request<CheckReply>({ kind: "check", text: t });
      checkedText = t;
      // A check that threw is a cellc bug: say so where the user looks, keep the last good view.
      if (r.error !== undefined) say(`the checker failed (a cellc bug, please report it): ${r.error}`);
      else if (t === text) showCheck(r, v);
    }
  } finally {
    checking = false;
  }
}

function showCheck(r: CheckReply, v: number): void {
  lastCheck = r;
  editor.showCheck(r);
  const list = $("diagnostics");
  list.replaceChildren(
    ...(r.diagnostics.length === 0
      ? [Object.assign(document.createElement("li"), { className: "ok", textContent: "no problems" })]
      : r.diagnostics.map((d) => {
          const li = document.createElement("li");
          li.className = d.severity;
          li.dataset["code"] = d.code;
          li.dataset["line"] = String(d.line);
          li.dataset["column"] = String(d.column);
          li.textContent = `${d.line}:${d.column} ${d.severity} ${d.code}: ${d.message}`;
          return li;
        })),
  );
  list.dataset["version"] = String(v);
  document.dispatchEvent(new CustomEvent("cellc:diagnostics", { detail: { version: v, count: r.diagnostics.length } }));
  if (!r.diagnostics.some((d) => d.severity === "error")) {
    drawGraph($("graph"), r.graph, (line) => editor.markLines(line === undefined ? [] : [line]));
    void refreshCode();
  }
}

let codeBusy = false;
let codeAgain = false;
async function refreshCode(): Promise<void> {
  if (codeBusy) return void (codeAgain = true);
  codeBusy = true;
  try {
    do {
      codeAgain = false;
      const target = $<HTMLSelectElement>("target").value as CodeTarget;
      const r = await request<CodeReply>({ kind: "code", text, dims: sizes(), target });
      if (r.error !== undefined) codeView.showError(r.error);
      else codeView.show(r.code ?? "", r.origin);
      $("code").dataset["target"] = target;
      $("code").dataset["text"] = String(text.length);
      const params = $("params");
      params.innerHTML = "";
      if (r.params) {
        const rows = r.params.map((p) => `<tr><td>${p.name}</td><td>[${p.shape.join(", ")}]</td><td>${p.size}</td></tr>`);
        params.innerHTML = `<thead><tr><th>param</th><th>shape</th><th>count</th></tr></thead><tbody>${rows.join("")}<tr><th>total at ${Object.entries(r.dims ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")}</th><td></td><th>${r.paramCount}</th></tr></tbody>`;
      }
      document.dispatchEvent(new CustomEvent("cellc:code", { detail: { target } }));
    } while (codeAgain);
  } finally {
    codeBusy = false;
  }
}

// ---- examples, sizes, code target
const select = $<HTMLSelectElement>("examples");
select.append(new Option("(your cell)", ""), ...Object.keys(examples).map((n) => new Option(n, n)));
select.onchange = () => {
  if (select.value) editor.setText(examples[select.value]!);
};
$("sizes").oninput = () => void refreshCode();
$("target").onchange = () => void refreshCode();

// ---- share links
$("share").onclick = async () => {
  const frag = await encodeShare({ spec: text, sizes: $<HTMLInputElement>("sizes").value, task: $<HTMLSelectElement>("task").value, baseline: $<HTMLSelectElement>("baseline").value });
  const url = `${location.origin}${location.pathname}#${frag}`;
  history.replaceState(null, "", `#${frag}`);
  const a = $<HTMLAnchorElement>("share-link");
  a.href = url;
  a.textContent = url;
  await navigator.clipboard?.writeText(url).catch(() => undefined);
  say("share link ready (copied where the browser allows)");
};

// ---- training
const trainer = new Trainer($("loss"), $("metric"), $("results"), () => {
  const stop = $<HTMLButtonElement>("stop");
  stop.disabled = !trainer.training && !trainer.paused;
  stop.textContent = trainer.paused ? "resume" : "stop";
  const s = trainer.runs[0]?.sample;
  $("prediction").textContent = s ? `${trainer.runs[0]!.label} on the first held-out sequence: ${s.y.map((v) => v.toFixed(5)).join(", ")}` : "";
});
(globalThis as { playground?: unknown }).playground = { trainer };

async function kernelFor(spec: { text?: string; example?: string }, dims: Record<string, number>): Promise<{ kernelJs: string; cellOnnx?: Uint8Array | undefined }> {
  const r = await request<ArtifactReply>({ kind: "artifact", text: spec.text ?? "", ...(spec.example ? { example: spec.example } : {}), dims, what: "train" });
  if (r.error !== undefined || r.text === undefined) throw new Error(r.error ?? "no kernel");
  return { kernelJs: r.text, cellOnnx: r.bytes };
}

$("train").onclick = async () => {
  try {
    say("compiling the kernels…");
    const task = $<HTMLSelectElement>("task").value;
    const plan = await taskPlan(task);
    const H = Number($<HTMLInputElement>("units").value) || plan.units;
    const own = { ...sizes(), I: plan.I, H };
    const baseline = $<HTMLSelectElement>("baseline").value;
    const [mine, base] = await Promise.all([kernelFor({ text }, own), kernelFor({ example: baseline }, { I: plan.I, H })]);
    trainer.start([{ label: lastCheck?.graph?.cell ?? "your cell", ...mine }, { label: baseline.replace(/\.cell$/, ""), ...base }], task, H, Number($<HTMLInputElement>("budget").value) || plan.budget);
    say(`training on ${task}: ${plan.summary}`);
  } catch (e) {
    say(`cannot train: ${e instanceof Error ? e.message : String(e)}`);
  }
};
$("stop").onclick = () => (trainer.paused ? trainer.resume() : trainer.stop());

// ---- downloads
function save(fileName: string, data: Uint8Array | string, type: string): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: fileName });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function download(what: "kernel-js" | "kernel-ts" | "torch" | "onnx-cell"): Promise<void> {
  const r = await request<ArtifactReply>({ kind: "artifact", text, dims: sizes(), what });
  if (r.error !== undefined) return void say(r.error);
  save(r.fileName!, r.bytes ?? r.text!, r.bytes ? "application/octet-stream" : "text/plain");
}
$("dl-ts").onclick = () => void download("kernel-ts");
$("dl-js").onclick = () => void download("kernel-js");
$("dl-torch").onclick = () => void download("torch");
$("dl-onnx").onclick = async () => {
  const run = trainer.runs[0];
  if (!run || run.points.length === 0) return void download("onnx-cell"); // the cell alone, untrained
  try {
    save(`${run.label}-trained.onnx`, await trainer.onnx(run), "application/octet-stream");
  } catch (e) {
    say(`cannot export: ${e instanceof Error ? e.message : String(e)}`);
  }
};
$("dl-ckpt").onclick = async () => {
  const run = trainer.runs[0];
  if (!run) return void say("train first: the checkpoint holds the trained weights");
  const files = await trainer.checkpoint(run);
  for (const [name, data] of Object.entries(files)) save(`${run.label}-${name.replace(/^.*\//, "")}`, data, "application/octet-stream");
};

// ---- start: a shared link's state, or the default spec
(async () => {
  try {
    const shared = await decodeShare(location.hash);
    if (shared) {
      $<HTMLInputElement>("sizes").value = shared.sizes;
      $<HTMLSelectElement>("task").value = shared.task;
      $<HTMLSelectElement>("baseline").value = shared.baseline;
      editor.setText(shared.spec);
      return;
    }
  } catch (e) {
    say(e instanceof Error ? e.message : String(e));
  }
  void runCheck();
})();
