// End to end, in headless Chromium: upload 5 cats and 5 dogs, train, predict 10 held-out photos
// (at least 9 right), on the CPU path and on WebGPU (SwiftShader here: slow but real). Also checks
// that nothing is requested from another origin (the worker's requests included), that the page
// breaks no CSP rule, that the engine runs in a Web Worker fed the page's own wasm module, and
// that no task on the page's thread runs longer than 100 ms from the first upload to the last
// prediction.
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets (or $WHISKER_DATA).
// WHISKER_E2E_BACKENDS=cpu (or webgpu) runs only one backend.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ROOT, serve, launch, photos, observeLongTasks, openApp, fillClasses, setSettings, train, predict,
} from './lib.mjs';

// "About 100 ms" (the issue). The engine (decoding, the network, training, WebGPU's kernel
// compilation) runs in a worker, so the page's thread only draws.
const LONG_TASK_LIMIT_MS = 100;
const SHOTS = join(ROOT, 'tests', 'screenshots');
const BACKENDS = (process.env.WHISKER_E2E_BACKENDS ?? 'cpu,webgpu').split(',').map((s) => s.trim());

const CASES = {
  // Default settings on the CPU path.
  cpu: { settings: {}, loadTimeout: 120_000, trainTimeout: 240_000, predictTimeout: 120_000 },
  // SwiftShader runs MobileNetV2 at ~2 s a photo and every kernel is compiled on first use:
  // fewer epochs (never fewer photos), generous budgets.
  webgpu: { settings: { epochs: 12 }, loadTimeout: 300_000, trainTimeout: 480_000, predictTimeout: 300_000 },
};

let server;
before(async () => {
  server = await serve();
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => server?.close());

for (const backend of BACKENDS) {
  const c = CASES[backend];
  test(`pets on ${backend}: train on 5+5 photos, 9 of 10 new photos right`, { timeout: 20 * 60_000 }, async () => {
    const { context, close } = await launch();
    const foreign = [];
    const wasmRequests = [];
    const problems = [];
    try {
      await observeLongTasks(context);
      context.on('request', (req) => {
        const url = req.url();
        if (!url.startsWith(server.origin + '/') && !url.startsWith('blob:') && !url.startsWith('data:')) {
          foreign.push(url);
        }
        // The service worker's own download for the offline copy does not count.
        if (url.endsWith('.wasm') && !req.serviceWorker()) wasmRequests.push(url);
      });
      const page = await context.newPage();
      page.on('console', (msg) => {
        const text = msg.text();
        if (msg.type() === 'error') problems.push(text);
        if (process.env.WHISKER_E2E_VERBOSE) console.log(`[console.${msg.type()}] ${text}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

      const loadStart = Date.now();
      const badge = await openApp(page, server.origin, backend, c.loadTimeout);
      console.log(`# ${backend}: badge "${badge.label}", loaded in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
      assert.equal(badge.backend, backend, `?backend=${backend} must select ${backend}`);
      assert.equal(badge.engine, 'worker', 'the engine must run in a Web Worker');
      // Two wasm files, the page's and the engine's (its worker's), each downloaded once (the test
      // server forbids caching, so a second download would show here).
      assert.equal(wasmRequests.length, 2, `wasm requests: ${wasmRequests.join(' ')}`);
      assert.equal(new Set(wasmRequests).size, 2, `a wasm was downloaded twice: ${wasmRequests.join(' ')}`);
      const workStart = await page.evaluate(() => performance.now());

      await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
      assert.equal(await page.getByTestId('photo-thumb').count(), 10);
      if (Object.keys(c.settings).length) await setSettings(page, c.settings);

      const run = await train(page, c.trainTimeout);
      console.log(`# ${backend}: features ${run.extractSeconds.toFixed(2)} s (${run.extracted} photos), ` +
        `training ${run.trainSeconds.toFixed(2)} s, validation accuracy ${run.valAccuracy}`);
      assert.match(run.valAccuracy, /^\d+%$/);
      assert.equal(run.progress, '100');

      const held = [...photos('val', 'cat', 5), ...photos('val', 'dog', 5)];
      const results = await predict(page, held, c.predictTimeout);
      const workEnd = await page.evaluate(() => performance.now());

      const longTasks = await page.evaluate(() => window.__longTasks);
      assert.ok(Array.isArray(longTasks), 'this Chromium reports no long tasks');
      const overlaps = (t, from, to) => t.start + t.duration >= from && t.start <= to;
      const during = longTasks.filter((t) => overlaps(t, workStart, workEnd));
      const worst = Math.max(0, ...during.map((t) => t.duration));
      const worstTraining = Math.max(0, ...during.filter((t) => overlaps(t, run.start, run.end)).map((t) => t.duration));
      console.log(`# ${backend}: ${during.length} long tasks from upload to last prediction, longest ${worst.toFixed(0)} ms ` +
        `(while training: ${worstTraining.toFixed(0)} ms)`);
      assert.equal(results.length, 10);
      const truth = new Map(held.map((p) => [basename(p), basename(join(p, '..'))]));
      const right = results.filter((r) => truth.get(r.file) === r.cls).length;
      for (const r of results) {
        assert.ok(r.prob >= 0 && r.prob <= 1, `probability ${r.prob} out of range`);
      }
      console.log(`# ${backend}: ${right} of 10 held-out photos right: ` +
        results.map((r) => `${r.file}=${r.cls}(${r.prob.toFixed(2)})`).join(' '));

      await page.screenshot({ path: join(SHOTS, `pets-${backend}.png`), fullPage: true });
      assert.ok(right >= 9, `only ${right} of 10 held-out photos right`);
      assert.deepEqual(foreign, [], 'requests left the origin');
      const csp = problems.filter((p) => /Content Security Policy|Refused to/i.test(p));
      assert.deepEqual(csp, [], 'the page broke its Content-Security-Policy');
      const panics = problems.filter((p) => /panicked|RuntimeError|unreachable/i.test(p));
      assert.deepEqual(panics, [], 'the wasm panicked');
      assert.ok(worst <= LONG_TASK_LIMIT_MS,
        `a task on the page's thread took ${worst.toFixed(0)} ms (limit ${LONG_TASK_LIMIT_MS} ms)`);
    } finally {
      await close();
    }
  });
}
