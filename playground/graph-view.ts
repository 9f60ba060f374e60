// Draws the cell's graph (graph-data.ts) as SVG, laid out by dagre (top to bottom: inputs,
// states and parameters above the gates that read them). Hovering a node highlights its spec line.

import { Graph, layout } from "@dagrejs/dagre";
import type { CellGraph } from "./protocol.ts";

const SVG = "http://www.w3.org/2000/svg";
const MAX_NODES = 250;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

export function drawGraph(host: HTMLElement, graph: CellGraph | undefined, onLine: (line: number | undefined) => void): void {
  host.replaceChildren();
  if (!graph) {
    host.textContent = "no cell to draw";
    return;
  }
  // dagre's layout runs on the page's thread and grows faster than linearly: a spec of hundreds
  // of equations would freeze the page, so its graph is not drawn.
  if (graph.nodes.length > MAX_NODES) {
    host.textContent = `the graph of ${graph.cell} has ${graph.nodes.length} nodes; the playground draws up to ${MAX_NODES}`;
    return;
  }
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 14, ranksep: 28, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const op = n.kind === "op";
    g.setNode(n.id, { width: op ? Math.max(28, 8 * n.label.length + 12) : Math.max(36, 8 * n.label.length + 16), height: op ? 22 : 28 });
  }
  graph.edges.forEach((e, i) => g.setEdge(e.from, e.to, {}, `e${i}`));
  layout(g);
  const { width = 100, height = 100 } = g.graph();
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", height: Math.min(height, 420), role: "img", "aria-label": `graph of cell ${graph.cell}` }, host);
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }, marker);
  for (const id of g.edges()) {
    const pts: { x: number; y: number }[] = g.edge(id).points ?? [];
    el("path", { d: pts.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" "), class: "edge", "marker-end": "url(#arrow)" }, svg);
  }
  for (const n of graph.nodes) {
    const p = g.node(n.id);
    const grp = el("g", { class: `node ${n.kind}`, "data-node": n.label, "data-line": n.line, transform: `translate(${p.x - p.width / 2},${p.y - p.height / 2})` }, svg);
    el(n.kind === "op" ? "ellipse" : "rect", n.kind === "op" ? { cx: p.width / 2, cy: p.height / 2, rx: p.width / 2, ry: p.height / 2 } : { width: p.width, height: p.height, rx: 5 }, grp);
    const t = el("text", { x: p.width / 2, y: p.height / 2 + 4, "text-anchor": "middle" }, grp);
    t.textContent = n.label;
    el("title", {}, grp).textContent = `${n.kind} ${n.label} (line ${n.line})`;
    grp.addEventListener("mouseenter", () => onLine(n.line));
    grp.addEventListener("mouseleave", () => onLine(undefined));
  }
}
