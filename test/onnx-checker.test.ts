// A second opinion on the files cellc writes: the ONNX project's own checker (Python `onnx`,
// `check_model(full_check=True)`: the schema of every operator at opset 17, graph rules, and full
// shape inference through the Scan bodies) accepts a cell export of every shipped spec, a fused
// export and a whole model. Runs where `python3 -c "import onnx"` works (Debian: python3-onnx);
// elsewhere it is skipped, named with the reason.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportCellOnnx } from "../backends/onnx/index.ts";
import { bidirectional, dense, embedding, sequential } from "../runtime/index.ts";
import { gru, rnn, specPath } from "../jit/index.ts";
import { buildRnnModel } from "../runtime/interop/index.ts";

/** CELLC_PYTHON, when set, is the only Python tried (as for the torch tests). */
const pythons = process.env["CELLC_PYTHON"] !== undefined ? [process.env["CELLC_PYTHON"]] : ["/usr/bin/python3", "python3"];
const PYTHON = pythons.find((p) => spawnSync(p, ["-c", "import onnx"], { stdio: "ignore" }).status === 0);
const suite = "the ONNX checker accepts what cellc writes";

const ROOT = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "cellc-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the checker on each file; returns its report (one line per file). */
function check(files: string[]): string {
  const script = "import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\n    print('ok', f)\n";
  return execFileSync(PYTHON!, ["-c", script, ...files], { encoding: "utf8" });
}

describe.skipIf(!PYTHON)(PYTHON ? suite : `${suite} (skipped: no ${pythons.join(" or ")} with the onnx package; apt-get install python3-onnx)`, () => {
  it("every shipped spec's cell export, with lengths and initial states (with and without defaults) and without", () => {
    const files: string[] = [];
    for (const d of ["examples/specs", "test/specs"]) {
      for (const f of readdirSync(join(ROOT, d)).filter((n) => n.endsWith(".cell"))) {
        const file = join(ROOT, d, f);
        for (const form of ["inputs", "defaults", "none"]) {
          const full = form !== "none";
          const r = exportCellOnnx(readFileSync(file, "utf8"), { file, dims: { I: 5, H: 6, J: 3, P: 4 }, lengths: full, initialStates: full, inputDefaults: form === "defaults" });
          const out = join(dir, `${f}-${form}.onnx`);
          writeFileSync(out, r.bytes!);
          files.push(out);
        }
      }
    }
    const report = check(files);
    expect(report.trim().split("\n")).toHaveLength(files.length);
  });

  it("fused LSTM and GRU nodes taking sequence_lens (empty or not, handled in-graph) and returning final states", () => {
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) });
    const files = (["LSTM", "GRU"] as const).map((op) => {
      const g = op === "LSTM" ? 4 : 3;
      const bytes = buildRnnModel([{ op, hiddenSize: 3, weights: { W: t([1, g * 3, 2]), R: t([1, g * 3, 3]), B: t([1, 2 * g * 3]) } }], { inputSize: 2, sequenceLengths: true, states: true, opset: 17 });
      const out = join(dir, `fused-${op}.onnx`);
      writeFileSync(out, bytes);
      return out;
    });
    expect(check(files).trim().split("\n")).toHaveLength(2);
  });

  it("a whole model (embedding, a custom cell, a bidirectional GRU, dense)", async () => {
    const m = sequential([embedding(9, 4), rnn({ spec: specPath("cifg"), units: 3, returnSequences: true }), bidirectional(gru(2)), dense(2, { activation: "softmax" })]);
    await m.build([null]);
    const out = join(dir, "model.onnx");
    await m.exportOnnx(out);
    expect(check([out])).toMatch(/^ok /);
  });
});
