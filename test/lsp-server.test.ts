// The language server through the protocol, as an editor drives it: the server runs in its own
// process (editor/server/bin.ts over stdio); the test opens specs, edits one, and asks for
// diagnostics, hover, definitions (into an imported file) and completion.

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
const waiters: (() => void)[] = [];

/** The next diagnostics published for `uri` after `since` earlier ones. */
async function diagnosticsFor(uri: string, since: number): Promise<PublishDiagnosticsParams> {
  for (;;) {
    const list = diagnostics.get(uri) ?? [];
    if (list.length > since) return list[list.length - 1]!;
    await new Promise<void>((r) => waiters.push(r));
  }
}

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
  conn.listen();
  const init = (await conn.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {} })) as {
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
