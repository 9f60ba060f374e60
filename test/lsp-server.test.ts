// The language server through the protocol, as an editor drives it: the server runs in its own
// process (editor/server/bin.ts over stdio); the test opens specs, edits one, and asks for
// diagnostics, hover, definitions (into an imported file) and completion; then it checks which
// documents the server re-checks after edits (its `cellc/checked` notifications): only the edited
// one and the open files that import it, once a burst of edits pauses.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type Hover,
  type Location,
  type CompletionItem,
  type PublishDiagnosticsParams,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";

const root = new URL("..", import.meta.url).pathname;
const lstm = `cell lstm(I, H) {
  input x: [I]
  state h: [H], c: [H]
  param W_f: [H, I], U_f: [H, H], b_f: [H] = ones
  param W_g: [H, I], U_g: [H, H], b_g: [H]
  f = sigmoid(W_f @ x + U_f @ h + b_f)
  g = tanh(W_g @ x + U_g @ h + b_g)
  c' = f * c + (1 - f) * g
  h' = tanh(c')
  output h'
}
`;
const deep = `import { lstm } from "./lstm.cell"

stack deep(I, H) {
  layer lstm(I, H)
  layer lstm(H, H)
}
`;

let dir: string;
let server: ChildProcess;
let conn: ProtocolConnection;
const diagnostics = new Map<string, PublishDiagnosticsParams[]>();
/** Every check the server reports, in order. */
const checks: { uri: string; version: number }[] = [];
const waiters: (() => void)[] = [];

/** The next diagnostics published for `uri` after `since` earlier ones. */
async function diagnosticsFor(uri: string, since: number): Promise<PublishDiagnosticsParams> {
  for (;;) {
    const list = diagnostics.get(uri) ?? [];
    if (list.length > since) return list[list.length - 1]!;
    await new Promise<void>((r) => waiters.push(r));
  }
}

/** The diagnostics published for `uri` at `version`, once they arrive. */
async function diagnosticsAt(uri: string, version: number): Promise<PublishDiagnosticsParams> {
  for (;;) {
    const found = (diagnostics.get(uri) ?? []).find((p) => p.version === version);
    if (found) return found;
    await new Promise<void>((r) => waiters.push(r));
  }
}

const published = (uri: string) => (diagnostics.get(uri) ?? []).length;
const checksOf = (uri: string) => checks.filter((c) => c.uri === uri);

const uri = (name: string) => pathToFileURL(join(dir, name)).href;
const at = (text: string, line: number, needle: string, offset = 0) => ({ line, character: text.split("\n")[line]!.indexOf(needle) + offset });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cellc-lsp-"));
  writeFileSync(join(dir, "lstm.cell"), lstm);
  writeFileSync(join(dir, "deep.cell"), deep);
  server = spawn(process.execPath, ["--import", "tsx", join(root, "editor/server/bin.ts"), "--stdio"], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  conn = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
    diagnostics.set(p.uri, [...(diagnostics.get(p.uri) ?? []), p]);
    waiters.splice(0).forEach((w) => w());
  });
  conn.onNotification("cellc/checked", (c: { uri: string; version: number }) => void checks.push(c));
  conn.listen();
  const init = (await conn.sendRequest("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    capabilities: {},
    initializationOptions: { reportChecks: true },
  })) as {
    capabilities: Record<string, unknown>;
  };
  expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true });
  await conn.sendNotification("initialized", {});
});

