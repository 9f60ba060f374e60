// Checks the examples' shared command-line pieces: flag parsing (defaults, both --x v and --x=v
// forms, clear errors for unknown or malformed flags), per-cell sizes, and the results table.

import { describe, expect, it } from "vitest";
import { parseFlags, perCell, table, usage, UsageError, type FlagSpec } from "../examples/data/cli.ts";
import { addingStages } from "../examples/adding.ts";

const FLAGS: Record<string, FlagSpec> = {
  T: { type: "int", help: "length", default: 100 },
  lr: { type: "number", help: "rate", default: 0.01 },
  out: { type: "string", help: "path", default: "a.svg" },
  quick: { type: "bool", help: "small" },
};

describe("example CLI helpers", () => {
  it("parses flags with defaults and both value forms", () => {
    expect(parseFlags([], FLAGS)).toEqual({ T: 100, lr: 0.01, out: "a.svg", quick: undefined });
    expect(parseFlags(["--T", "50", "--lr=0.5", "--quick", "--out", "x y.svg"], FLAGS)).toEqual({ T: 50, lr: 0.5, out: "x y.svg", quick: true });
    expect(parseFlags(["--help"], FLAGS).help).toBe(true);
  });

  it("rejects unknown, malformed and missing values with a UsageError", () => {
    const bad: Array<[string[], RegExp]> = [
      [["--nope"], /unknown option '--nope'/],
      [["T"], /unexpected argument 'T'/],
      [["--T", "1.5"], /--T must be an integer/],
      [["--lr", "fast"], /--lr must be a number/],
      [["--T"], /--T needs a value/],
      [["--quick=yes"], /takes no value/],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseFlags(argv, FLAGS)).toThrow(UsageError);
      expect(() => parseFlags(argv, FLAGS)).toThrow(msg);
    }
    expect(usage("prog", "does things", FLAGS)).toMatch(/--T <n>\s+length \(default 100\)/);
  });

  it("reads per-cell sizes", () => {
    expect(perCell("8", ["lstm", "rnn"], "H")).toEqual({ lstm: 8, rnn: 8 });
    expect(perCell("lstm=8, rnn=16", ["lstm", "rnn"], "H")).toEqual({ lstm: 8, rnn: 16 });
    expect(() => perCell("lstm=8", ["lstm", "rnn"], "H")).toThrow(/no size for cell 'rnn'/);
    expect(() => perCell("big", ["lstm"], "H")).toThrow(/name=number/);
  });

  it("aligns tables: numbers right, text left", () => {
    const t = table(["cell", "params"], [["lstm", "1,361"], ["rnn", "97"]]).split("\n");
    expect(t).toEqual(["cell  params", "----  ------", "lstm   1,361", "rnn       97"]);
  });

  it("builds the adding curriculum from T", () => {
    expect(addingStages(100, true)).toEqual([20, 40, 60, 100]);
    expect(addingStages(50, true)).toEqual([20, 30, 50]);
    expect(addingStages(20, true)).toEqual([20]);
    expect(addingStages(100, false)).toEqual([100]);
  });
});
