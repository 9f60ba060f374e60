// `npm run playground`: builds the playground (scripts/build-playground.mjs) and serves the
// static site on loopback, printing its URL. PORT picks the port (default: any free one).

import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { buildPlayground } from "./build-playground.mjs";

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png" };

/** A static file server for `dir` (only files under it; index.html for a folder). */
export function serveStatic(dir) {
  return createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? "/").split(/[?#]/)[0])));
    const file = path.startsWith(dir) && existsSync(path) && statSync(path).isDirectory() ? join(path, "index.html") : path;
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { dir } = await buildPlayground({ minify: false });
  const server = serveStatic(dir);
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    console.log(`cellc playground: http://127.0.0.1:${server.address().port}/  (Ctrl-C to stop)`);
  });
}
