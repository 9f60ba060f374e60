// Imports flow one way: no import cycle in the shipped source folders, and no arrow between
// top-level folders against the layering (grammar and abi at the bottom, then compiler, then the
// backends, then the drivers: driver/ (the compile API), jit, cli, plugin; the runtime beside the
// compiler, depending on neither it nor the backends). The
// graph is read by scripts/imports.ts. Arrows that exist today and could not be removed yet are
// listed below, each with its reason: the list may only shrink.

import { describe, expect, it } from "vitest";
import { cycles, folderArrows, importGraph, type ImportGraph } from "../scripts/imports.ts";
import { BACKENDS, RESERVED_NAMES } from "../backends/index.ts";
import { compile, planKernel } from "../driver/index.ts";
import { webgpuSupportText } from "../backends/webgpu/support.ts";
import { ABI_PARTS, SUPPORT_FILES, supportText } from "../backends/ts/support.ts";
import { fastMathSource } from "../backends/ts/fastmath.ts";
import { ROW_PRIMITIVES } from "../compiler/primitives/rows.ts";
import { wasmSupportText } from "../backends/wasm/support.ts";
import { ts } from "ts-morph";

/** For each folder, the top-level folders it must not import. */
const FORBIDDEN: Record<string, readonly string[]> = {
  // Data formats read and written on both sides of the stack (ONNX's protobuf schema, the names a
  // cell's ONNX graph and PyTorch state dict use): a leaf everyone may import, importing only abi/.
  formats: ["grammar", "compiler", "backends", "driver", "runtime", "jit", "cli", "plugin", "editor", "studies", "examples"],
  abi: ["formats", "grammar", "compiler", "backends", "driver", "runtime", "jit", "cli", "plugin", "editor", "studies"],
  grammar: ["abi", "formats", "compiler", "backends", "driver", "runtime", "jit", "cli", "plugin", "editor", "studies"],
  compiler: ["backends", "driver", "runtime", "jit", "cli", "plugin", "editor", "studies"],
  backends: ["driver", "runtime", "jit", "cli", "plugin", "editor", "studies"],
  // The compile API (the package's main entry): checks and plans with compiler/, prints with
  // backends/. The other drivers (jit, cli, plugin, studies) stand beside it and may import it.
  driver: ["jit", "cli", "plugin", "editor", "studies", "examples"],
  runtime: ["compiler", "backends", "driver", "jit", "cli", "plugin", "editor", "studies"],
  jit: ["cli", "plugin", "editor", "studies", "examples"],
  // The study harness (cellc study): on top of the compiler, the runtime and jit; below the CLI.
  studies: ["cli", "plugin", "editor", "examples"],
  editor: ["backends", "driver", "runtime", "jit", "cli", "plugin", "studies"],
};

/** The abi/ files whose text the TypeScript support code carries ahead of its own (abi/ is their
 *  one home: the contract's facts that are code, the initializers). */
const INLINED_ABI = new Set(ABI_PARTS.map((n) => `abi/${n}.ts`));

/** Support files of the backends are inlined as text into generated modules: each is a leaf that
 *  imports nothing but other support files (inlined abi/ files among them), so code anywhere may
 *  import it as it imports abi. */
const isSupportLeaf = (path: string) => /^backends\/\w+\/support\//.test(path) || INLINED_ABI.has(path);

/** Forbidden arrows that exist today, each with why it is still there. */
const KNOWN: Record<string, string> = {};

/** Cycles not yet broken, each as its files joined with ", ". */
const KNOWN_CYCLES: Record<string, string> = {};

function forbiddenArrows(graph: ImportGraph): string[] {
  const top = (p: string) => p.split("/")[0]!;
  return folderArrows(graph)
    .filter(({ from, to }) => (FORBIDDEN[top(from)] ?? []).includes(top(to)) && !isSupportLeaf(to))
    .map(({ from, to }) => `${from} -> ${to}`)
    .sort();
}

