// A static file server on loopback for the tests and benchmarks that open a page in headless
// Chromium (the playground, the browser runtime, the WebGPU pages): a folder served as a static
// host serves it (a folder's URL gives its index.html; anything outside the folder, or missing, is
// a 404), with the content type the browser needs for a module script, and optional headers on
// every response (COOP/COEP for a cross-origin isolated page). Node's http module is all it needs:
// a static-file package (sirv, serve-handler) is not among the dependencies, and this is the
// handful of lines the tests need.

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

export interface StaticServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  /** The folder served; may be changed between pages (the WebGPU page serves one folder per run). */
  root: string;
  /** Every file served so far, relative to the root at the time. */
  readonly served: Set<string>;
  close(): Promise<void>;
}

export interface StaticOptions {
  /** Headers added to every response (e.g. COOP/COEP). */
  headers?: Record<string, string>;
  /** Fixed pages by URL path, served whatever the root ("/probe" → its HTML). */
  pages?: Record<string, string>;
}

/** Serves `root` on a free loopback port; resolves once it listens. */
export function serveStatic(root: string, options: StaticOptions = {}): Promise<StaticServer> {
  const served = new Set<string>();
  const state = { root };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split(/[?#]/)[0]!;
    const page = options.pages?.[path];
    if (page !== undefined) return void res.writeHead(200, { "content-type": "text/html", ...options.headers }).end(page);
    const base = normalize(state.root);
    let file = normalize(join(base, decodeURIComponent(path)));
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (state.root === "" || !file.startsWith(base.endsWith(sep) ? base : base + sep) || !existsSync(file)) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => {
        served.add(relative(base, file));
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", ...options.headers }).end(body);
      },
      () => void res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        get root() {
          return state.root;
        },
        set root(dir: string) {
          state.root = dir;
        },
        served,
        // Idle keep-alive connections would hold close() open: end them too.
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
