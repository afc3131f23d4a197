#!/usr/bin/env node
// Whisker's feature extraction against onnxruntime-web's, in one headless Chromium run, on the
// same photos and the same preprocessed inputs: milliseconds per photo for each engine and the
// ratio. Whisker runs through examples/bench_web.rs (the engine's own `load_record` + `extract`,
// release wasm); onnxruntime-web (npm, pinned in package.json, served from node_modules) runs the
// ONNX export of the same torchvision network. Nothing is fetched from outside 127.0.0.1.
//
// Set-up: scripts/build-bench-wasm.sh (Whisker's wasm) and scripts/export-onnx.sh (the .onnx).
// Usage: node scripts/bench-extract.mjs [--n 10] [--reps 3] [--batches 1,4]
//          [--configs whisker-cpu,ort-wasm-1,ort-wasm-2] [--record mobilenet_v2.i8.bpk]
//          [--rounds 1] [--json FILE]
// Configurations: whisker-cpu, whisker-webgpu, ort-wasm-T (T threads; more than 1 needs the
// page to be cross-origin isolated, which this server's COOP/COEP headers make it), ort-webgpu;
// whisker-cpu-bn / whisker-webgpu-bn run Whisker's backbone with batch normalisation unfolded
// (the form before the fold, for comparison).
// WebGPU configurations run 1 rep at batch 1 only (SwiftShader takes seconds a photo).
// --rounds K runs the whole list K times, interleaved, and reports each figure's best round.
import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { extname, join } from 'node:path';
import { DATA, ROOT, launch } from '../tests/e2e/lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const n = Number(opt('n', 10));
const reps = Number(opt('reps', 3));
const batches = opt('batches', '1,4').split(',').map(Number);
const configs = opt('configs', 'whisker-cpu,ort-wasm-1,ort-wasm-2').split(',');
const record = opt('record', 'mobilenet_v2.i8.bpk');
const rounds = Number(opt('rounds', 1));
const jsonOut = opt('json', null);

const WHISKER_DIR = join(ROOT, process.env.BENCH_WASM_DIR ?? 'target/bench-web');
const ORT_DIR = join(ROOT, 'node_modules/onnxruntime-web/dist');
const ONNX = join(ROOT, 'target/onnx/mobilenet_v2_features.onnx');
const PAGE_DIR = join(ROOT, 'scripts/bench-extract');
for (const [path, fix] of [
  [join(WHISKER_DIR, 'whisker_bench_bg.wasm'), 'scripts/build-bench-wasm.sh'],
  [ONNX, 'scripts/export-onnx.sh'],
  [ORT_DIR, 'npm ci'],
  [join(ROOT, 'static/models', record), 'scripts/setup-weights.sh'],
]) {
  if (!existsSync(path)) {
    console.error(`${path} is missing: run ${fix}`);
    process.exit(2);
  }
}

