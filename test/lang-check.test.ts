// The checker on the forms of issue 14: matrix states and locals, outer, transpose, products of
// any matrix, scalars ([1] and []) that broadcast, sizes used as numbers, reductions and row
// functions; and each misuse gets its code at its place (the one-file-per-code corpus is in
// test/errors/check; these are the variations).

import { describe, expect, it } from "vitest";
import { check, compile } from "../driver/index.ts";
import { parse } from "../grammar/index.ts";

/** A cell with the usual declarations around `body`. */
const cell = (body: string, decls = "") =>
  `cell c(I, H) {\n  input x: [I]\n  state h: [H], C: [H, H], s: []\n  param W: [H, I], U: [H, H], b: [H], a: [1]\n${decls}${body}\n}\n`;
const errs = (src: string) => check(src, { file: "c.cell" }).diagnostics.filter((d) => d.severity === "error");
const at = (src: string) => errs(src).map((d) => `${d.code} ${d.span!.start.line}:${d.span!.start.column} ${d.message}`);
const ok = (body: string, decls = "") => expect(at(cell(body, decls))).toEqual([]);
/** The one error of a body (line 5 is the first line of the body). */
const one = (body: string, decls = "") => {
  const list = at(cell(body, decls));
  expect(list).toHaveLength(1);
  return list[0]!;
};

describe("shapes of the new forms", () => {
  it("a matrix state is written with a matrix of its shape; [] and [1] are scalars", () => {
    ok(`  C' = C * 0.5 + outer(h, h)\n  s' = s + a\n  h' = C' @ h + s'\n  output h'`);
  });

  it("outer(a, b) is [|a|, |b|]; transpose swaps; products chain", () => {
    ok(`  P = outer(W @ x, x)\n  Q = transpose(P) @ P\n  C' = C @ U\n  s' = s\n  h' = P @ (Q @ x) + h\n  output h'`);
    expect(one(`  P = outer(W @ x, x)\n  C' = P\n  s' = s\n  h' = h\n  output h'`)).toBe("CE214 6:8 C' must be [H, H], got [H, I]");
  });

  it("A @ B needs equal inner sizes, and the right side may be a matrix", () => {
    expect(one(`  C' = C @ W\n  s' = s\n  h' = h\n  output h'`)).toBe("CE214 5:8 C' must be [H, H], got [H, I]");
    expect(one(`  C' = W @ C\n  s' = s\n  h' = h\n  output h'`)).toBe("CE201 5:8 cannot apply [H, I] @ [H, H]: inner sizes I and H differ");
    expect(one(`  C' = C\n  s' = s\n  h' = C @ 2\n  output h'`)).toBe("CE214 7:12 the right side of @ must be a vector or a matrix, got a number");
  });

  it("tied weights: transpose(W) @ v is [I] for W [H, I]", () => {
    ok(`  y = transpose(W) @ h\n  C' = C\n  s' = s\n  h' = W @ y + h\n  output h'`);
  });

  it("a [1] value broadcasts over vectors and matrices; a longer vector does not broadcast over a matrix", () => {
    ok(`  C' = C * s + a - sum(h)\n  s' = max(s, a)\n  h' = h * dot(h, h) + s + layernorm(h, a, s)\n  output h'`);
    expect(one(`  C' = C + h\n  s' = s\n  h' = h\n  output h'`)).toMatch(/^CE227 5:10 cannot apply '\+' to \[H, H\] and \[H\]: a vector does not broadcast over a matrix/);
    expect(one(`  C' = max(C, h)\n  s' = s\n  h' = h\n  output h'`)).toMatch(/^CE227 5:15 cannot apply 'max' to \[H, H\] and \[H\]/);
    expect(one(`  C' = C\n  s' = s\n  h' = pow(h, x)\n  output h'`)).toBe("CE202 7:15 cannot apply 'pow' to shapes [H] and [I]: sizes differ");
  });

  it("matrices of different shapes are CE202", () => {
    expect(one(`  C' = C + outer(h, x)\n  s' = s\n  h' = h\n  output h'`)).toBe("CE202 5:10 cannot apply '+' to shapes [H, H] and [H, I]: sizes differ");
  });

  it("a size is a number in an expression; a value of that name comes first", () => {
    ok(`  C' = C / H\n  s' = s * (1 / sqrt(H * I))\n  h' = h * H\n  output h'`);
    // Known only once bound: clip's bounds must be numbers now.
    expect(one(`  C' = C\n  s' = s\n  h' = clip(h, -H, H)\n  output h'`)).toBe("CE214 7:16 the lower bound of clip must be a constant number, got a number known only when sizes are bound");
    expect(at(`cell c(Hidden) {\n  state h: [Hidden]\n  h' = h * Hiden\n  output h'\n}`)).toEqual(["CE203 3:12 unknown name 'Hiden'; did you mean 'Hidden'?"]);
    // A local of a size's name is that local from its assignment on.
    ok(`  H = 2\n  C' = C * H\n  s' = s\n  h' = h\n  output h'`);
  });

  it("reductions and row functions take one vector; the result is [1] or the vector's shape", () => {
    ok(`  r = sum(h) + mean(h) + max(h) + min(h) + norm(h) + dot(h, b)\n  C' = C * r\n  s' = r\n  h' = softmax(h) + log_softmax(h) + cumsum(h) * r\n  output h'`);
    expect(one(`  C' = C\n  s' = s\n  h' = h * mean(C)\n  output h'`)).toBe("CE225 7:17 'mean' works along one vector; it cannot take the matrix [H, H]");
    expect(one(`  C' = C\n  s' = s\n  h' = softmax(C) @ h\n  output h'`)).toBe("CE225 7:16 'softmax' works along one vector; it cannot take the matrix [H, H]");
    expect(one(`  C' = C\n  s' = s\n  h' = h * sum(2)\n  output h'`)).toBe("CE214 7:16 the argument of sum must be a vector, got a number");
    expect(one(`  C' = C\n  s' = s\n  h' = h * dot(h, x)\n  output h'`)).toBe("CE202 7:19 cannot apply 'dot' to shapes [H] and [I]: sizes differ");
  });

  it("max and min take one argument (a reduction) or two (elementwise), not three", () => {
    expect(one(`  C' = C\n  s' = s\n  h' = max(h, h, h)\n  output h'`)).toBe(
      "CE208 7:8 max takes 1 argument (a vector to reduce) or 2 (elementwise), got 3",
    );
  });

  it("transpose of a vector or a number is CE226; outer of a matrix is CE214", () => {
    expect(one(`  C' = C\n  s' = s\n  h' = transpose(h)\n  output h'`)).toBe("CE226 7:18 transpose takes a matrix, got a vector [H]");
    expect(one(`  C' = transpose(2)\n  s' = s\n  h' = h\n  output h'`)).toBe("CE226 5:18 transpose takes a matrix, got a number");
    expect(one(`  C' = outer(C, h)\n  s' = s\n  h' = h\n  output h'`)).toBe("CE214 5:14 an argument of outer must be a vector, got a matrix [H, H]");
  });

  it("inputs and outputs stay vectors; a state may not have three dims", () => {
    expect(at(`cell c(H) {\n  input X: [H, H]\n  state h: [H]\n  h' = h\n  output h'\n}`)[0]).toBe("CE217 2:12 'X' is a matrix; only vectors may be inputs");
    expect(one(`  C' = C\n  s' = s\n  h' = h\n  output C'`)).toBe("CE214 8:10 an output must be a vector, got a matrix [H, H]");
    expect(at(`cell c(H) {\n  state T3: [H, H, H], h: [H]\n  T3' = T3\n  h' = h\n  output h'\n}`)[0]).toBe(
      "CE214 2:13 the shape of 'T3' must be [n] or [m, n], got [H, H, H]",
    );
  });

  it("the left side of @ is any matrix, never a vector or number", () => {
    expect(one(`  C' = C\n  s' = s\n  h' = s @ h\n  output h'`)).toBe("CE209 7:8 the left side of @ must be a matrix, got a vector [1]");
  });
});

