// What a build emits: golden files of the lstm and gru modules (so every change to emission shows
// in review; regenerate with UPDATE_GOLDEN=1; a missing golden file fails rather than being
// written), determinism, and every example module passing tsc on its own at the strictest settings.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildFile, compile } from "../driver/index.ts";

const goldenDir = "test/golden";
const golden = [
  { spec: "lstm", dims: { I: 3, H: 4 } },
  { spec: "gru", dims: { I: 3, H: 4 } },
];

/**
 * Compares `code` with the golden file `target`: undefined when they match, else why not. With
 * UPDATE_GOLDEN=1 it (re)writes the file first; without it a missing file is a failure that says
 * how to create it, never a file written behind the reviewer's back.
 */
function compareGolden(code: string, target: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.UPDATE_GOLDEN === "1") writeFileSync(target, code);
  if (!existsSync(target)) {
    const how = "UPDATE_GOLDEN=1 npx vitest run --config test/vitest.config.ts test/emitted.test.ts";
    return `${target} is missing: golden files are never created silently; create it with \`${how}\`, review it and commit it`;
  }
  return readFileSync(target, "utf8") === code ? undefined : `the module differs from ${target}`;
}

describe("golden modules", () => {
  it("a missing golden file fails, writes nothing and says how to create it; UPDATE_GOLDEN=1 creates it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cellc-golden-"));
    try {
      const target = path.join(dir, "m.ts");
      expect(compareGolden("x\n", target, {})).toMatch(/m\.ts is missing: .*`UPDATE_GOLDEN=1 npx vitest run .*test\/emitted\.test\.ts`/);
      expect(existsSync(target)).toBe(false);
      expect(compareGolden("x\n", target, { UPDATE_GOLDEN: "1" })).toBeUndefined();
      expect(readFileSync(target, "utf8")).toBe("x\n");
      expect(compareGolden("y\n", target, {})).toBe(`the module differs from ${target}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const g of golden) {
    it(`${g.spec} at ${JSON.stringify(g.dims)} matches ${goldenDir}`, async () => {
      const file = `examples/specs/${g.spec}.cell`;
      const r = await compile(readFileSync(file, "utf8"), { file, dims: g.dims });
      const m = r.module!;
      const target = path.join(goldenDir, m.fileName);
      const problem = compareGolden(m.code, target);
      // On a mismatch, show the diff; on a missing file, the message.
      if (problem !== undefined && existsSync(target)) expect(m.code).toBe(readFileSync(target, "utf8"));
      expect(problem).toBeUndefined();
    });
  }

  it("a module is exactly what prettier makes of it (with the typescript parser too)", async () => {
    const prettier = await import("prettier");
    const { PRETTIER_OPTIONS } = await import("../backends/ts/module.ts");
    for (const g of golden) {
      const file = `examples/specs/${g.spec}.cell`;
      const code = (await compile(readFileSync(file, "utf8"), { file, dims: g.dims })).module!.code;
      expect(await prettier.format(code, { ...PRETTIER_OPTIONS, parser: "typescript" })).toBe(code);
      expect(await prettier.format(code, PRETTIER_OPTIONS)).toBe(code);
    }
  });

  it("emission is deterministic", async () => {
    const file = "examples/specs/lstmp.cell";
    const a = await compile(readFileSync(file, "utf8"), { file, dims: { I: 3, H: 4, P: 2 } });
    const b = await compile(readFileSync(file, "utf8"), { file, dims: { I: 3, H: 4, P: 2 } });
    expect(a.module!.code).toBe(b.module!.code);
  });

  it("modules import nothing", async () => {
    for (const f of readdirSync(goldenDir)) expect(readFileSync(path.join(goldenDir, f), "utf8")).not.toMatch(/^\s*import\s/m);
  });
});

describe("metadata", () => {
  it("names outputs after their names, else out0, out1, ... in order; duplicates get a suffix", async () => {
    const names = async (file: string, dims: Record<string, number>) =>
      (await compile(readFileSync(file, "utf8"), { file, dims })).module!.meta.outputs.map((o) => o.name);
    expect(await names("test/specs/two_inputs.cell", { I: 2, J: 2, H: 3 })).toEqual(["h", "out1"]);
    expect(await names("test/specs/odd_outputs.cell", { H: 3 })).toEqual(["x", "h", "h_2", "h_3", "b"]);
  });
});

describe("type checking", () => {
  it("every example and test module, optimised and not, passes tsc at the strictest common settings and tsc --init's", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cellc-tsc-"));
    try {
      const files: string[] = [];
      const specs = ["examples/specs", "test/specs"].flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".cell")).map((f) => path.join(d, f)));
      for (const spec of specs) {
        // The WebAssembly modules too, for a few specs (their support code is the same in each;
        // new_functions: the fast functions of its TypeScript fallback, felu ... fcos).
        const wasm = ["lstm.cell", "gru.cell", "every_function.cell", "new_functions.cell"].includes(path.basename(spec));
        const builds: [boolean, "ts" | "wasm"][] = [[true, "ts"], [false, "ts"], ...(wasm ? [[true, "wasm"] as [boolean, "wasm"]] : [])];
        for (const [optimize, target] of builds) {
          const r = await buildFile(spec, { dims: { I: 5, H: 6, P: 3, J: 2 }, optimize, target });
          expect(r.diagnostics).toEqual([]);
          for (const m of r.modules) {
            const f = path.join(dir, `${target === "wasm" ? "wasm" : optimize ? "opt" : "plain"}_${m.fileName}`);
            writeFileSync(f, m.code);
            files.push(f);
          }
        }
      }
      // A file may declare several cells and stacks: at least one module per spec and mode.
      expect(files.length).toBeGreaterThanOrEqual(2 * specs.length + 4);
      const tsc = path.resolve("node_modules/typescript/bin/tsc");
      // Run from the temp folder so no @types from this project leak in: the modules need none.
      // The project is what a user starts with: `tsc --init` (TypeScript 5.9 turns on
      // noUncheckedIndexedAccess, exactOptionalPropertyTypes, verbatimModuleSyntax and
      // isolatedModules) in an ES-module package, plus every further strictness flag.
      execFileSync(process.execPath, [tsc, "--init"], { cwd: dir, stdio: "ignore" });
      writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
      const strictest = {
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        noImplicitReturns: true,
        noImplicitOverride: true,
        noFallthroughCasesInSwitch: true,
        noPropertyAccessFromIndexSignature: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        noEmit: true,
        lib: ["es2022"],
        // Every export's type can be read off the text: --format js writes declarations file by
        // file (transpileDeclaration, backends/ts/javascript.ts).
        isolatedDeclarations: true,
        declaration: true,
      };
      writeFileSync(
        path.join(dir, "tsconfig.strictest.json"),
        JSON.stringify({ extends: "./tsconfig.json", compilerOptions: strictest, files: files.map((f) => path.basename(f)) }),
      );
      let out = "";
      try {
        execFileSync(process.execPath, [tsc, "-p", "tsconfig.strictest.json"], { encoding: "utf8", cwd: dir });
      } catch (e) {
        out = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(out).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