// Half cats, half dogs, in a stable order.
const listed = (cls) => readdirSync(join(DATA, 'train', cls))
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  .map((f) => join(DATA, 'train', cls, f));
const [cats, dogs] = [listed('cat'), listed('dog')];
const photos = Array.from({ length: n }, (_, i) => (i % 2 ? dogs : cats)[i >> 1]);

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
function route(path) {
  const name = path.split('/').pop();
  if (path === '/') return join(PAGE_DIR, 'index.html');
  if (path === '/page.js') return join(PAGE_DIR, 'page.js');
  if (path === '/model.onnx') return ONNX;
  if (/^[\w.-]+$/.test(name)) {
    if (path.startsWith('/whisker/')) return join(WHISKER_DIR, name);
    if (path.startsWith('/ort/')) return join(ORT_DIR, name);
    if (path.startsWith('/record/')) return join(ROOT, 'static/models', name);
  }
  const m = /^\/photos\/(\d+)$/.exec(path);
  return m ? photos[Number(m[1])] : null;
}
const server = createServer((req, res) => {
  const file = route(new URL(req.url, 'http://localhost').pathname);
  // Cross-origin isolation, so onnxruntime-web may start its wasm threads.
  const headers = {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, headers).end();
    return;
  }
  const body = readFileSync(file);
  res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(body);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

// CPU time of the whole machine and of this process tree (node + Chromium), from /proc, to tell
// how much of the machine other programs took during a configuration.
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: f.reduce((a, b) => a + b, 0) - f[3] - (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}
function ownTicks() {
  const children = new Map();
  const ticks = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(pid), Number(fields[11]) + Number(fields[12]));
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(pid)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  let sum = 0;
  const todo = [process.pid];
  while (todo.length) {
    const pid = todo.pop();
    sum += ticks.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return sum;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function parse(id) {
  const [engine, backend, extra] = id.split('-');
  if (!['whisker', 'ort'].includes(engine) || !['cpu', 'wasm', 'webgpu'].includes(backend)) {
    throw new Error(`unknown configuration ${id}`);
  }
  const gpu = backend === 'webgpu';
  return {
    id, engine, backend, n, record,
    threads: engine === 'ort' ? Number(extra ?? 1) : 1,
    foldNorm: extra !== 'bn',
    reps: gpu ? 1 : reps,
    batches: gpu ? [1] : batches,
  };
}

const uptime = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
console.log(`${n} photos (cats and dogs of ${DATA}/train), ${reps} reps, batches ${batches.join(',')}, ${cpus().length} cores`);
console.log(`before: ${uptime()}`);
const { context, close } = await launch();
// Only this server: a request anywhere else fails the run instead of skewing it.
await context.route((url) => !url.href.startsWith(origin), (r) => r.abort());
const results = {};
try {
  for (let round = 0; round < rounds; round++) {
    for (const id of configs) {
      const cfg = parse(id);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(origin);
      await page.waitForFunction(() => window.benchReady === true);
      const [m0, own0] = [machineTicks(), ownTicks()];
      let r;
      try {
        r = await page.evaluate((c) => window.runConfig(c), cfg);
      } catch (e) {
        throw new Error(`${id}: ${e.message.split('\n')[0]}\n${errors.join('\n')}`);
      }
      const [m1, own1] = [machineTicks(), ownTicks()];
      await page.close();
      const span = (m1.total - m0.total) / cpus().length;
      r.otherCores = Math.max(0, m1.busy - m0.busy - (own1 - own0)) / span;
      r.ms = Object.fromEntries(Object.entries(r.perPhotoMs).map(([b, v]) => [b, median(v)]));
      const best = results[id];
      if (!best || r.ms[1] < best.ms[1]) results[id] = r;
      console.log(`  ${id.padEnd(15)} round ${round + 1}: ${Object.entries(r.ms).map(([b, v]) => `batch ${b} ${v.toFixed(1)} ms`).join(', ')}; others used ${r.otherCores.toFixed(2)} cores`);
    }
  }
} finally {
  await close();
  server.close();
}
console.log(`after: ${uptime()}`);

const maxAbsDiff = (a, b) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));
const pad = (s, w) => String(s).padEnd(w);
console.log(`\n${pad('configuration', 16)}${pad('load ms', 9)}${pad('first ms', 10)}${batches.map((b) => pad(`b${b} ms/photo`, 14)).join('')}others  engine`);
for (const [id, r] of Object.entries(results)) {
  const cells = batches.map((b) => pad(r.ms[b] === undefined ? '-' : r.ms[b].toFixed(1), 14)).join('');
  console.log(`${pad(id, 16)}${pad(r.loadMs.toFixed(0), 9)}${pad(r.firstMs.toFixed(0), 10)}${cells}${pad(r.otherCores.toFixed(2), 8)}${r.label}${r.crossOriginIsolated ? '' : ' (not cross-origin isolated)'}`);
}

console.log('');
const whiskers = Object.keys(results).filter((id) => id.startsWith('whisker'));
const peers = Object.keys(results).filter((id) => id.startsWith('ort'));
for (const w of whiskers) {
  for (const p of peers) {
    const ratios = batches
      .filter((b) => results[w].ms[b] !== undefined && results[p].ms[b] !== undefined)
      .map((b) => `batch ${b}: ${(results[w].ms[b] / results[p].ms[b]).toFixed(2)}x`);
    const diff = maxAbsDiff(results[w].features, results[p].features);
    console.log(`${w} / ${p}: ${ratios.join(', ')} the time per photo; features differ by at most ${diff.toExponential(1)}`);
  }
}
if (whiskers.length && peers.length) {
  const w = results[whiskers[0]];
  const bestW = Math.min(...Object.values(w.ms));
  const ort1 = results['ort-wasm-1'];
  if (ort1) {
    console.log(`${whiskers[0]} at its best batch / ort-wasm-1 at batch 1: ${(bestW / ort1.ms[1]).toFixed(2)}x`);
  }
}
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ n, reps, batches, record, results }, null, 1));
}
