// The VS Code side of cellc's editor support: starts the language server (cellc's
// dist/editor/server/bin.js, from the workspace's node_modules/cellc when there is one, so the
// server matches the compiler the project builds with) and connects it to .cell files.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

/** The server script: the setting, else the workspace's cellc, else the one installed with this extension. */
function serverPath() {
  const configured = vscode.workspace.getConfiguration("cellc").get("server.path");
  if (configured) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const candidate = path.join(folder.uri.fsPath, "node_modules", "cellc", "dist", "editor", "server", "bin.js");
    if (fs.existsSync(candidate)) return candidate;
  }
  return path.join(path.dirname(require.resolve("cellc/package.json")), "dist", "editor", "server", "bin.js");
}

function activate(context) {
  const module = serverPath();
  const run = { module, transport: TransportKind.stdio };
  client = new LanguageClient(
    "cellc",
    "cellc",
    { run, debug: run },
    { documentSelector: [{ scheme: "file", language: "cell" }, { scheme: "untitled", language: "cell" }] },
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
