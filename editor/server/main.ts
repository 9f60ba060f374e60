// `cellc/language-server`: start the cellc language server on a connection of your own, e.g. in
// an editor extension that runs it in-process. The `cellc-language-server` bin runs it over stdio.
export { startServer } from "./server.ts";
export { analyzeSpec, occurrenceAt, scopeAt, type SpecAnalysis, type SpecSymbol, type SpecOccurrence, type SymbolKind } from "../../compiler/query.ts";
