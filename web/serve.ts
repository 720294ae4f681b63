/**
 * A tiny static file server for the app folder on 127.0.0.1 (node:http only). It sends the cross-origin
 * isolation headers, so browsers allow SharedArrayBuffer and tfjs can use the threaded wasm build.
 *
 *   const s = await serveStatic('app', { port: 0 });   // s.url = 'http://127.0.0.1:<port>/'
 *   await s.close();
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.css': 'text/css',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  url: string;
  port: number;
  /** Requests served, for tests and logs. */
  requests: string[];
  /** Body bytes served per path (what the browser fetched), for `bench -- app`'s bytesFetched. */
  bytes: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `root` on `host` (127.0.0.1) at `port` (0 = any free port). */
export function serveStatic(root: string, opts: { port?: number; host?: string } = {}): Promise<StaticServer> {
  const base = path.resolve(root);
  const requests: string[] = [];
  const bytes = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    let file = path.join(base, decodeURIComponent(url.pathname));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`);
      return;
    }
    const size = fs.statSync(file).size;
    bytes.set(url.pathname, (bytes.get(url.pathname) ?? 0) + size);
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      const host = opts.host ?? '127.0.0.1';
      resolve({
        url: `http://${host}:${addr.port}/`,
        port: addr.port,
        requests,
        bytes,
        close: () => new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}