describe("layering", () => {
  const graph = importGraph();

  it("reads the whole tree", () => {
    // The walker resolves relative imports, type-only ones included.
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get("backends/index.ts")).toContain("backends/backend.ts");
    expect(graph.get("compiler/pipeline.ts")).toContain("compiler/ir.ts");
    // The compile API is a driver: it prints with the backends.
    expect(graph.get("driver/index.ts")).toContain("backends/index.ts");
  });

  it("finds a cycle and a forbidden arrow when there is one", () => {
    const g: ImportGraph = new Map([
      ["compiler/a.ts", ["compiler/b.ts"]],
      ["compiler/b.ts", ["compiler/c.ts", "backends/x.ts"]],
      ["compiler/c.ts", ["compiler/a.ts"]],
      ["backends/x.ts", []],
      ["backends/ts/support/y.ts", []],
      ["runtime/r.ts", ["backends/ts/support/y.ts"]],
    ]);
    expect(cycles(g)).toEqual([["compiler/a.ts", "compiler/b.ts", "compiler/c.ts"]]);
    expect(forbiddenArrows(g)).toEqual(["compiler/b.ts -> backends/x.ts"]);
  });

  it("has no import cycle in the shipped folders", () => {
    const found = cycles(graph).map((c) => c.join(", "));
    expect(found.filter((c) => !(c in KNOWN_CYCLES))).toEqual([]);
    // A known cycle that is gone must leave the list.
    expect(Object.keys(KNOWN_CYCLES).filter((c) => !found.includes(c))).toEqual([]);
  });

  it("has no forbidden arrow between top-level folders beyond the known ones", () => {
    const arrows = forbiddenArrows(graph);
    expect(arrows.filter((a) => !(a in KNOWN))).toEqual([]);
    // A known exception that is gone must leave the list, so it only shrinks.
    expect(Object.keys(KNOWN).filter((a) => !arrows.includes(a))).toEqual([]);
  });

  it("keeps the backends' support files self-contained", () => {
    // They are inlined as text into generated modules: an import of anything but another support
    // file (whose text the module carries too) would be a name the module never defines.
    const bad = [...graph].filter(([from]) => isSupportLeaf(from)).flatMap(([from, to]) => to.filter((t) => !isSupportLeaf(t)).map((t) => `${from} -> ${t}`));
    expect(bad).toEqual([]);
    // The inlined abi/ files import nothing at all (abi/ is below everything).
    expect([...INLINED_ABI].map((f) => [f, graph.get(f)])).toEqual([...INLINED_ABI].map((f) => [f, []]));
  });
});

describe("names the printers use for themselves", () => {
  // compiler/plan/names.ts keeps spec names off every word a backend declares it uses
  // (Backend.reserved); the support code a module carries is read here from its source, so a name
  // added there without its backend reserving it fails this test instead of a spec that uses it.
  const reserved = (target: string) => new Set(BACKENDS.get(target)!.reserved);
  const declared = (text: string): string[] =>
    ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest, true).statements.flatMap((s) => {
      if (ts.isVariableStatement(s)) return s.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
      if (ts.isFunctionDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isClassDeclaration(s)) return s.name ? [s.name.text] : [];
      return [];
    });

  it("reserves every top-level name of the TypeScript support code", () => {
    const names = [...SUPPORT_FILES.map((n) => supportText(n)), fastMathSource(), ...[...ROW_PRIMITIVES.values()].map((p) => p.ts.source)].flatMap(declared);
    expect(names).toContain("checkObject");
    for (const target of ["ts", "wasm", "webgpu"]) expect(names.filter((n) => !reserved(target).has(n)), target).toEqual([]);
  });

  it("reserves every top-level name of the WebAssembly support code", () => {
    const names = (["heap", "kernel", "threads"] as const).flatMap((n) => declared(wasmSupportText(n)));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !reserved("wasm").has(n))).toEqual([]);
  });

  it("reserves every top-level name of the WebGPU support code", () => {
    const names = declared(webgpuSupportText());
    expect(names).toContain("webgpuKernel");
    expect(names.filter((n) => !reserved("webgpu").has(n))).toEqual([]);
  });

  it("reserves every top-level name of a printed TypeScript, WebAssembly and WebGPU module", async () => {
    // Every spec name starts with zq, so the names the plan derives from them contain it; every
    // other top-level name is the printer's or its support code's, and must be reserved.
    const spec = `cell zqcell(N) {
  input zqx: [N]
  state zqh: [N]
  param zqW: [N, N]
  zqh' = tanh(zqW @ zqx + zqh)
  output zqh'
}
`;
    for (const target of ["ts", "wasm", "webgpu"]) {
      const r = await compile(spec, { dims: { N: 4 }, target, format: false });
      const names = declared(r.module!.code).filter((n) => !n.includes("zq"));
      expect(names.length, target).toBeGreaterThan(20);
      expect(names.filter((n) => !reserved(target).has(n)), target).toEqual([]);
    }
  });

  it("a plan's identifiers avoid every backend's words, whatever the target (any backend prints any plan)", () => {
    // One word of each backend's own: WebGPU support, Python, TypeScript support, an object member.
    const spec = `cell c(N) {
  input lambda: [N]
  state webgpuKernel: [N]
  param checkObject: [N, N]
  webgpuKernel' = tanh(checkObject @ lambda + webgpuKernel)
  output webgpuKernel'
}
`;
    for (const target of BACKENDS.keys()) {
      const { plan } = planKernel(spec, { dims: { N: 2 }, target });
      const names = plan!.buffers.map((b) => b.name);
      expect(names.filter((n) => RESERVED_NAMES.has(n)), target).toEqual([]);
      expect(names, target).toEqual(expect.arrayContaining(["lambda_2", "webgpuKernel_2", "checkObject_2"]));
    }
  });
});
