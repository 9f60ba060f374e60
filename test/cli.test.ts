// The `cellc` command line, run as a user runs it: the real bin in a child process, in temp
// directories. Checks exit codes (0 ok, 1 spec errors, 2 usage), messages, the files a build
// writes (against the compiler API called in-process), the config file and the watch mode.

import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../cli/config.ts";
import { buildFile } from "../driver/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "cli/bin/cellc.mjs");
const fixtures = join(root, "test/fixtures/cli");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cellc(args: string[], cwd: string, timeout = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs invocations a few at a time: each spawn mostly waits on start-up, not on the CPU. */
async function cellcAll(runs: { args: string[]; cwd: string }[], limit = 4): Promise<Run[]> {
  const results: Run[] = new Array(runs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const i = next++;
      results[i] = await cellc(runs[i]!.args, runs[i]!.cwd);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, runs.length) }, worker));
  return results;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cellc-cli-"));
  cpSync(fixtures, join(work, "fx"), { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("cellc usage", () => {
  it("prints help naming every command, and the version", async () => {
    const [help, buildHelp, version] = await cellcAll([
      { args: ["--help"], cwd: work },
      { args: ["build", "-h"], cwd: work },
      { args: ["--version"], cwd: work },
    ]);
    expect(help!.code).toBe(0);
    for (const word of ["check", "build", "help", "--config", "--version"]) expect(help!.stdout).toContain(word);
    expect(buildHelp!.code).toBe(0);
    for (const flag of ["--dims", "--out", "--cell", "--no-opt", "--config", "--watch"])
      expect(buildHelp!.stdout).toContain(flag);

    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(version!.code).toBe(0);
    expect(version!.stdout.trim()).toBe(`cellc ${pkg.version}`);
  });

  it("help lists every command (export and study included) and every exit status, and each command's help is reachable", async () => {
    const [help, ...topics] = await cellcAll([
      { args: ["help"], cwd: work },
      ...["check", "build", "export", "study", "worker"].map((c) => ({ args: ["help", c], cwd: work })),
    ]);
    expect(help!.code).toBe(0);
    const commands = help!.stdout.split("Commands:\n")[1]!.split("\n\n")[0]!;
    const listed = [...commands.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
    expect(new Set(listed)).toEqual(new Set(["check", "build", "export", "study", "worker", "help"]));
    const exit = help!.stdout.slice(help!.stdout.indexOf("Exit status:")).replace(/\s+/g, " ");
    for (const status of ["0 ok", "1 a spec has errors", "2 usage error", "70 internal error"]) expect(exit).toContain(status);
    for (const [i, name] of ["check", "build", "export", "study", "worker"].entries()) {
      expect(topics[i]!.code, topics[i]!.stderr).toBe(0);
      expect(topics[i]!.stdout).toMatch(new RegExp(`^Usage: cellc ${name} `));
    }
  });

  it("rejects bad invocations with exit 2, a one-line reason and the usage", async () => {
    const cases: [string[], string][] = [
      [[], "missing command"],
      [["frobnicate"], "unknown command 'frobnicate'"],
      [["build", "fx/ok", "--out", "o", "--fast"], "unknown option '--fast'"],
      [["check", "fx/nope.cell"], "no such file or directory: fx/nope.cell"],
      [["build", "fx/ok"], "missing --out"],
      [["build", "fx/ok", "--out"], "--out needs a value"],
      [["build", "fx/ok", "--out", "o", "--dims", "I="], "I needs a value"],
      [["build", "fx/ok", "--out", "o", "--dims", "I=abc"], "I must be a positive integer, got 'abc'"],
      [["build", "fx/ok", "--out", "o", "--dims", "I=-3"], "I must be a positive integer, got '-3'"],
      [["build", "fx/ok", "--out", "o", "--dims", "I=1.5"], "I must be a positive integer, got '1.5'"],
      [["build", "fx/ok", "--out", "o", "--dims", "=4"], "missing the size name"],
      [["build", "fx/ok", "--out", "o", "--dims", "I=3", "--dims", "I=4"], "binds I twice"],
    ];
    const runs = await cellcAll(cases.map(([args]) => ({ args, cwd: work })));
    for (const [i, [args, reason]] of cases.entries()) {
      const r = runs[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      const lines = r.stderr.split("\n");
      expect(lines[0]).toMatch(/^cellc: /);
      expect(lines[0]).toContain(reason);
      expect(r.stderr).toContain("Usage: cellc");
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(existsSync(join(work, "o"))).toBe(false); // nothing was written by a rejected build
  });
});

describe("cellc check", () => {
  it("passes clean specs and reports every error with a code frame", async () => {
    const [ok, bad] = (await cellcAll([
      { args: ["check", "fx/ok"], cwd: work },
      { args: ["check", "fx/bad.cell", "fx/ok/pair.cell"], cwd: work },
    ])) as [Run, Run];
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("checked 2 specs: no errors");

    expect(bad.code).toBe(1);
    // W @ h on line 8 (W is [H, I], h is [H]) and the unknown q on line 9, both in one run.
    expect(bad.stderr).toMatch(/fx\/bad\.cell:8:\d+ error CE201/);
    expect(bad.stderr).toMatch(/fx\/bad\.cell:9:\d+ error CE203: unknown name 'q'/);
    expect(bad.stderr).toContain("   8 |   a = tanh(W @ h + b)");
    expect(bad.stderr).toMatch(/\n\s+\|\s+\^+/);
    expect(bad.stderr).toContain("checked 2 specs: 2 errors in 1 spec");
  });
});

describe("cellc build", () => {
  it("writes one module per declared cell, identical to the compiler API's output", async () => {
    const [r, one] = (await cellcAll([
      { args: ["build", "fx/ok", "--dims", "I=3", "--dims", "H=4", "--out", "gen"], cwd: work },
      // --cell picks one cell across several specs (the others are skipped, not errors); the
      // unbound H takes the cell's default, 5.
      { args: ["build", "fx/ok", "--dims", "I=2", "--out", "gen1", "--cell", "relu_rnn"], cwd: work },
    ])) as [Run, Run];
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // pair.cell declares tanh_rnn and relu_rnn; stack.cell declares two_layer (the imported cell is not rebuilt).
    const expected = new Map<string, string>();
    for (const spec of ["fx/ok/pair.cell", "fx/ok/stack.cell"]) {
      const api = await buildFile(join(work, spec), { dims: { I: 3, H: 4 } });
      expect(api.diagnostics).toEqual([]);
      for (const m of api.modules) expected.set(m.fileName, m.code);
    }
    expect([...expected.keys()].sort()).toEqual(["relu_rnn_I3_H4.ts", "tanh_rnn_I3_H4.ts", "two_layer_I3_H4.ts"]);
    expect(readdirSync(join(work, "gen")).sort()).toEqual([...expected.keys()].sort());
    for (const [name, code] of expected) {
      const text = readFileSync(join(work, "gen", name), "utf8");
      expect(text).toBe(code);
      expect(text.startsWith("//")).toBe(true); // a header comment, not an import
      expect(text).not.toMatch(/^import /m); // self-contained
    }
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => /^wrote gen\//.test(l))).toHaveLength(3);
    expect(r.stdout).toMatch(/wrote gen\/relu_rnn_I3_H4\.ts \(relu_rnn, I=3 H=4, [\d,]+ params, \d+ ms/);
    expect(lines.at(-1)).toMatch(/^built 3 modules from 2 specs in \d+ ms$/);

    expect(one.code).toBe(0);
    expect(readdirSync(join(work, "gen1"))).toEqual(["relu_rnn_I2_H5.ts"]);
    expect(one.stdout).toContain("(relu_rnn, I=2 H=5, ");
  });

  it("--target wasm writes WebAssembly modules (as the API does) and --emit-wat their text; a bad target is a usage error", async () => {
    const [r, bad, noWasm] = (await cellcAll([
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--cell", "tanh_rnn", "--target", "wasm", "--emit-wat", "--out", "genw"], cwd: work },
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--target", "wat", "--out", "genx"], cwd: work },
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--emit-wat", "--out", "geny"], cwd: work },
    ])) as [Run, Run, Run];
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readdirSync(join(work, "genw")).sort()).toEqual(["tanh_rnn_I3_H4.ts", "tanh_rnn_I3_H4.wat"]);
    const api = await buildFile(join(work, "fx/ok/pair.cell"), { dims: { I: 3, H: 4 }, cell: "tanh_rnn", target: "wasm" });
    expect(readFileSync(join(work, "genw", "tanh_rnn_I3_H4.ts"), "utf8")).toBe(api.modules[0]!.code);
    const wat = readFileSync(join(work, "genw", "tanh_rnn_I3_H4.wat"), "utf8");
    expect(wat).toMatch(/^;; cellc: cell tanh_rnn with I=3, H=4, f32 \(f32x4\)/);
    expect(wat).toContain('(func $forward (export "forward")');
    expect(wat).toMatch(/;; pair\.cell:\d+ /); // spec lines as comments
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--target 'wat' is not a target (targets: ts, wasm, torch, webgpu)");
    expect(noWasm.code).toBe(2);
    expect(noWasm.stderr).toContain("--emit-wat needs --target wasm");
  });

  it("--threads N sets a WebAssembly module's default threads; a bad count or another target is a usage error", async () => {
    const [r, zero, word, noWasm] = (await cellcAll([
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--cell", "tanh_rnn", "--target", "wasm", "--threads", "3", "--out", "gent"], cwd: work },
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--target", "wasm", "--threads", "0", "--out", "gent0"], cwd: work },
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--target", "wasm", "--threads", "two", "--out", "gent1"], cwd: work },
      { args: ["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--threads", "2", "--out", "gent2"], cwd: work },
    ])) as [Run, Run, Run, Run];
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const api = await buildFile(join(work, "fx/ok/pair.cell"), { dims: { I: 3, H: 4 }, cell: "tanh_rnn", target: "wasm", threads: 3 });
    const written = readFileSync(join(work, "gent", "tanh_rnn_I3_H4.ts"), "utf8");
    expect(written).toBe(api.modules[0]!.code);
    expect(written).toContain("const THREADS = 3;");
    for (const [run, message] of [
      [zero, "--threads must be a whole number from 1 to 64, got '0'"],
      [word, "--threads must be a whole number from 1 to 64, got 'two'"],
      [noWasm, "--threads needs --target wasm"],
    ] as const) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain("Usage:");
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(existsSync(join(work, "gent0"))).toBe(false);
  });

  it("--fma on|off picks the WebAssembly binary a module ships: plain node and node with relaxed SIMD run what meta.fma says; a bad value or another target is a usage error", async () => {
    const app = join(work, "fma-app");
    cpSync(join(work, "fx"), join(app, "fx"), { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fma-app", private: true, type: "module" }));
    // Two JavaScript builds (tsc emits them): minutes on this loaded 2-core machine.
    const build = (mode: string) => cellc(["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--cell", "tanh_rnn", "--target", "wasm", "--format", "js", "--fma", mode, "--out", mode], app, 400_000);
    const [off, on, bad, noWasm] = await Promise.all([
      build("off"),
      build("on"),
      build("fast"),
      cellc(["build", "fx/ok/pair.cell", "--dims", "I=3,H=4", "--fma", "on", "--out", "gentf"], app),
    ]);
    for (const r of [off, on]) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    for (const [run, message] of [
      [bad, "--fma must be auto, on or off, got 'fast'"],
      [noWasm, "--fma needs --target wasm"],
    ] as const) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain("Usage:");
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(app, "fast"))).toBe(false);
    // Only "auto" (the default) carries two binaries.
    const code = (mode: string) => readFileSync(join(app, mode, "tanh_rnn_I3_H4.js"), "utf8");
    expect(["off", "on"].map((m) => code(m).includes("const WASM_FMA ="))).toEqual([false, false]);
    writeFileSync(
      join(app, "probe.mjs"),
      `const out = {};
for (const mode of ["off", "on"]) {
  const k = await import("./" + mode + "/tanh_rnn_I3_H4.js");
  const p = k.createParams({ seed: 3 });
  const x = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i));
  const r = k.forward(p, { x }, { batchSize: 5 });
  out[mode] = { backend: k.meta.backend, fma: k.meta.fma ?? null, h: Array.from(Object.values(r.outputs)[0]) };
}
console.log(JSON.stringify(out));
`,
    );
    const probe = (flags: string[]) =>
      new Promise<Record<string, { backend: string; fma: boolean | null; h: number[] }>>((resolve, reject) =>
        execFile(process.execPath, [...flags, "probe.mjs"], { cwd: app, timeout: 60_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(JSON.parse(stdout)))),
      );
    const [plain, relaxed] = await Promise.all([probe([]), probe(["--experimental-wasm-relaxed-simd"])]);
    const what = (r: typeof plain) => Object.fromEntries(Object.entries(r).map(([m, v]) => [m, [v.backend, v.fma]]));
    // Node 20 has relaxed SIMD only under the flag: without it, "on" falls back to the TypeScript kernel.
    expect(what(plain)).toEqual({ off: ["wasm", false], on: ["ts", null] });
    expect(what(relaxed)).toEqual({ off: ["wasm", false], on: ["wasm", true] });
    // The same binary gives the same bits in either process; the FMA one agrees with the TypeScript kernel to float32 rounding.
    expect(relaxed.off.h).toEqual(plain.off.h);
    expect(plain.off.h.some((v) => v !== 0)).toBe(true);
    for (const [i, v] of relaxed.on.h.entries()) expect(Math.abs(v - plain.on.h[i]!)).toBeLessThan(2e-4 * (1 + Math.abs(v)));
  }, 900_000);

  it("fails with exit 1 on an unbound size and on spec errors", async () => {
    const r = await cellc(["build", "fx/unbound.cell", "fx/bad.cell", "--dims", "I=3,H=4", "--out", "gen2"], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error CE401: size 'P' is not bound/);
    expect(r.stderr).toMatch(/fx\/bad\.cell:9:\d+ error CE203/);
    expect(r.stderr).toContain("   9 |   h' = a + q");
    expect(r.stderr).toContain("build failed: 2 of 2 specs had errors (0 modules written)");
    expect(existsSync(join(work, "gen2"))).toBe(false);
  });

  it("builds the entries of a config file, and rejects a bad one naming the field", async () => {
    // The README's example config, with the example specs, in a scratch project.
    const project = join(work, "project");
    cpSync(join(root, "examples/specs"), join(project, "specs"), { recursive: true });
    cpSync(join(root, "examples/cellc.config.json"), join(project, "cellc.config.json"));
    const config = JSON.parse(readFileSync(join(project, "cellc.config.json"), "utf8")) as {
      out: string;
      entries: {
        spec: string;
        dims: Record<string, number> | Record<string, number>[];
        out?: string;
        cell?: string;
        optimize?: boolean;
      }[];
    };
    const r = await cellc(["build"], project); // no files: ./cellc.config.json
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    let count = 0;
    for (const e of config.entries) {
      const bindings = Array.isArray(e.dims) ? e.dims : [e.dims];
      for (const dims of bindings) {
        count++;
        const out = e.out ?? config.out;
        const path = out.endsWith(".ts")
          ? join(project, out)
          : join(
              project,
              out,
              `${e.spec.replace(/^.*\//, "").replace(/\.cell$/, "")}_${Object.entries(dims)
                .map(([k, v]) => `${k}${v}`)
                .join("_")}.ts`,
            );
        expect(existsSync(path), path).toBe(true);
      }
    }
    expect(r.stdout.split("\n").filter((l) => l.startsWith("wrote "))).toHaveLength(count);
    // The entry with "cell", a single-file "out" and "optimize": false got exactly that build.
    const single = config.entries.find((e) => e.out?.endsWith(".ts"));
    expect(single).toBeDefined();
    const api = await buildFile(join(project, single!.spec), {
      dims: single!.dims as Record<string, number>,
      cell: single!.cell!,
      optimize: single!.optimize!,
    });
    expect(api.modules).toHaveLength(1);
    expect(readFileSync(join(project, single!.out!), "utf8")).toBe(api.modules[0]!.code);

    // Bad configs fail before anything is compiled, naming the entry and the field.
    const bad: [string, string][] = [
      ["neg.json", JSON.stringify({ out: "g", entries: [{ spec: "ok/pair.cell", dims: { I: 3, H: -3 } }] })],
      ["typo.json", JSON.stringify({ entries: [{ spec: "ok/pair.cell", dim: { I: 3 }, out: "g" }] })],
      ["missing.json", JSON.stringify({ entries: [{ spec: "ok/nope.cell", out: "g" }] })],
      ["broken.json", '{ "entries": [ { "spec": "ok/pair.cell" '],
    ];
    for (const [name, text] of bad) writeFileSync(join(work, "fx", name), text);
    const [negative, typo, missing, broken] = (await cellcAll(
      bad.map(([name]) => ({ args: ["build", "-c", `fx/${name}`], cwd: work })),
    )) as [Run, Run, Run, Run];
    expect(negative.stderr).toContain("entries[0].dims.H: must be a positive integer, got '-3'");
    expect(typo.stderr).toContain("entries[0].dim: unknown field");
    expect(missing.stderr).toContain("entries[0].spec: no such file 'ok/nope.cell'");
    expect(broken.stderr).toContain("not valid JSON");
    for (const r of [negative, typo, missing, broken]) {
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("cellc internal errors", () => {
  it("reports a compiler crash as an internal error with exit 70 and no stack trace", async () => {
    // A compiler bug is simulated by a buildFile that throws; main() runs in-process.
    vi.resetModules();
    vi.doMock("../driver/index.ts", () => ({
      check: () => ({ diagnostics: [], sources: {} }),
      formatDiagnostics: () => "",
      buildFile: () => {
        throw new TypeError("cannot read properties of undefined (reading 'shape')");
      },
    }));
    try {
      const { main } = await import("../cli/main.ts");
      const lines: string[] = [];
      const io = { out: (l: string) => void lines.push(l), err: (t: string) => void lines.push(t) };
      const spec = join(fixtures, "ok/pair.cell");
      const code = await main(["build", spec, "--dims", "I=2,H=2", "--out", join(work, "crash")], io);
      expect(code).toBe(70);
      expect(lines).toEqual(["cellc: internal error: cannot read properties of undefined (reading 'shape')"]);
    } finally {
      vi.doUnmock("../driver/index.ts");
      vi.resetModules();
    }
  });
});

describe("config validation", () => {
  it("resolves paths against the config file and names the field of every mistake", () => {
    const file = join(fixtures, "cellc.config.json");
    const ok = parseConfig(
      JSON.stringify({
        out: "gen",
        optimize: false,
        entries: [
          {
            spec: "ok/pair.cell",
            dims: [
              { I: 3, H: 4 },
              { I: 3, H: 6 },
            ],
            cell: "tanh_rnn",
          },
          { spec: "ok/stack.cell", dims: { I: 2, H: "3" }, out: "gen/stack.ts", optimize: true },
        ],
      }),
      file,
    );
    expect(ok.entries).toEqual([
      {
        index: 0,
        spec: join(fixtures, "ok/pair.cell"),
        bindings: [
          { I: 3, H: 4 },
          { I: 3, H: 6 },
        ],
        out: { kind: "dir", path: join(fixtures, "gen") },
        cell: "tanh_rnn",
        optimize: false,
      },
      {
        index: 1,
        spec: join(fixtures, "ok/stack.cell"),
        bindings: [{ I: 2, H: 3 }],
        out: { kind: "file", path: join(fixtures, "gen/stack.ts") },
        optimize: true,
      },
    ]);

    const bad: [unknown, string][] = [
      [[], "top level: must be an object"],
      [{ entries: [] }, '"entries": is empty'],
      [{ entries: {} }, '"entries": must be an array'],
      [{ entries: [], outt: "x" }, '"outt": unknown field'],
      [{ entries: ["ok/pair.cell"] }, 'entries[0]: must be an object like { "spec"'],
      [{ entries: [{ dims: {}, out: "g" }] }, "entries[0].spec: must be a path"],
      [{ entries: [{ spec: "ok", out: "g" }] }, "entries[0].spec: 'ok' is a directory"],
      [{ entries: [{ spec: "ok/pair.cell" }] }, "entries[0].out: is missing"],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", dims: { H: 0 } }] },
        "entries[0].dims.H: must be a positive integer, got 0",
      ],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", dims: { H: 2.5 } }] },
        "entries[0].dims.H: must be a positive integer, got '2.5'",
      ],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", dims: { H: true } }] },
        "entries[0].dims.H: must be a positive integer, got true",
      ],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", dims: [{ H: 2 }, 7] }] },
        "entries[0].dims[1]: must be an object of sizes",
      ],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", dims: { "2H": 2 } }] },
        "entries[0].dims: '2H' is not a size name",
      ],
      [
        { entries: [{ spec: "ok/pair.cell", dims: [{ H: 2 }, { H: 3 }], out: "one.ts" }] },
        "entries[0].out: names one file",
      ],
      [
        { out: "g", entries: [{ spec: "ok/pair.cell", optimize: "yes" }] },
        "entries[0].optimize: must be true or false",
      ],
      [{ out: "g", entries: [{ spec: "ok/pair.cell", cell: 3 }] }, "entries[0].cell: must be the name"],
      [{ out: "g", target: "wasm", entries: [{ spec: "ok/pair.cell", threads: 0 }] }, "entries[0].threads: must be a whole number of threads from 1 to 64, got 0"],
      [{ out: "g", target: "wasm", threads: "2", entries: [{ spec: "ok/pair.cell" }] }, '"threads": must be a whole number of threads from 1 to 64, got "2"'],
      [{ out: "g", entries: [{ spec: "ok/pair.cell", threads: 2 }] }, 'entries[0].threads: is for WebAssembly modules; this entry\'s target is "ts"'],
      [{ out: "g", target: "wasm", entries: [{ spec: "ok/pair.cell", fma: "yes" }] }, 'entries[0].fma: must be "auto", "on" or "off", got "yes"'],
      [{ out: "g", entries: [{ spec: "ok/pair.cell", fma: "on" }] }, 'entries[0].fma: is for WebAssembly modules; this entry\'s target is "ts"'],
    ];
    // "threads" at the top is for the wasm entries; ts entries have none.
    const mixed = parseConfig(JSON.stringify({ out: "g", threads: 3, entries: [{ spec: "ok/pair.cell", target: "wasm" }, { spec: "ok/pair.cell" }, { spec: "ok/pair.cell", target: "wasm", threads: 2 }] }), file);
    expect(mixed.entries.map((e) => e.threads)).toEqual([3, undefined, 2]);
    const fmas = parseConfig(JSON.stringify({ out: "g", fma: "off", entries: [{ spec: "ok/pair.cell", target: "wasm" }, { spec: "ok/pair.cell" }, { spec: "ok/pair.cell", target: "wasm", fma: "on" }] }), file);
    expect(fmas.entries.map((e) => e.fma)).toEqual(["off", undefined, "on"]);
    for (const [json, message] of bad) {
      let error: unknown;
      try {
        parseConfig(JSON.stringify(json), file, "cellc.config.json");
      } catch (e) {
        error = e;
      }
      expect(error, message).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`cellc.config.json: ${message}`);
    }
  });
});

describe("cellc build --watch", () => {
  it("rebuilds when a spec or a file it imports changes, survives errors, and exits 0 on Ctrl-C", async () => {
    const dir = join(work, "watch");
    cpSync(join(fixtures, "ok"), dir, { recursive: true });
    const child = spawn(
      process.execPath,
      [bin, "build", "stack.cell", "--dims", "I=2,H=3", "--out", "out", "--watch"],
      {
        cwd: dir,
      },
    );
    let stdout = "";
    let stderr = "";
    let exitCode: number | null | undefined;
    /** Wakes the pending waitFor on every chunk of output and when the child exits. */
    let wake: () => void = () => undefined;
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      wake();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      wake();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        exitCode = code;
        resolve(code);
        wake();
      }),
    );
    /** Where `pattern` ends in the stream's text after `from`, once the watcher has printed it:
     *  waits on output events, never on a clock (the test's own timeout is the only limit). */
    const waitFor = async (stream: () => string, pattern: RegExp, from: number): Promise<number> => {
      for (;;) {
        const m = pattern.exec(stream().slice(from));
        if (m) return from + m.index + m[0].length;
        if (exitCode !== undefined)
          throw new Error(`cellc exited (${exitCode}) before printing ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise<void>((r) => (wake = r));
      }
    };
    try {
      let at = await waitFor(() => stdout, /watching 2 files for changes/, 0);
      expect(stdout).toContain("wrote out/two_layer_I2_H3.ts");

      // Change the imported file: the stack is rebuilt.
      const pair = join(dir, "pair.cell");
      writeFileSync(pair, readFileSync(pair, "utf8").replace("tanh(W @ x", "sigmoid(W @ x"));
      at = await waitFor(
        () => stdout,
        /changed: pair\.cell; rebuilding 1 spec\n(.*\n)*?wrote out\/two_layer_I2_H3\.ts/,
        at,
      );

      // An error is reported and the watch goes on; fixing it rebuilds.
      const stack = join(dir, "stack.cell");
      const good = readFileSync(stack, "utf8");
      writeFileSync(stack, good.replace("layer tanh_rnn(H, H)", "layer tanh_rnn(H, H)\n  layer nope(H, H)"));
      await waitFor(() => stderr, /stack\.cell:\d+:\d+ error CE\d+/, 0);
      at = await waitFor(() => stdout, /built 0 modules in \d+ ms \(1 spec with errors\)/, at);
      writeFileSync(stack, good.replace("two_layer", "two_layer_b"));
      at = await waitFor(() => stdout, /wrote out\/two_layer_b_I2_H3\.ts/, at);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  }, 180_000);
});
