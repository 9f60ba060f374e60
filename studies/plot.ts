// A dependency-free SVG line chart for learning curves: the adding and Reber examples write one
// to compare LSTM and RNN. Axes with "nice" ticks (1, 2, 5 x 10^k), a legend above the plot (never
// over a curve), margins sized from their labels, a title, an optional log scale on y. Non-finite
// points are dropped (a diverged run still plots).

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface Series {
  name: string;
  /** [x, y] pairs; drawn in the given order. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly Series[];
  width?: number;
  height?: number;
  /** Log10 scale on y (points with y <= 0 are dropped). */
  logY?: boolean;
  /** Start the x axis at 0 when all x are positive (default true). */
  xFromZero?: boolean;
  /** A horizontal reference line, e.g. the 0.04 error threshold. */
  hLine?: { y: number; label: string };
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round to a few significant digits for coordinates and tick labels. */
function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/** Tick values covering [lo, hi], about `target` of them, at 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  // The 1-2-5 step whose tick count is closest to the target.
  const closeness = (m: number) => Math.abs((hi - lo) / (m * mag) - target);
  const step = [1, 2, 5, 10].reduce((best, m) => (closeness(m) < closeness(best) ? m : best)) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Log-axis ticks (in log10 units) at 1, 2 and 5 times powers of ten, or only powers when many.
 *  A span narrower than that (0.155 to 0.175 holds none of them) gets nice linear ticks of the
 *  values instead, placed on the log axis, so the axis is never left without labels. */
export function logTicks(lo: number, hi: number, target = 5): number[] {
  const all: number[] = [];
  const pows: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of [1, 2, 5]) {
      const v = k + Math.log10(m);
      if (v >= lo - 1e-9 && v <= hi + 1e-9) {
        all.push(v);
        if (m === 1) pows.push(v);
      }
    }
  }
  if (all.length < 2) return niceTicks(Math.pow(10, lo), Math.pow(10, hi), target).filter((v) => v > 0).map(Math.log10);
  return all.length <= 8 || pows.length < 2 ? all : pows;
}

function tickLabel(v: number, log: boolean): string {
  const value = log ? Number(Math.pow(10, v).toPrecision(6)) : v;
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(0);
  if (Math.abs(value) >= 1e4) return Math.round(value).toLocaleString("en-US");
  return fmt(value);
}

const FONT = 12;
/** Height of the title line at the top, and of one legend row under it. */
const TITLE_BAND = 32;
const LEGEND_ROW = 18;
const LEGEND_SWATCH = 24;
/** Room for the rotated y axis title, and between a y tick label and the axis. */
const Y_TITLE_BAND = 30;
const TICK_GAP = 6;

/** A generous width for `text` in a sans-serif font: 0.66 em a character, wider than the digits
 *  and most letters of the common sans fonts (DejaVu Sans digits are 0.636 em), so space sized
 *  from it is never too small. */
export function textWidth(text: string, fontSize: number): number {
  return text.length * 0.66 * fontSize;
}

/** Legend entries (swatch, gap, name) left to right in rows, centred, wrapping at the chart's width. */
function legendLayout(names: readonly string[], width: number): { rows: number; at: { x: number; row: number }[] } {
  const gap = 20;
  const widths = names.map((n) => LEGEND_SWATCH + 6 + textWidth(n, FONT));
  const rows: number[][] = [[]];
  let used = 0;
  widths.forEach((w, i) => {
    const row = rows[rows.length - 1]!;
    if (row.length > 0 && used + gap + w > width - 40) {
      rows.push([i]);
      used = w;
    } else {
      used += (row.length > 0 ? gap : 0) + w;
      row.push(i);
    }
  });
  const at: { x: number; row: number }[] = [];
  rows.forEach((row, r) => {
    const total = row.reduce((sum, i) => sum + widths[i]!, 0) + gap * (row.length - 1);
    let x = Math.max(20, (width - total) / 2);
    for (const i of row) {
      at[i] = { x, row: r };
      x += widths[i]! + gap;
    }
  });
  return { rows: rows.length, at };
}

