// A TypeScript module as plain JavaScript plus its declarations (`cellc build --format js`): what
// tsc emits for the module on its own (ES2022, an ES module, comments kept), through the
// TypeScript compiler API — transpileModule for the JavaScript and transpileDeclaration for the
// .d.ts. Both work file by file, with no type checking (a program over the module and the
// standard library costs several times as much), which the printers' modules allow: they import
// nothing, pass isolatedModules, and every export has a type a declaration emitter can read off
// the text (isolatedDeclarations). Any backend that prints a TypeScript module (its extension is
// "ts") can be emitted this way.

export interface JavaScriptModule {
  /** The module's JavaScript (ESM). */
  js: string;
  /** Its declarations (.d.ts). */
  dts: string;
}

/** `code` (the TypeScript module `fileName`, e.g. lstm_I8_H16.ts) as JavaScript and declarations. */
export async function toJavaScript(code: string, fileName: string): Promise<JavaScriptModule> {
  const { default: ts } = await import("typescript");
  const compilerOptions: import("typescript").CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    strict: true,
    removeComments: false,
    newLine: ts.NewLineKind.LineFeed,
  };
  const js = ts.transpileModule(code, { fileName, compilerOptions, reportDiagnostics: true });
  const dts = ts.transpileDeclaration(code, { fileName, compilerOptions, reportDiagnostics: true });
  const problems = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])];
  if (problems.length > 0) {
    // The printers' modules are written for this (test/kernel-format.test.ts): a cellc bug.
    const first = problems[0]!;
    const at = first.start === undefined ? "" : ` at '${code.slice(first.start, first.start + 40).split("\n")[0]}'`;
    throw new Error(`cannot emit JavaScript for ${fileName}: ${ts.flattenDiagnosticMessageText(first.messageText, " ")}${at}`);
  }
  return { js: js.outputText, dts: dts.outputText };
}
