// Regression tests of issue 8 at cellc's outer boundaries (the files it reads and the command
// line): a FIFO, /dev/zero or an oversized file is refused with a clear message instead of
// blocking forever; a config with a BOM is read, a JSON mistake is located by line and column; a
// write failure is reported as one; a spec's error is shown once per config entry. Everything
// that could hang runs in a child process with a timeout, so a regression fails instead of hanging.
// (Kernel boundary errors: kernel-boundary.test.ts; training and checkpoints: trust-runtime.test.ts;
// golden files: emitted.test.ts.)

import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDims } from "../cli/args.ts";
import { ConfigError, parseConfig } from "../cli/config.ts";
import { FileReadError, MAX_SPEC_BYTES, readTextFile } from "../compiler/read-text.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "cli/bin/cellc.mjs");
/** Long enough for a loaded machine to start node; a hang is killed at this point and fails. */
const HANG_MS = 60_000;

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: HANG_MS, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : error.killed ? "killed: it hung" : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const cellc = (args: string[], cwd: string) => run([bin, ...args], cwd);

async function all<T>(jobs: (() => Promise<T>)[], limit = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

let dir: string;
const spec = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cellc-trust-"));
  execFileSync("mkfifo", [spec("fifo.cell")]);
  execFileSync("mkfifo", [spec("fifo.json")]);
  copyFileSync(join(root, "examples/specs/lstm.cell"), spec("lstm.cell"));
  writeFileSync(spec("big.cell"), "// padding\n".repeat(Math.ceil((MAX_SPEC_BYTES + 10) / 11)));
  writeFileSync(spec("imports.cell"), 'import { a } from "fifo.cell"\nimport { b } from "/dev/zero"\n' + readFileSync(spec("lstm.cell"), "utf8"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("non-regular and oversized files (defect 7)", () => {
  it("the reader refuses a FIFO, a device, a directory and a file over the cap, saying which", () => {
    // These return at once: the FIFO is opened non-blocking and checked before any read.
    const reason = (f: string, max = MAX_SPEC_BYTES) => {
      try {
        readTextFile(f, max, "a spec");
        return "read";
      } catch (e) {
        return e instanceof FileReadError ? e.reason : `unexpected: ${String(e)}`;
      }
    };
    expect(reason(spec("fifo.cell"))).toBe("it is a FIFO (named pipe), not a regular file");
    expect(reason("/dev/zero")).toBe("it is a character device, not a regular file");
    expect(reason(dir)).toBe("it is a directory");
    expect(reason(spec("nope.cell"))).toBe("no such file");
    const size = readFileSync(spec("big.cell")).length;
    expect(reason(spec("big.cell"))).toBe(`it is ${size.toLocaleString("en-US")} bytes; a spec may be at most 1,048,576 bytes`);
    expect(reason(spec("lstm.cell"), 100)).toMatch(/^it is [0-9,]+ bytes; a spec may be at most 100 bytes$/);
    expect(readTextFile(spec("lstm.cell"), MAX_SPEC_BYTES)).toBe(readFileSync(spec("lstm.cell"), "utf8"));
  });

  it("the compiler API reports CE301 for each (spec, import, loader) and returns", async () => {
    const probe = join(dir, "probe.mts");
    const api = pathToFileURL(join(root, "driver/index.ts")).href;
    writeFileSync(
      probe,
      `import { buildFile, check, loadCellFile } from ${JSON.stringify(api)};
const d = ${JSON.stringify(dir)};
const show = (ds: { code: string; message: string }[]) => ds.map((x) => x.code + " " + x.message);
const text = (await import("node:fs")).readFileSync(d + "/imports.cell", "utf8");
const out = {
  imports: show(check(text, { file: d + "/imports.cell" }).diagnostics),
  fifo: show((await buildFile(d + "/fifo.cell", { dims: { I: 2, H: 2 } })).diagnostics),
  zero: show((await buildFile("/dev/zero")).diagnostics),
  big: show((await buildFile(d + "/big.cell")).diagnostics),
  loader: await loadCellFile(d + "/fifo.cell").then(() => "loaded", (e: Error) => e.message),
};
console.log(JSON.stringify(out));
`,
    );
    const r = await run(["--import", "tsx", probe], root);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string[] | string>;
    expect(out.imports).toEqual([
      "CE301 cannot read 'fifo.cell': it is a FIFO (named pipe), not a regular file",
      "CE301 cannot read '/dev/zero': it is a character device, not a regular file",
    ]);
    expect(out.fifo).toEqual([`CE301 cannot read '${dir}/fifo.cell': it is a FIFO (named pipe), not a regular file`]);
    expect(out.zero).toEqual(["CE301 cannot read '/dev/zero': it is a character device, not a regular file"]);
    expect(out.big).toEqual([expect.stringMatching(/^CE301 cannot read '.*big\.cell': it is [0-9,]+ bytes; a spec may be at most 1,048,576 bytes$/)]);
    expect(out.loader).toContain("CE301: cannot read");
    expect(out.loader).toContain("it is a FIFO (named pipe), not a regular file");
  });

  it("cellc check, build, --config and config entries refuse them: exit 1 for specs, 2 for configs", async () => {
    writeFileSync(spec("fifo-entry.json"), JSON.stringify({ out: "o", entries: [{ spec: "fifo.cell" }] }));
    writeFileSync(spec("zero-entry.json"), JSON.stringify({ out: "o", entries: [{ spec: "/dev/zero" }] }));
    writeFileSync(spec("big.json"), `{"entries": [], "pad": "${"x".repeat(MAX_SPEC_BYTES)}"}`);
    const [check, build, imports, cfgFifo, cfgZero, entryFifo, entryZero, cfgBig] = await all([
      () => cellc(["check", "fifo.cell", "/dev/zero", "big.cell"], dir),
      () => cellc(["build", "fifo.cell", "--out", "o"], dir),
      () => cellc(["check", "imports.cell"], dir),
      () => cellc(["check", "--config", "fifo.json"], dir),
      () => cellc(["build", "--config", "/dev/zero"], dir),
      () => cellc(["build", "--config", "fifo-entry.json"], dir),
      () => cellc(["check", "--config", "zero-entry.json"], dir),
      () => cellc(["build", "--config", "big.json"], dir),
    ]);
    expect(check!.code).toBe(1);
    expect(check!.stderr).toContain("error CE301: cannot read 'fifo.cell': it is a FIFO (named pipe), not a regular file");
    expect(check!.stderr).toContain("error CE301: cannot read '/dev/zero': it is a character device, not a regular file");
    expect(check!.stderr).toMatch(/error CE301: cannot read 'big\.cell': it is [0-9,]+ bytes; a spec may be at most 1,048,576 bytes/);
    expect(check!.stderr).toContain("checked 3 specs: 3 errors in 3 specs");
    expect(build!.code).toBe(1);
    expect(build!.stderr).toContain("error CE301: cannot read 'fifo.cell': it is a FIFO");
    expect(imports!.code).toBe(1);
    expect(imports!.stderr).toMatch(/imports\.cell:1:19 error CE301: cannot read 'fifo\.cell': it is a FIFO/);
    expect(imports!.stderr).toMatch(/imports\.cell:2:19 error CE301: cannot read '\/dev\/zero': it is a character device/);
    expect(cfgFifo!.code).toBe(2);
    expect(cfgFifo!.stderr).toContain("cellc: cannot read config 'fifo.json': it is a FIFO (named pipe), not a regular file");
    expect(cfgZero!.code).toBe(2);
    expect(cfgZero!.stderr).toContain("cellc: cannot read config '/dev/zero': it is a character device, not a regular file");
    expect(entryFifo!.code).toBe(2);
    expect(entryFifo!.stderr).toContain("fifo-entry.json: entries[0].spec: 'fifo.cell' is a FIFO (named pipe), not a regular file");
    expect(entryZero!.code).toBe(2);
    expect(entryZero!.stderr).toContain("entries[0].spec: '/dev/zero' is a character device, not a regular file");
    expect(cfgBig!.code).toBe(2);
    expect(cfgBig!.stderr).toMatch(/cannot read config 'big\.json': it is [0-9,]+ bytes; a config file may be at most 1,048,576 bytes/);
  });
});

describe("the command line's config, writes and repeated errors (defect 13, CLI side)", () => {
  it("a config with a UTF-8 byte-order mark is read", () => {
    const json = JSON.stringify({ out: "o", entries: [{ spec: "lstm.cell", dims: { I: 2, H: 3 } }] });
    const c = parseConfig("\uFEFF" + json, join(dir, "c.json"), "c.json");
    expect(c.entries[0]!.bindings).toEqual([{ I: 2, H: 3 }]);
  });

  it("a JSON mistake is reported with line:column and the line, for each kind of mistake", () => {
    const problem = (text: string) => {
      try {
        parseConfig(text, join(dir, "c.json"), "c.json");
        return "accepted";
      } catch (e) {
        return e instanceof ConfigError ? e.message : `unexpected: ${String(e)}`;
      }
    };
    const line3 = '  "entries": [{ "spec": "lstm.cell", "dims": { "I": 2, } }]';
    const col = line3.indexOf(", }") + 3; // 1-based column of the '}' after the trailing comma
    expect(problem(`{\n  "out": "o",\n${line3}\n}`)).toBe(
      `c.json:3:${col}: not valid JSON: expected a property name in double quotes\n  ${line3}\n  ${" ".repeat(col - 1)}^`,
    );
    expect(problem('{\n  "out": ,\n}')).toMatch(/^c\.json:2:10: not valid JSON: expected a value\n/);
    expect(problem('{ "out": "o" "entries": [] }')).toMatch(/^c\.json:1:14: not valid JSON: expected ','/);
    expect(problem('{ "out": "o",\n // a comment\n "entries": [] }')).toMatch(/^c\.json:2:2: not valid JSON: comments are not allowed in JSON/);
    expect(problem('{ "out": "o\n" }')).toMatch(/^c\.json:1:10: not valid JSON: unterminated string/);
    expect(problem('\uFEFF{ "out": }')).toMatch(/^c\.json:1:10: not valid JSON: expected a value/);
    expect(problem("")).toMatch(/^c\.json:1:1: not valid JSON: expected a value/);
  });

  it("a size named like an Object.prototype member binds like any other", () => {
    const dims = parseDims(["toString=3,__proto__=2", "constructor=4"]);
    expect(Object.entries(dims)).toEqual([["toString", 3], ["__proto__", 2], ["constructor", 4]]);
    const c = parseConfig(
      '{"out":"o","entries":[{"spec":"lstm.cell","dims":{"valueOf":2,"__proto__":5}}]}',
      join(dir, "c.json"),
    );
    expect(Object.entries(c.entries[0]!.bindings[0]!)).toEqual([["valueOf", 2], ["__proto__", 5]]);
  });

  it("an --out that cannot be written is a write failure (exit 1), not a spec with errors", async () => {
    writeFileSync(spec("afile"), "not a directory");
    mkdirSync(spec("adir.ts"), { recursive: true });
    const [intoFile, ontoDir] = await all([
      () => cellc(["build", "lstm.cell", "--out", "afile", "--dims", "I=2,H=3"], dir),
      () => cellc(["build", "lstm.cell", "--out", "adir.ts", "--dims", "I=2,H=3"], dir),
    ]);
    expect(intoFile!.code).toBe(1);
    expect(intoFile!.stderr).toContain("error: cannot write afile/lstm_I2_H3.ts: afile is a file, not a directory");
    expect(intoFile!.stderr).toContain("build failed: 1 module could not be written (0 modules written)");
    expect(intoFile!.stderr).not.toContain("had errors");
    expect(readFileSync(spec("afile"), "utf8")).toBe("not a directory");
    expect(ontoDir!.code).toBe(1);
    expect(ontoDir!.stderr).toContain("error: cannot write adir.ts: it is a directory");
    expect(ontoDir!.stderr).toContain("build failed: 1 module could not be written");
  });

  it("a config entry with several bindings reports a spec's syntax error once", async () => {
    writeFileSync(spec("broken.cell"), "cell x(H) {\n  state h: [H]\n  h' = \n}\n");
    const bindings = [{ H: 2 }, { H: 3 }, { H: 4 }];
    writeFileSync(spec("three.json"), JSON.stringify({ out: "o3", entries: [{ spec: "broken.cell", dims: bindings }] }));
    const r = await cellc(["build", "--config", "three.json"], dir);
    expect(r.code).toBe(1);
    const errors = r.stderr.split("\n").filter((l) => / error CE\d+/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^broken\.cell:\d+:\d+ error CE1\d\d: /);
    expect(r.stderr).toContain("build failed: 1 of 1 spec had errors (0 modules written)");
    expect(existsSync(spec("o3"))).toBe(false);
  });
});
