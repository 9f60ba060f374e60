// The cell's equations as a graph, from the spec's syntax tree alone (it needs no sizes): a node
// per input, state, parameter and assigned name, an operation node per matrix product and per
// function call, and an edge from every value to the expression that reads it. Generic: it knows
// the language (input, state, param, assignments, output), never a particular cell.

import type { CellDecl, Expr, SpecFile } from "../grammar/ast.ts";
import type { CellGraph, GraphEdge, GraphNode } from "./protocol.ts";

export function cellGraph(file: SpecFile): CellGraph | undefined {
  const cells = file.decls.filter((d): d is CellDecl => d.kind === "cell");
  const cell = cells[cells.length - 1];
  if (!cell) return undefined;
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (n: GraphNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
  };
  for (const s of cell.body) {
    if (s.kind === "input" || s.kind === "state" || s.kind === "param") {
      for (const v of s.vars) add({ id: `v:${v.name.name}`, label: v.name.name, kind: s.kind, line: v.name.span.start.line });
    }
  }
  let ops = 0;
  /** The node an expression's value comes from, adding nodes for its products and calls. */
  const visit = (e: Expr, line: number): string | undefined => {
    switch (e.kind) {
      case "number":
        return undefined;
      case "ref": {
        const id = `v:${e.name}${e.primed ? "'" : ""}`;
        if (!nodes.has(id)) add({ id, label: `${e.name}${e.primed ? "'" : ""}`, kind: "gate", line });
        return id;
      }
      case "unary":
        return visit(e.operand, line);
      case "slice":
        return visit(e.target, line);
      case "binary": {
        if (e.op !== "@") {
          const l = visit(e.left, line);
          const r = visit(e.right, line);
          if (!l || !r) return l ?? r;
          const id = `op:${ops++}`;
          add({ id, label: e.op === "*" ? "×" : e.op === "/" ? "÷" : e.op, kind: "op", line });
          edges.push({ from: l, to: id }, { from: r, to: id });
          return id;
        }
        const id = `op:${ops++}`;
        add({ id, label: "@", kind: "op", line });
        for (const side of [e.left, e.right]) {
          const s = visit(side, line);
          if (s) edges.push({ from: s, to: id });
        }
        return id;
      }
      case "call": {
        const id = `op:${ops++}`;
        add({ id, label: e.callee.name, kind: "op", line });
        for (const a of e.args) {
          const s = visit(a, line);
          if (s) edges.push({ from: s, to: id });
        }
        return id;
      }
    }
  };
  for (const s of cell.body) {
    if (s.kind === "assign") {
      const line = s.span.start.line;
      const name = `${s.target.name}${s.target.primed ? "'" : ""}`;
      const id = `v:${name}`;
      const src = visit(s.value, line);
      const existing = nodes.get(id);
      const node: GraphNode = { id, label: name, kind: s.target.primed ? "new-state" : "gate", line };
      if (existing) Object.assign(existing, node);
      else add(node);
      if (src) edges.push({ from: src, to: id });
    } else if (s.kind === "output") {
      for (const v of s.values) {
        const src = visit(v, s.span.start.line);
        const id = `out:${nodes.size}`;
        add({ id, label: "output", kind: "output", line: s.span.start.line });
        if (src) edges.push({ from: src, to: id });
      }
    }
  }
  return { cell: cell.name.name, nodes: [...nodes.values()], edges };
}