afterAll(async () => {
  await conn.sendRequest("shutdown").catch(() => undefined);
  await conn.sendNotification("exit").catch(() => undefined);
  conn.dispose();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("cellc language server", () => {
  it("publishes no diagnostics for a clean spec, then the checker's as the text changes", async () => {
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: uri("lstm.cell"), languageId: "cell", version: 1, text: lstm } });
    expect((await diagnosticsFor(uri("lstm.cell"), 0)).diagnostics).toEqual([]);

    // A typo, as typed: `U_f @ hh` names nothing.
    const broken = lstm.replace("U_f @ h +", "U_f @ hh +");
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: uri("lstm.cell"), version: 2 },
      contentChanges: [{ text: broken }],
    });
    const d = (await diagnosticsFor(uri("lstm.cell"), 1)).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: "CE203", severity: 1, source: "cellc", range: { start: at(broken, 5, "hh"), end: at(broken, 5, "hh", 2) } });
    expect(d[0]!.message).toContain("unknown name 'hh'");

    await conn.sendNotification("textDocument/didChange", { textDocument: { uri: uri("lstm.cell"), version: 3 }, contentChanges: [{ text: lstm }] });
    expect((await diagnosticsFor(uri("lstm.cell"), 2)).diagnostics).toEqual([]);
  });

  it("hovers with each name's symbolic shape", async () => {
    const hover = async (line: number, needle: string) => {
      const h = (await conn.sendRequest("textDocument/hover", { textDocument: { uri: uri("lstm.cell") }, position: at(lstm, line, needle, 1) })) as Hover | null;
      return h === null ? null : (h.contents as { value: string }).value;
    };
    expect(await hover(5, "W_f")).toContain("param W_f: [H, I]");
    expect(await hover(5, "f =")).toContain("local f: [H]");
    expect(await hover(5, " x ")).toContain("input x: [I]");
    expect(await hover(7, "c'")).toContain("state c: [H]");
    expect(await hover(0, "H)")).toContain("size H");
    expect(await hover(0, "lstm")).toContain("cell lstm(I, H) { inputs x: [I]; states h: [H], c: [H] }");
    expect(await hover(5, "sigmoid")).toBeNull(); // a function, not a name of the spec
  });

  it("goes to definitions in the file and across imports", async () => {
    const def = async (name: string, text: string, line: number, needle: string) =>
      (await conn.sendRequest("textDocument/definition", { textDocument: { uri: uri(name) }, position: at(text, line, needle, 1) })) as Location | null;
    // U_f used on line 5 is declared on line 3.
    expect(await def("lstm.cell", lstm, 5, "U_f")).toEqual({ uri: uri("lstm.cell"), range: { start: at(lstm, 3, "U_f"), end: at(lstm, 3, "U_f", 3) } });
    // f (a local) is defined where it is first assigned.
    expect(await def("lstm.cell", lstm, 7, "f *")).toEqual({ uri: uri("lstm.cell"), range: { start: at(lstm, 5, "f"), end: at(lstm, 5, "f", 1) } });

    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: uri("deep.cell"), languageId: "cell", version: 1, text: deep } });
    expect((await diagnosticsFor(uri("deep.cell"), 0)).diagnostics).toEqual([]);
    const lstmDecl = { uri: uri("lstm.cell"), range: { start: at(lstm, 0, "lstm"), end: at(lstm, 0, "lstm", 4) } };
    expect(await def("deep.cell", deep, 4, "lstm")).toEqual(lstmDecl);
    expect(await def("deep.cell", deep, 0, "lstm")).toEqual(lstmDecl);
  });

  it("completes the cell's names, its sizes and the functions", async () => {
    const items = (await conn.sendRequest("textDocument/completion", { textDocument: { uri: uri("lstm.cell") }, position: { line: 8, character: 2 } })) as CompletionItem[];
    const labels = items.map((i) => i.label);
    for (const name of ["x", "h", "c", "W_f", "U_g", "b_g", "f", "g", "I", "H", "lstm", "sigmoid", "tanh"]) expect(labels).toContain(name);
    expect(items.find((i) => i.label === "W_g")!.detail).toBe("param W_g: [H, I]");
    // Names of the other file's stack are not offered inside this cell.
    expect(labels).not.toContain("deep");
  });
});

