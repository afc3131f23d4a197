// A request handler that serves the files of a built dist/: the tests' server
// (tests/e2e/lib.mjs) and the one people use (scripts/serve-dist.mjs) share it.
//
// Options: `cache` — files whose names carry Trunk's content hash are immutable for a year and the
// others revalidated with an ETag (a 304 instead of the bytes); without it every answer is
// `no-store`, so each test sees exactly what the page asks for. `compress` — for clients that
// accept it, the build's brotli copy (`x.wasm.br`, made by scripts/precompress.mjs) when it is
// there and not older than the file, else gzip (level 9, once per file and version, kept in
// memory).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

export const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.bpk': 'application/octet-stream',
};

/** Trunk's content hash in a file name (`whisker-0123456789abcdef_bg.wasm`): it never changes. */
export const HASHED = /-[0-9a-f]{16}(_bg)?\.[a-z]+$/;

/** A `(req, res)` handler for the files under `dir` (nothing outside it), GET and HEAD only. */
export function fileHandler(dir, { cache = false, compress = false } = {}) {
  const gzipped = new Map();
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const url = new URL(req.url, 'http://localhost');
    let path = normalize(join(dir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(dir + sep) && path !== dir) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers = { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' };
    const stat = statSync(path);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    if (cache) {
      headers['cache-control'] = HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
      headers.etag = etag;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end();
        return;
      }
    } else {
      headers['cache-control'] = 'no-store';
    }
    // Only the bytes that are sent are read: the brotli copy instead of the file when it goes out.
    let body;
    if (compress) {
      headers.vary = 'accept-encoding';
      const accepts = req.headers['accept-encoding'] ?? '';
      const brotli = `${path}.br`;
      if (/\bbr\b/.test(accepts) && existsSync(brotli) && statSync(brotli).mtimeMs >= stat.mtimeMs) {
        body = readFileSync(brotli);
        headers['content-encoding'] = 'br';
      } else if (/\bgzip\b/.test(accepts)) {
        const key = `${path}\0${etag}`;
        if (!gzipped.has(key)) gzipped.set(key, gzipSync(readFileSync(path), { level: 9 }));
        body = gzipped.get(key);
        headers['content-encoding'] = 'gzip';
      }
    }
    body ??= readFileSync(path);
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
