#!/usr/bin/env node
// Browser benchmark, one headless Chromium run: for the same 10 photos (5 cats, 5 dogs from
// ../shared/data/pets or $WHISKER_DATA), seconds of feature extraction and of training on WebGPU
// and on the CPU path; then the first visit's bytes (page, wasm, JS, CSS, the starting
// network's weights; gzipped), the other network's weights listed apart.
// Needs dist/ (trunk build --release). Usage: node scripts/bench-browser.mjs [--epochs N]
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { DIST, serve, launch, photos, openApp, fillClasses, setSettings, train } from '../tests/e2e/lib.mjs';

const epochsArg = process.argv.indexOf('--epochs');
const epochs = epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : 10;
const backends = (process.env.WHISKER_BENCH_BACKENDS ?? 'webgpu,cpu').split(',');

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

const files = readdirSync(DIST).filter((f) => /\.(wasm|js|css|html)$/.test(f)).map((f) => join(DIST, f));
files.push(...readdirSync(join(DIST, 'models')).filter((f) => f.endsWith('.f16.bpk')).map((f) => join(DIST, 'models', f)));
// The page downloads only the network it starts on (MobileNetV2); another one's weights come
// when the user picks it, so they are listed but not in the first visit's total.
const onDemand = (f) => f.includes('/models/') && !f.endsWith('/mobilenet_v2.f16.bpk');
let raw = 0;
let gz = 0;
console.log('\nfirst-load bytes (gzip -9 of each file):');
for (const f of files) {
  const body = readFileSync(f);
  const z = gzipSync(body, { level: 9 }).length;
  if (!onDemand(f)) {
    raw += body.length;
    gz += z;
  }
  const note = onDemand(f) ? ' (only when chosen)' : '';
  console.log(`  ${pad(f.slice(DIST.length + 1), 40)} ${pad((body.length / 1e6).toFixed(2) + ' MB', 10)} -> ${(z / 1e6).toFixed(2)} MB${note}`);
}
console.log(`  ${pad('first visit', 40)} ${pad((raw / 1e6).toFixed(2) + ' MB', 10)} -> ${(gz / 1e6).toFixed(2)} MB`);
