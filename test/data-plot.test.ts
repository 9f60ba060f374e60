// Checks the learning-curve SVG writer: a well-formed XML document (checked by a small tag-stack
// parser written here), one polyline per series with one point per finite input point, points
// inside the plot area and ordered like the data, escaped text, and clear errors.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineChartSvg, logTicks, niceTicks, writeLineChart } from "../studies/plot.ts";
import { bandChartSvg, bandPanelsSvg } from "../studies/chart.ts";

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
  parent?: Element;
}

/** Parses the SVG strictly enough to reject malformed markup; returns every element in order. */
function parseXml(xml: string): Element[] {
  const elements: Element[] = [];
  const stack: Element[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    if (xml[i] === "<") {
      tag.lastIndex = i;
      const m = tag.exec(xml);
      if (!m) throw new Error(`malformed tag at ${i}: ${xml.slice(i, i + 40)}`);
      const [, closing, name, attrText, selfClosing] = m;
      if (closing) {
        const open = stack.pop();
        if (!open || open.name !== name) throw new Error(`</${name}> does not close <${open?.name}>`);
      } else {
        const attrs: Record<string, string> = {};
        for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
          if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
          attrs[a[1]!] = a[2]!;
        }
        const el: Element = { name: name!, attrs, text: "", parent: stack[stack.length - 1] };
        elements.push(el);
        if (!selfClosing) stack.push(el);
      }
      i = tag.lastIndex;
    } else {
      const next = xml.indexOf("<", i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`unescaped & in text: ${text}`);
      if (text.trim() && stack.length === 0) throw new Error(`text outside the root: ${text}`);
      if (stack.length) stack[stack.length - 1]!.text += text;
      i = next < 0 ? xml.length : next;
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  return elements;
}

describe("SVG line chart", () => {
  const lstm: Array<[number, number]> = Array.from({ length: 30 }, (_, i) => [i * 1000, 0.3 * Math.exp(-i / 6)]);
  const rnn: Array<[number, number]> = Array.from({ length: 12 }, (_, i) => [i * 2500, 0.25 - i * 0.001]);

  it("is well formed with one polyline per series and one point per data point", () => {
    const svg = lineChartSvg({
      title: "Adding problem <T = 100> & friends",
      xLabel: "sequences seen",
      yLabel: "mean |error|",
      series: [
        { name: "lstm", points: lstm },
        { name: "rnn", points: rnn },
        { name: "with gaps", points: [[0, 0.1], [1, NaN], [2, Infinity], [3, 0.2]] },
      ],
      hLine: { y: 0.04, label: "solved: 0.04" },
    });
    const els = parseXml(svg);
    expect(els[0]!.name).toBe("svg");
    expect(els[0]!.attrs["xmlns"]).toBe("http://www.w3.org/2000/svg");
    const lines = els.filter((e) => e.name === "polyline");
    expect(lines.map((e) => e.attrs["data-series"])).toEqual(["lstm", "rnn", "with gaps"]);
    const pts = lines.map((e) => e.attrs["points"]!.trim().split(/\s+/).map((p) => p.split(",").map(Number)));
    expect(pts.map((p) => p.length)).toEqual([30, 12, 2]);
    const width = Number(els[0]!.attrs["width"]);
    const height = Number(els[0]!.attrs["height"]);
    for (const series of pts) {
      for (const [x, y] of series) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(width);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(height);
      }
    }
    // x grows left to right; a falling curve rises on screen (SVG y points down).
    const l = pts[0]!;
    for (let i = 1; i < l.length; i++) {
      expect(l[i]![0]).toBeGreaterThan(l[i - 1]![0]!);
      expect(l[i]![1]).toBeGreaterThan(l[i - 1]![1]!);
    }
    // Equal x values land on equal pixels across series (shared axes).
    expect(pts[0]![5]![0]).toBeCloseTo(pts[1]![2]![0]!, 6);
    const texts = els.filter((e) => e.name === "text").map((e) => e.text);
    expect(texts).toContain("Adding problem &lt;T = 100&gt; &amp; friends");
    expect(texts).toContain("lstm");
    expect(texts).toContain("rnn");
    expect(texts).toContain("sequences seen");
    expect(texts.some((t) => t.startsWith("mean |error|"))).toBe(true);
    expect(texts).toContain("solved: 0.04");
    expect(texts).toContain("10,000"); // an x tick, with thousands separators
  });

  it("supports a log y axis and writes the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cellc-plot-"));
    const path = writeLineChart(join(dir, "sub", "curves.svg"), {
      title: "log",
      series: [{ name: "a", points: [[0, 1], [1, 0.1], [2, 0.001], [3, 0]] }],
      logY: true,
    });
    const els = parseXml(readFileSync(path, "utf8"));
    const line = els.find((e) => e.name === "polyline")!;
    expect(line.attrs["points"]!.split(" ")).toHaveLength(3); // y = 0 has no log
    const ys = line.attrs["points"]!.split(" ").map((p) => Number(p.split(",")[1]));
    // Equal ratios are equal distances on a log axis: 1 -> 0.1 is half of 0.1 -> 0.001.
    expect((ys[2]! - ys[1]!) / (ys[1]! - ys[0]!)).toBeCloseTo(2, 3);
  });

  it("picks ticks at 1, 2 or 5 times a power of ten and rejects empty charts", () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.013, 0.31)).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    expect(niceTicks(0, 27500)).toEqual([0, 5000, 10000, 15000, 20000, 25000]);
    expect(niceTicks(-3.3, 0.1)).toEqual([-3, -2, -1, 0]);
    // Log ticks (log10 units): 1-2-5 per decade over a short span, powers of ten over a long one.
    expect(logTicks(-2.1, -0.9).map((v) => Number(Math.pow(10, v).toPrecision(3)))).toEqual([0.01, 0.02, 0.05, 0.1]);
    expect(logTicks(-5.5, 0.2)).toEqual([-5, -4, -3, -2, -1, 0]);
    expect(() => lineChartSvg({ title: "x", series: [] })).toThrow(/no series/);
    expect(() => lineChartSvg({ title: "x", series: [{ name: "a", points: [[0, NaN]] }] })).toThrow(/no finite points/);
  });
});