/** The chart as an SVG document. */
export function lineChartSvg(options: ChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const logY = options.logY ?? false;
  if (options.series.length === 0) throw new Error("line chart: no series to draw");
  const ty = (y: number) => (logY ? Math.log10(y) : y);
  const series = options.series.map((s) => ({
    name: s.name,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)).map(([x, y]) => [x, ty(y)] as const),
  }));
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error("line chart: no finite points to draw");

  let [xMin, xMax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [yMin, yMax] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (options.hLine && (!logY || options.hLine.y > 0)) {
    yMin = Math.min(yMin, ty(options.hLine.y));
    yMax = Math.max(yMax, ty(options.hLine.y));
  }
  if (xMin > 0 && options.xFromZero !== false) xMin = 0;
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMax === yMin) [yMin, yMax] = [yMin - 1, yMax + 1];
  const yPad = (yMax - yMin) * 0.05;
  [yMin, yMax] = [yMin - yPad, yMax + yPad];

  const xTicks = niceTicks(xMin, xMax);
  const yTicks = logY ? logTicks(yMin, yMax) : niceTicks(yMin, yMax);
  const xTickText = xTicks.map((v) => tickLabel(v, false));
  const yTickText = yTicks.map((v) => tickLabel(v, logY));
  // The legend goes in rows between the title and the plot, where no curve can run under it.
  const legend = legendLayout(series.map((s) => s.name), width);
  // Margins are sized from the text they hold: the y tick labels (plus the rotated axis title) on
  // the left, half the last x tick label on the right (it is centred on the axis end).
  const margin = {
    left: Math.ceil(Math.max(60, Y_TITLE_BAND + TICK_GAP + Math.max(...yTickText.map((t) => textWidth(t, FONT))))),
    right: Math.ceil(Math.max(20, textWidth(xTickText[xTickText.length - 1] ?? "", FONT) / 2 + 6)),
    top: TITLE_BAND + legend.rows * LEGEND_ROW + 8,
    bottom: 55,
  };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);

  // Grid and ticks.
  const axis = `${margin.left},${margin.top} ${margin.left},${margin.top + plotH} ${margin.left + plotW},${margin.top + plotH}`;
  out.push(`<g class="grid" stroke="#e5e5e5">`);
  for (const v of xTicks) out.push(`<line x1="${fmt(sx(v))}" y1="${margin.top}" x2="${fmt(sx(v))}" y2="${margin.top + plotH}"/>`);
  for (const v of yTicks) out.push(`<line x1="${margin.left}" y1="${fmt(sy(v))}" x2="${margin.left + plotW}" y2="${fmt(sy(v))}"/>`);
  out.push(`</g>`);
  out.push(`<path class="axis" d="M ${axis.replace(/ /g, " L ")}" fill="none" stroke="black"/>`);
  out.push(`<g class="ticks">`);
  xTicks.forEach((v, i) => {
    out.push(`<text x="${fmt(sx(v))}" y="${margin.top + plotH + 16}" text-anchor="middle">${escapeXml(xTickText[i]!)}</text>`);
  });
  yTicks.forEach((v, i) => {
    out.push(`<text x="${margin.left - TICK_GAP}" y="${fmt(sy(v) + 4)}" text-anchor="end">${escapeXml(yTickText[i]!)}</text>`);
  });
  out.push(`</g>`);
  if (options.xLabel) {
    out.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  }
  if (options.yLabel) {
    const cy = margin.top + plotH / 2;
    out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(options.yLabel)}${logY ? " (log scale)" : ""}</text>`);
  }
  if (options.hLine && (!logY || options.hLine.y > 0)) {
    const y = fmt(sy(ty(options.hLine.y)));
    out.push(`<line class="reference" x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#555" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${margin.left + plotW - 4}" y="${fmt(Number(y) - 4)}" text-anchor="end" fill="#555">${escapeXml(options.hLine.label)}</text>`);
  }

  series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${fmt(sx(x))},${fmt(sy(y))}`).join(" ");
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts}"/>`);
  });
  out.push(`<g class="legend">`);
  series.forEach((s, i) => {
    const { x, row } = legend.at[i]!;
    const y = TITLE_BAND + row * LEGEND_ROW + LEGEND_ROW / 2;
    out.push(`<line x1="${fmt(x)}" y1="${y}" x2="${fmt(x + LEGEND_SWATCH)}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`);
    out.push(`<text x="${fmt(x + LEGEND_SWATCH + 6)}" y="${y + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** Writes the chart to `path` (creating its folder) and returns the path. */
export function writeLineChart(path: string, options: ChartOptions): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lineChartSvg(options));
  return path;
}
