// Serves a built dist/ on http://127.0.0.1:8080 (or `node scripts/serve-dist.mjs DIR PORT`), the
// way a static host should serve Whisker, and without watching anything: the build is not run
// again behind the user's back (scripts/serve.sh builds first when the sources changed).
//
// - compressed: gzip (level 9, once per file and version, kept in memory) for every client that
//   accepts it; the wasm and the weights are most of a first visit;
// - cached: files whose names carry Trunk's content hash are immutable for a year; the others
//   (index.html, boot.js, worker.js, sw.js, the weights) are revalidated with an ETag, so a
//   returning browser (and the service worker's install, see static/sw.js) gets a 304 instead of
//   the bytes again;
// - only on the loopback address, and nothing outside DIR.

import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const DIR = resolve(process.argv[2] ?? join(ROOT, 'dist'));
const PORT = Number(process.argv[3] ?? 8080);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.bpk': 'application/octet-stream',
};
/** Trunk's content hash in a file name: such a file never changes. */
const HASHED = /-[0-9a-f]{16}(_bg)?\.[a-z]+$/;
/** Compressed bodies by path and version (ETag). */
const gzipped = new Map();

if (!existsSync(join(DIR, 'index.html'))) {
  console.error(`${DIR}/index.html is missing: build the app first (scripts/serve.sh does)`);
  process.exit(1);
}

const server = createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const url = new URL(req.url, 'http://localhost');
  let path = normalize(join(DIR, decodeURIComponent(url.pathname)));
  if (!path.startsWith(DIR + sep) && path !== DIR) {
    res.writeHead(403).end();
    return;
  }
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
  if (!existsSync(path)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const stat = statSync(path);
  const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const headers = {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    'cache-control': HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  let body = readFileSync(path);
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
    const key = `${path}\0${etag}`;
    if (!gzipped.has(key)) gzipped.set(key, gzipSync(body, { level: 9 }));
    body = gzipped.get(key);
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`serving ${DIR} on http://127.0.0.1:${PORT} (Ctrl-C stops)`);
});