/** A text element's box, its width at 0.636 em a character (DejaVu Sans digits, the widest of the
 *  fonts Chromium picks for sans-serif here); y from the baseline up one em. */
function textBox(e: Element): { x0: number; x1: number; y0: number; y1: number } {
  const size = Number(e.attrs["font-size"] ?? e.parent?.attrs["font-size"] ?? 12);
  const w = e.text.length * 0.636 * size;
  const x = Number(e.attrs["x"]);
  const y = Number(e.attrs["y"]);
  const anchor = e.attrs["text-anchor"] ?? "start";
  const x0 = anchor === "middle" ? x - w / 2 : anchor === "end" ? x - w : x;
  return { x0, x1: x0 + w, y0: y - size, y1: y + size * 0.25 };
}

/** The y tick labels of every plot in an SVG: right-aligned texts among the ticks. */
function yTickLabels(els: Element[]): Element[] {
  return els.filter((e) => e.name === "text" && e.parent?.attrs["class"] === "ticks" && e.attrs["text-anchor"] === "end");
}

describe("axis labels and legend placement", () => {
  // The demo's run: 150,000 sequences, lstm falling from the top left where the legend used to be.
  const xs = Array.from({ length: 75 }, (_, i) => (i + 1) * 2000);
  const demo = {
    title: "Adding problem, T = 100: held-out error while training",
    xLabel: "training sequences seen",
    yLabel: "mean |error| on held-out sequences",
    series: [
      { name: "lstm (385 params)", points: xs.map((x, i) => [x, 0.2 * Math.exp(-i / 15) + 0.004] as const) },
      { name: "rnn (337 params)", points: xs.map((x, i) => [x, 0.17 + 0.01 * Math.sin(i)] as const) },
    ],
    logY: true,
    hLine: { y: 0.04, label: "solved threshold 0.04" },
  };

  it("keeps every tick label inside the picture, 150,000 at the end of the x axis included", () => {
    for (const width of [720, 480]) {
      const els = parseXml(lineChartSvg({ ...demo, width }));
      const ticks = els.filter((e) => e.name === "text" && e.parent?.attrs["class"] === "ticks");
      expect(ticks.map((e) => e.text)).toContain("150,000");
      for (const t of ticks) {
        const b = textBox(t);
        expect(b.x0, t.text).toBeGreaterThanOrEqual(0);
        expect(b.x1, t.text).toBeLessThanOrEqual(width);
      }
      // The y tick labels stay clear of the rotated axis title (centred at x = 16, one line high).
      for (const t of yTickLabels(els)) expect(textBox(t).x0, t.text).toBeGreaterThan(16 + 8);
    }
  });

  it("puts the legend where no curve runs: outside the plot area, under the title, inside the picture", () => {
    const els = parseXml(lineChartSvg(demo));
    const width = Number(els[0]!.attrs["width"]);
    const axis = els.find((e) => e.name === "path" && e.attrs["class"] === "axis")!.attrs["d"]!;
    // M left,top L left,bottom L right,bottom
    const [left, top, , bottom, right] = [...axis.matchAll(/-?[\d.]+/g)].map((m) => Number(m[0]));
    expect([left, top, right, bottom].every(Number.isFinite)).toBe(true);
    const curves = els.filter((e) => e.name === "polyline").flatMap((e) => e.attrs["points"]!.split(" ").map((p) => p.split(",").map(Number)));
    for (const [x, y] of curves) {
      expect(x).toBeGreaterThanOrEqual(left!);
      expect(x).toBeLessThanOrEqual(right!);
      expect(y).toBeGreaterThanOrEqual(top!);
      expect(y).toBeLessThanOrEqual(bottom!);
    }
    const legend = els.filter((e) => e.parent?.attrs["class"] === "legend");
    expect(legend.filter((e) => e.name === "text").map((e) => e.text)).toEqual(["lstm (385 params)", "rnn (337 params)"]);
    const title = textBox(els.find((e) => e.name === "text" && e.text.startsWith("Adding problem"))!);
    for (const e of legend) {
      const b = e.name === "text" ? textBox(e) : { x0: Number(e.attrs["x1"]), x1: Number(e.attrs["x2"]), y0: Number(e.attrs["y1"]) - 1.5, y1: Number(e.attrs["y2"]) + 1.5 };
      expect(b.x0).toBeGreaterThanOrEqual(0);
      expect(b.x1).toBeLessThanOrEqual(width);
      expect(b.y1, `${e.name} ${e.text}`).toBeLessThan(top!); // above the plot area, so above every curve
      expect(b.y0, `${e.name} ${e.text}`).toBeGreaterThan(title.y1 - 4); // and under the title
    }
  });

  it("study charts label a y axis whose values span less than one 1-2-5 tick, log scale or not, and keep their labels in the picture", () => {
    // Losses between 0.155 and 0.175: no 1, 2 or 5 times a power of ten lies in that span.
    const series = [
      { name: "lstm", points: [[0, 0.175, 0.172, 0.176], [500, 0.165, 0.16, 0.17], [1000, 0.158, 0.155, 0.161]] as const },
      { name: "examples/specs/greff/nig.cell (unoptimised)", points: [[0, 0.174, 0.171, 0.175], [500, 0.168, 0.163, 0.17], [1000, 0.162, 0.157, 0.166]] as const },
    ];
    for (const logY of [true, false]) {
      for (const percentY of [false, true]) {
        const o = { title: "t", xLabel: "steps", yLabel: "loss", series, logY, percentY };
        for (const [layout, svg] of [["chart", bandChartSvg(o)], ["panels", bandPanelsSvg(o)]] as const) {
          const els = parseXml(svg);
          const width = Number(els[0]!.attrs["width"]);
          // Every label (ticks, legend) inside the picture; y tick labels clear of the y axis title.
          for (const t of els.filter((e) => e.name === "text" && ["ticks", "legend"].includes(e.parent?.attrs["class"] ?? ""))) {
            expect(textBox(t).x0, t.text).toBeGreaterThanOrEqual(0);
            expect(textBox(t).x1, t.text).toBeLessThanOrEqual(width);
          }
          for (const t of yTickLabels(els)) expect(textBox(t).x0, t.text).toBeGreaterThan(16 + 8);
          const panels = els.filter((e) => e.name === "g" && e.attrs["class"] === "ticks");
          expect(panels).toHaveLength(layout === "chart" ? 1 : 2);
          for (const panel of panels) {
            const labels = yTickLabels(els).filter((e) => e.parent === panel).map((e) => e.text);
            const what = `${layout}, logY ${logY}, percentY ${percentY}: ${labels.join(" ")}`;
            expect(labels.length, what).toBeGreaterThanOrEqual(3);
            expect(new Set(labels).size, what).toBe(labels.length);
            const values = labels.map((t) => (percentY ? Number(t.replace(/%$/, "")) / 100 : Number(t)));
            for (const v of values) {
              expect(v, what).toBeGreaterThanOrEqual(0.155 - 0.001);
              expect(v, what).toBeLessThanOrEqual(0.176 + 0.001);
            }
          }
        }
      }
    }
  });
});
