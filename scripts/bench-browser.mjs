#!/usr/bin/env node
// Browser benchmark, one headless Chromium run: for the same 10 photos (5 cats, 5 dogs from
// ../shared/data/pets or $WHISKER_DATA), seconds of feature extraction and of training on WebGPU
// and on the CPU path; then the first visit's bytes (page, wasm, JS, CSS, the starting
// network's weights; gzip and brotli), the other network's weights listed apart.
// Then a first visit over loopback as a user makes it: bytes on the wire, first paint, the
// interface drawn, Train usable.
// Needs dist/ (trunk build --release). Usage: node scripts/bench-browser.mjs [--epochs N]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { DIST, serve, launch, photos, openApp, firstVisit, fillClasses, setSettings, train } from '../tests/e2e/lib.mjs';

const epochsArg = process.argv.indexOf('--epochs');
const epochs = epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : 10;
const backends = (process.env.WHISKER_BENCH_BACKENDS ?? 'webgpu,cpu').split(',').filter(Boolean);
/** The record the page downloads (`Precision::BROWSER`). */
const BROWSER_RECORD = 'i8';

const server = await serve();
const { context, close } = await launch();
const rows = [];
try {
  for (const backend of backends) {
    const page = await context.newPage();
    const t0 = Date.now();
    const badge = await openApp(page, server.origin, backend, 600_000);
    const load = (Date.now() - t0) / 1000;
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    await setSettings(page, { epochs });
    const run = await train(page, 1_200_000);
    rows.push({ backend, adapter: badge.label, load, ...run });
    await page.close();
  }
} finally {
  await close();
  await server.close();
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n10 photos (5 cats, 5 dogs), ${epochs} epochs, head only, batch 1 extraction`);
console.log(`${pad('backend', 8)} ${pad('load+warm-up s', 15)} ${pad('features s', 11)} ${pad('training s', 11)} val.acc  device`);
for (const r of rows) {
  console.log(`${pad(r.backend, 8)} ${pad(r.load.toFixed(1), 15)} ${pad(r.extractSeconds.toFixed(2), 11)} ${pad(r.trainSeconds.toFixed(2), 11)} ${pad(r.valAccuracy, 8)} ${r.adapter}`);
}

// Bytes per file: as built, gzip -9, and the brotli copy the release build carries
// (scripts/precompress.mjs), which scripts/serve-dist.mjs sends to browsers that accept it.
const files = readdirSync(DIST).filter((f) => /\.(wasm|js|css|html)$/.test(f)).map((f) => join(DIST, f));
files.push(...readdirSync(join(DIST, 'models')).filter((f) => f.endsWith(`.${BROWSER_RECORD}.bpk`)).map((f) => join(DIST, 'models', f)));
// The page downloads only the network it starts on (MobileNetV2); another one's weights come
// when the user picks it, so they are listed but not in the first visit's total.
const onDemand = (f) => f.includes('/models/') && !f.endsWith(`/mobilenet_v2.${BROWSER_RECORD}.bpk`);
const sums = { raw: 0, gz: 0, br: 0 };
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
console.log('\nbytes per file: as built -> gzip -9 / brotli (the copy the server sends):');
for (const f of files) {
  const body = readFileSync(f);
  const gz = gzipSync(body, { level: 9 }).length;
  // Files under 1 kB get no brotli copy (scripts/precompress.mjs): gzip is sent instead.
  const hasBr = existsSync(`${f}.br`);
  const sizes = { raw: body.length, gz, br: hasBr ? statSync(`${f}.br`).size : gz };
  if (!onDemand(f)) for (const k of Object.keys(sums)) sums[k] += sizes[k];
  const note = (onDemand(f) ? ' (only when chosen)' : '') + (hasBr ? '' : ' (no brotli copy: gzip)');
  console.log(`  ${pad(f.slice(DIST.length + 1), 40)} ${pad(mb(sizes.raw), 10)} -> ${mb(sizes.gz)} / ${mb(sizes.br)}${note}`);
}
console.log(`  ${pad('first visit', 40)} ${pad(mb(sums.raw), 10)} -> ${mb(sums.gz)} / ${mb(sums.br)}`);

// A first visit as a user makes it, over loopback from the server people use (brotli, cached):
// the body bytes the server sent until Train is usable (the page and its engine's worker; the
// service worker's install, which starts then, revalidates or reads the HTTP cache), when
// something is first painted, when the interface is drawn, and when Train is usable (weights
// loaded, kernels warmed up).
{
  const wire = new Map();
  const server = await serve(DIST, { cache: true, compress: true, sent: wire });
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    const { total, paint, drawn, usable } = await firstVisit(page, server.origin, wire);
    const count = wire.size;
    console.log('\nfirst visit over loopback (scripts/serve-dist.mjs: brotli, cached):');
    for (const [path, n] of [...wire].sort((a, b) => b[1] - a[1]).filter(([, n]) => n > 1000)) {
      console.log(`  ${pad(path, 48)} ${mb(n)}`);
    }
    console.log(`  ${pad(`all ${count} files`, 48)} ${mb(total)}`);
    console.log(`  first paint ${paint.toFixed(2)} s, interface drawn ${drawn.toFixed(2)} s, Train usable ${usable.toFixed(2)} s`);
  } finally {
    await close();
    await server.close();
  }
}