describe("scalar shapes", () => {
  it("`[]` parses as a shape with no dims and is the same as [1]", () => {
    const r = parse(`cell c(H) {\n  param g: []\n  state s: [], h: [H]\n  s' = s * g\n  h' = h + s'\n  output h'\n}`, "c.cell");
    expect(r.diagnostics).toEqual([]);
    expect(check(`cell c(H) {\n  param g: []\n  state s: [], h: [H]\n  s' = s * g\n  h' = h + s'\n  output h'\n}`).diagnostics).toEqual([]);
  });

  it("a scalar param has shape [1] in the kernel's metadata; a matrix state is m·n per sample", async () => {
    expect(errs(`cell c(H) {\n  state C: [H, H]\n  C' = C\n  output C[0:1]\n}`).map((d) => d.code)).toEqual(["CE214"]); // a matrix is not sliced
    const k = await compile(`cell c(H) {\n  param g: []\n  input x: [H]\n  state s: [], C: [H, H]\n  s' = s * g + 1\n  C' = C * s' + outer(x, x)\n  output C' @ x\n}`, { dims: { H: 3 } });
    expect(k.module!.meta.params).toEqual([{ name: "g", shape: [1], size: 1, init: { kind: "zeros" } }]);
    expect(k.module!.meta.states).toEqual([
      { name: "s", size: 1, projected: false },
      { name: "C", size: 9, projected: false },
    ]);
  });
});
