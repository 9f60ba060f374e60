#!/usr/bin/env node
// `cellc-language-server --stdio`: the language server over stdin/stdout (what an editor starts).
import { createConnection, ProposedFeatures } from "vscode-languageserver/node";
import { startServer } from "./server.ts";

startServer(createConnection(ProposedFeatures.all));