describe("what the server re-checks", () => {
  // Over 30 KB: 110 cells like lstm, each under its own name.
  const big = Array.from({ length: 110 }, (_, i) => lstm.replace("cell lstm(", `cell lstm_${i}(`)).join("\n");
  const small = `cell small(I, H) {\n  input x: [I]\n  state h: [H]\n  param W: [H, I], U: [H, H]\n  h' = tanh(W @ x + U @ h)\n  output h'\n}\n`;
  const top = `import { deep } from "./deep.cell"\n\nstack top(I, H) {\n  layer deep(I, H)\n}\n`;
  const open = async (name: string, text: string) => {
    const before = published(uri(name));
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: uri(name), languageId: "cell", version: 1, text } });
    return diagnosticsFor(uri(name), before);
  };
  const change = (name: string, version: number, text: string) =>
    conn.sendNotification("textDocument/didChange", { textDocument: { uri: uri(name), version }, contentChanges: [{ text }] });

  it("50 quick edits to a small spec check it (its last version) and never the big one open beside it", async () => {
    expect(big.length).toBeGreaterThan(30_000);
    expect((await open("big.cell", big)).diagnostics).toEqual([]);
    expect((await open("small.cell", small)).diagnostics).toEqual([]);
    const bigChecks = checksOf(uri("big.cell")).length;
    const bigPublished = published(uri("big.cell"));
    expect(bigChecks).toBe(1);

    // Typing `hh` for `h`, one keystroke at a time, in a comment that grows first.
    const versions: string[] = [];
    for (let i = 1; i <= 49; i++) versions.push(small.replace("  output h'", `  // ${"x".repeat(i)}\n  output h'`));
    versions.push(small.replace("U @ h)", "U @ hh)"));
    for (const [i, text] of versions.entries()) void change("small.cell", i + 2, text);

    const last = await diagnosticsAt(uri("small.cell"), 51);
    expect(last.diagnostics.map((d) => [d.code, d.message])).toEqual([["CE203", expect.stringContaining("unknown name 'hh'")]]);
    // A later document's check comes after any the edits queued: by then every one has been seen.
    expect((await open("tiny.cell", small.replace("cell small(", "cell tiny("))).diagnostics).toEqual([]);

    expect(checksOf(uri("big.cell"))).toHaveLength(bigChecks);
    expect(published(uri("big.cell"))).toBe(bigPublished);
    const smallChecks = checksOf(uri("small.cell")).filter((c) => c.version > 1);
    expect(smallChecks[smallChecks.length - 1]!.version).toBe(51);
    // The edits came faster than the pause the server waits for: far fewer checks than edits.
    expect(smallChecks.length).toBeLessThan(10);
    // Nothing published for the small spec is older than a version already published.
    const smallVersions = (diagnostics.get(uri("small.cell")) ?? []).map((p) => p.version!);
    expect([...smallVersions].sort((a, b) => a - b)).toEqual(smallVersions);
  });

  it("an edit to an imported spec re-checks the open files that import it, directly or not, and only them", async () => {
    // lstm.cell is open (v3) and imported by deep.cell (open), which top.cell imports.
    expect((await open("top.cell", top)).diagnostics).toEqual([]);
    const before = { deep: published(uri("deep.cell")), top: published(uri("top.cell")), big: checksOf(uri("big.cell")).length, small: checksOf(uri("small.cell")).length };

    await change("lstm.cell", 4, lstm.replace("cell lstm(", "cell lstm_renamed("));
    const deepNow = await diagnosticsFor(uri("deep.cell"), before.deep);
    expect(deepNow.diagnostics.map((d) => d.code)).toEqual(["CE302"]);
    expect(deepNow.diagnostics[0]!.range.start).toEqual(at(deep, 0, "lstm"));
    const topNow = await diagnosticsFor(uri("top.cell"), before.top);
    // top.cell shows deep.cell's error at its top, naming the file and place.
    const inDeep = topNow.diagnostics.find((d) => d.code === "CE302");
    expect(inDeep!.message).toContain(`(in ${join(dir, "deep.cell")}:1:`);

    await change("lstm.cell", 5, lstm);
    expect((await diagnosticsFor(uri("deep.cell"), before.deep + 1)).diagnostics).toEqual([]);
    expect((await diagnosticsFor(uri("top.cell"), before.top + 1)).diagnostics).toEqual([]);
    expect(checksOf(uri("big.cell"))).toHaveLength(before.big);
    expect(checksOf(uri("small.cell"))).toHaveLength(before.small);
  });

  it("a request about a document just edited answers from its new text, before the pause is over", async () => {
    await change("small.cell", 52, small.replace("param W:", "param Wnew:").replace("tanh(W @", "tanh(Wnew @"));
    const h = (await conn.sendRequest("textDocument/hover", { textDocument: { uri: uri("small.cell") }, position: { line: 3, character: 9 } })) as Hover | null;
    expect((h!.contents as { value: string }).value).toContain("param Wnew: [H, I]");
    expect((await diagnosticsAt(uri("small.cell"), 52)).diagnostics).toEqual([]);
  });
});
