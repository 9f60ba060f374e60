// SVG learning curves for a study: per spec, the mean over seeds as a line and the seeds' range
// (lowest to highest) as a shaded band. Two layouts from one drawing routine: every spec in one
// chart, and small multiples (one panel per spec, all on the same axes, the first spec repeated
// as a dashed reference in each) for studies with too many specs for one chart to stay readable.
// The axis ticks come from plot.ts, the chart the single-run examples draw too.

import { logTicks, niceTicks, textWidth } from "./plot.ts";

export interface BandSeries {
  name: string;
  /** [x, mean, low, high], in x order. */
  points: ReadonlyArray<readonly [number, number, number, number]>;
}

export interface BandChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly BandSeries[];
  logY?: boolean;
  /** Tick labels on y as percentages (values are fractions). */
  percentY?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function num(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

interface Axes {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  logY: boolean;
  percentY: boolean;
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Shared axes for all series: x from 0, y over every finite band value (log10 units on a log scale). */
function axesFor(series: readonly BandSeries[], logY: boolean, percentY: boolean): Axes {
  const ty = (y: number) => (logY ? Math.log10(y) : y);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (const [x, m, lo, hi] of s.points) {
      xs.push(x);
      for (const y of [m, lo, hi]) if (Number.isFinite(y) && (!logY || y > 0)) ys.push(ty(y));
    }
  }
  if (xs.length === 0 || ys.length === 0) throw new Error("learning curves: no finite points to draw");
  let [xMin, xMax] = [Math.min(0, ...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMax === yMin) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const pad = (yMax - yMin) * 0.04;
  return { xMin, xMax, yMin: yMin - pad, yMax: yMax + pad, logY, percentY };
}

function tickLabel(v: number, a: Axes, isY: boolean): string {
  if (!isY) return Math.abs(v) >= 1e4 ? Math.round(v).toLocaleString("en-US") : num(v);
  const value = a.logY ? Number(Math.pow(10, v).toPrecision(6)) : v;
  if (a.percentY) return `${num(value * 100)}%`;
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(0);
  return num(value);
}

function yTicksFor(a: Axes, small: boolean): number[] {
  return a.logY ? logTicks(a.yMin, a.yMax, small ? 4 : 5) : niceTicks(a.yMin, a.yMax, small ? 4 : 5);
}

/** The left margin: room for the rotated y axis title (centred at x = 16) and the widest y tick label. */
function leftMargin(a: Axes, small: boolean): number {
  const widest = Math.max(...yTicksFor(a, small).map((v) => textWidth(tickLabel(v, a, true), small ? 10 : 12)));
  return Math.ceil(Math.max(70, 30 + 5 + widest));
}

/** One plot area: grid, ticks, and the given series (a reference series drawn dashed, no band). */
function drawPanel(out: string[], box: Box, a: Axes, series: ReadonlyArray<{ s: BandSeries; color: string; reference?: boolean }>, small: boolean): void {
  const sx = (x: number) => box.left + ((x - a.xMin) / (a.xMax - a.xMin)) * box.width;
  const sy = (y: number) => box.top + (1 - ((a.logY ? Math.log10(y) : y) - a.yMin) / (a.yMax - a.yMin)) * box.height;
  const xTicks = niceTicks(a.xMin, a.xMax, small ? 3 : 5);
  const yTicks = yTicksFor(a, small);
  const bottom = box.top + box.height;
  out.push(`<g class="grid" stroke="#e5e5e5">`);
  for (const v of xTicks) out.push(`<line x1="${num(sx(v))}" y1="${box.top}" x2="${num(sx(v))}" y2="${bottom}"/>`);
  for (const v of yTicks) {
    const y = box.top + (1 - (v - a.yMin) / (a.yMax - a.yMin)) * box.height;
    out.push(`<line x1="${box.left}" y1="${num(y)}" x2="${box.left + box.width}" y2="${num(y)}"/>`);
  }
  out.push(`</g>`);
  out.push(`<path d="M ${box.left} ${box.top} L ${box.left} ${bottom} L ${box.left + box.width} ${bottom}" fill="none" stroke="black"/>`);
  out.push(`<g class="ticks" font-size="${small ? 10 : 12}">`);
  for (const v of xTicks) out.push(`<text x="${num(sx(v))}" y="${bottom + 14}" text-anchor="middle">${esc(tickLabel(v, a, false))}</text>`);
  for (const v of yTicks) {
    const y = box.top + (1 - (v - a.yMin) / (a.yMax - a.yMin)) * box.height;
    out.push(`<text x="${box.left - 5}" y="${num(y + 4)}" text-anchor="end">${esc(tickLabel(v, a, true))}</text>`);
  }
  out.push(`</g>`);
  const ok = (y: number) => Number.isFinite(y) && (!a.logY || y > 0);
  for (const { s, color, reference } of series) {
    const pts = s.points.filter(([, m, lo, hi]) => ok(m) && ok(lo) && ok(hi));
    if (pts.length === 0) continue;
    if (!reference) {
      const upper = pts.map(([x, , , hi]) => `${num(sx(x))},${num(sy(hi))}`);
      const lower = pts.map(([x, , lo]) => `${num(sx(x))},${num(sy(lo))}`).reverse();
      out.push(`<polygon class="band" data-series="${esc(s.name)}" fill="${color}" fill-opacity="0.15" stroke="none" points="${[...upper, ...lower].join(" ")}"/>`);
    }
    const line = pts.map(([x, m]) => `${num(sx(x))},${num(sy(m))}`).join(" ");
    const style = reference ? `stroke="#888" stroke-width="1.5" stroke-dasharray="5 4"` : `stroke="${color}" stroke-width="2"`;
    out.push(`<polyline class="${reference ? "reference" : "mean"}" data-series="${esc(s.name)}" fill="none" ${style} points="${line}"/>`);
  }
}

function header(out: string[], width: number, height: number, title: string): void {
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
}

function axisLabels(out: string[], o: BandChartOptions, cx: number, xY: number, cy: number): void {
  out.push(`<text x="${cx}" y="${xY}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${esc(o.yLabel)}${o.logY ? " (log scale)" : ""}</text>`);
}

/** Every series in one chart, with a legend. */
export function bandChartSvg(o: BandChartOptions): string {
  const a = axesFor(o.series, o.logY ?? false, o.percentY ?? false);
  // The legend, right of the plot, is as wide as its longest name; the plot keeps its width.
  const legendW = Math.ceil(Math.max(150, 16 + 30 + Math.max(...o.series.map((s) => textWidth(s.name, 12)))));
  const left = leftMargin(a, false);
  const width = left + 520 + 20 + legendW;
  const height = 460;
  const box: Box = { left, top: 40, width: 520, height: height - 40 - 55 };
  const out: string[] = [];
  header(out, width, height, o.title);
  drawPanel(out, box, a, o.series.map((s, i) => ({ s, color: COLORS[i % COLORS.length]! })), false);
  axisLabels(out, o, box.left + box.width / 2, height - 12, box.top + box.height / 2);
  out.push(`<g class="legend">`);
  o.series.forEach((s, i) => {
    const x = box.left + box.width + 16;
    const y = box.top + 10 + i * 18;
    out.push(`<rect x="${x}" y="${y - 6}" width="24" height="12" fill="${COLORS[i % COLORS.length]}" fill-opacity="0.15"/>`);
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}">${esc(s.name)}</text>`);
  });
  out.push(`</g>`, `</svg>`);
  return out.join("\n") + "\n";
}

/** One small panel per series on shared axes, the first series dashed in every other panel. */
export function bandPanelsSvg(o: BandChartOptions, columns = 3): string {
  const a = axesFor(o.series, o.logY ?? false, o.percentY ?? false);
  const cols = Math.min(columns, o.series.length);
  const rows = Math.ceil(o.series.length / cols);
  const pw = 250;
  const ph = 170;
  const left = leftMargin(a, true);
  const gapX = left - 8; // the next panel's y tick labels, as wide as the first's
  const gapY = 52;
  const top = 46;
  const width = left + cols * pw + (cols - 1) * gapX + 20;
  const height = top + rows * ph + (rows - 1) * gapY + 60;
  const out: string[] = [];
  header(out, width, height, o.title);
  o.series.forEach((s, i) => {
    const box: Box = { left: left + (i % cols) * (pw + gapX), top: top + Math.floor(i / cols) * (ph + gapY), width: pw, height: ph };
    const color = COLORS[i % COLORS.length]!;
    const list = i === 0 ? [{ s, color }] : [{ s: o.series[0]!, color: "#888", reference: true }, { s, color }];
    drawPanel(out, box, a, list, true);
    out.push(`<text x="${box.left + box.width / 2}" y="${box.top - 8}" text-anchor="middle" font-weight="bold">${esc(s.name)}</text>`);
  });
  if (o.series.length > 1) {
    out.push(`<text x="${width - 20}" y="${height - 30}" text-anchor="end" fill="#555">dashed: ${esc(o.series[0]!.name)} (mean), for reference</text>`);
  }
  axisLabels(out, o, width / 2, height - 12, top + (rows * ph + (rows - 1) * gapY) / 2);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
