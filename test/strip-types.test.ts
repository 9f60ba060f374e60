// importModule strips a generated module's types with esbuild where it can be loaded and with
// TypeScript elsewhere (driver/strip-types.ts): both must give modules that compute the same
// numbers, bit for bit, and the TypeScript path must be what runs where esbuild is missing.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CellKernel } from "../abi/kernel.ts";
import { compile } from "../driver/index.ts";
import { stripTypes } from "../driver/strip-types.ts";

const spec = readFileSync(new URL("../examples/specs/lstm.cell", import.meta.url), "utf8");
const load = async (js: string) => (await import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`)) as CellKernel;

describe("stripTypes", () => {
  it("esbuild's and TypeScript's JavaScript of a module compute the same forward and backward", async () => {
    for (const target of ["ts", "wasm"] as const) {
      const code = (await compile(spec, { dims: { I: 3, H: 5 }, target, format: false })).module!.code;
      const [a, b] = await Promise.all([stripTypes(code, "esbuild"), stripTypes(code, "typescript")]);
      expect([a.by, b.by]).toEqual(["esbuild", "typescript"]);
      const results = [];
      for (const k of [await load(a.js), await load(b.js)]) {
        const params = k.createParams({ seed: 7 });
        const x = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.sin(i));
        const f = k.forward(params, { x }, { batchSize: 2, lengths: [4, 3] });
        const g = k.backward(params, f.tape, { h: Float32Array.from({ length: 4 * 2 * 5 }, (_, i) => Math.cos(i)) });
        results.push([Array.from(f.outputs["h"]!), Array.from(g.params["U_f"]!), Array.from(g.inputs["x"]!)]);
      }
      expect(results[0]!.flat().some((v) => v !== 0)).toBe(true);
      expect(results[0], target).toEqual(results[1]);
    }
  });

  it("two texts that differ only in a comment stay two modules (a data: URL import is cached by its text)", async () => {
    const code = "export const probe = typeof WebAssembly;\n";
    for (const using of ["esbuild", "typescript"] as const) {
      const [a, b] = await Promise.all([stripTypes(code, using), stripTypes(`${code}// another\n`, using)]);
      expect(a.js, using).not.toEqual(b.js);
    }
  });
});
