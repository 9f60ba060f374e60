// Headless Chromium with a WebGPU adapter, for the WebGPU backend's tests and benchmark: Debian's
// chromium driven by puppeteer-core, with SwiftShader's software Vulkan as the adapter where the
// machine has no GPU. A page is a folder served on loopback (navigator.gpu needs a secure context,
// which 127.0.0.1 is); `run` bundles an entry with esbuild, opens it and returns what the page
// passes to cellcDone(json).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { serveStatic } from "./static-server.ts";

/** CHROMIUM_PATH, when set, is the only browser tried. */
const chromiumPath = process.env["CHROMIUM_PATH"];
export const chromium = (chromiumPath !== undefined ? [chromiumPath] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"]).find((p) => p && existsSync(p));

/** Flags giving headless Chromium a WebGPU adapter (SwiftShader without a GPU). */
export const WEBGPU_FLAGS = ["--no-sandbox", "--disable-dev-shm-usage", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader"];

export interface GpuPage {
  /** Why WebGPU cannot be tested here, or undefined when it can. */
  missing: string | undefined;
  /** The adapter's vendor and architecture ("google swiftshader"). */
  adapter: string;
  /** Bundles `entry` (a .ts file in `dir`) into dir/main.js, opens dir/index.html, returns what the page passes to cellcDone(json). */
  run(dir: string, entry: string, onLog?: (text: string) => void): Promise<unknown>;
  close(): Promise<void>;
}

export async function openGpuPage(): Promise<GpuPage> {
  const closed: GpuPage = { missing: "", adapter: "", run: () => Promise.reject(new Error("no browser")), close: async () => {} };
  if (!chromium) return { ...closed, missing: chromiumPath !== undefined ? `no Chromium at CHROMIUM_PATH=${chromiumPath}` : "no Chromium found; install Debian's chromium package, or set CHROMIUM_PATH" };
  // No folder until the first run: only /probe is served before.
  const server = await serveStatic("", { pages: { "/probe": "<!doctype html><title>probe</title>" } });
  const puppeteer = await import("puppeteer-core");
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: WEBGPU_FLAGS, protocolTimeout: 600_000 });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  const tab = await browser.newPage();
  await tab.goto(`${server.url}probe`);
  const probe = (await tab.evaluate(`(async () => {
    const gpu = navigator.gpu;
    if (!gpu) return { missing: "this Chromium has no navigator.gpu" };
    const a = await gpu.requestAdapter();
    if (!a) return { missing: "Chromium's navigator.gpu.requestAdapter() gave no adapter (no Vulkan, nor SwiftShader)" };
    const info = a.info ?? {};
    return { adapter: (info.vendor ?? "?") + " " + (info.architecture ?? "?") };
  })()`)) as { missing?: string; adapter?: string };
  if (probe.missing) {
    await close();
    return { ...closed, missing: probe.missing };
  }
  return {
    missing: undefined,
    adapter: probe.adapter!,
    async run(dir: string, entry: string, onLog?: (text: string) => void): Promise<unknown> {
      const esbuild = await import("esbuild");
      await esbuild.build({ entryPoints: [join(dir, entry)], bundle: true, format: "esm", outfile: join(dir, "main.js"), target: "es2022", logLevel: "silent", nodePaths: [new URL("../../node_modules", import.meta.url).pathname] });
      const { writeFileSync } = await import("node:fs");
      writeFileSync(join(dir, "index.html"), `<!doctype html><title>cellc webgpu</title><script type="module" src="./main.js"></script>\n`);
      server.root = dir;
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      if (onLog) page.on("console", (m) => onLog(m.text()));
      // The page calls cellcDone(json) when it has finished: an event, not a poll.
      let done!: (json: string) => void;
      const finished = new Promise<string>((r) => (done = r));
      await page.exposeFunction("cellcDone", (json: string) => done(json));
      page.on("pageerror", (e) => done(JSON.stringify({ error: `page error: ${String(e)}` })));
      try {
        await page.goto(server.url);
        const result = JSON.parse(await finished) as unknown;
        if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
        return result;
      } finally {
        await page.close();
      }
    },
    close,
  };
}
