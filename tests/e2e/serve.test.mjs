// Serving compressed: the release build carries brotli copies of its large files
// (scripts/precompress.mjs, run by the Trunk hook), and the server people use
// (scripts/serve-dist.mjs, through scripts/static-files.mjs) sends them to browsers that accept
// brotli, gzip to the others, the file itself to the rest; a copy older than its file is never
// sent. Then the page itself over that server: the first visit's bytes stay under 8 MB.
//
// Needs dist/ (trunk build --release).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { precompress } from '../../scripts/precompress.mjs';
import { DIST, serve, launch, firstVisit } from './lib.mjs';

/** How scripts/serve-dist.mjs serves. */
const AS_SERVE_DIST = { cache: true, compress: true };

/** GET `path` with `accept-encoding`; resolves to { encoding, body }. */
function get(port, path, acceptEncoding) {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { 'accept-encoding': acceptEncoding } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('the server sends the brotli copy, gzip or the file, as the browser accepts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'whisker-serve-'));
  const js = Buffer.from('export const x = 1;\n'.repeat(2000));
  writeFileSync(join(dir, 'app.js'), js);
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  const server = await serve(dir, AS_SERVE_DIST);
  try {
    const [[, raw, br]] = await precompress(dir);
    assert.equal(raw, js.length);
    assert.ok(br < raw / 10, `brotli ${br} of ${raw} bytes`);

    const asBrotli = await get(server.port, '/app.js', 'gzip, deflate, br, zstd');
    assert.equal(asBrotli.encoding, 'br');
    assert.equal(asBrotli.body.length, br);
    assert.deepEqual(brotliDecompressSync(asBrotli.body), js);
    const asGzip = await get(server.port, '/app.js', 'gzip');
    assert.equal(asGzip.encoding, 'gzip');
    assert.deepEqual(gunzipSync(asGzip.body), js);
    const plain = await get(server.port, '/app.js', 'identity');
    assert.equal(plain.encoding, undefined);
    assert.deepEqual(plain.body, js);

    // The file changed after its copy was made: the copy is stale and never sent.
    const later = new Date(statSync(join(dir, 'app.js.br')).mtimeMs + 5000);
    utimesSync(join(dir, 'app.js'), later, later);
    assert.equal((await get(server.port, '/app.js', 'br, gzip')).encoding, 'gzip');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the release build carries brotli copies of its wasm, script and weights', () => {
  const top = readdirSync(DIST);
  const models = readdirSync(join(DIST, 'models'));
  const wanted = [
    ...top.filter((f) => /\.(wasm|js|css)$/.test(f) && statSync(join(DIST, f)).size >= 1024),
    ...models.filter((f) => f.endsWith('.bpk')).map((f) => `models/${f}`),
  ];
  assert.ok(wanted.some((f) => f.endsWith('.wasm')), `no wasm in ${top}`);
  for (const f of wanted) {
    const copy = readFileSync(join(DIST, `${f}.br`));
    assert.deepEqual(brotliDecompressSync(copy), readFileSync(join(DIST, f)), f);
  }
});

test('a first visit downloads under 8 MB and the page becomes usable', async () => {
  const bytes = new Map();
  const server = await serve(DIST, { ...AS_SERVE_DIST, sent: bytes });
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    const { total, usable } = await firstVisit(page, server.origin, bytes);
    for (const [path, n] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      console.log(`# ${path}: ${(n / 1e6).toFixed(2)} MB`);
    }
    console.log(`# first visit: ${(total / 1e6).toFixed(2)} MB over the wire, Train usable after ${usable.toFixed(1)} s`);
    assert.ok(total < 8e6, `first visit ${total} bytes`);
    assert.ok([...bytes.keys()].some((p) => p.endsWith('.wasm')), 'the wasm was downloaded');
    assert.ok([...bytes.keys()].some((p) => p.endsWith('.bpk')), 'the weights were downloaded');
  } finally {
    await close();
    await server.close();
  }
});
