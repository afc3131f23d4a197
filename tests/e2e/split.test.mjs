// The page and the engine are two wasm binaries (index.html): the page's own wasm has no burn and
// draws the interface while the engine's wasm is still on its way; where the browser starts no
// module worker, the page loads the engine's wasm on its own thread and works all the same.
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets (or $WHISKER_DATA).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, photos, openApp, fillClasses, train, predict, DIST } from './lib.mjs';

/** The built wasm files, by name: { page, engine } in bytes. */
function wasmSizes() {
  const files = readdirSync(DIST).filter((f) => f.endsWith('.wasm'));
  const engine = files.find((f) => f.startsWith('whisker-engine'));
  const page = files.find((f) => f !== engine);
  assert.ok(engine && page, `two wasm files expected in ${DIST}: ${files.join(' ')}`);
  return { page: statSync(join(DIST, page)).size, engine: statSync(join(DIST, engine)).size };
}

test("the interface is drawn before the engine's wasm arrives", { timeout: 5 * 60_000 }, async () => {
  const sizes = wasmSizes();
  console.log(`# page wasm ${(sizes.page / 1e6).toFixed(2)} MB, engine wasm ${(sizes.engine / 1e6).toFixed(2)} MB`);
  // burn, its kernels and the networks are all in the engine.
  assert.ok(sizes.page * 5 < sizes.engine, 'the page wasm must be a small part of the engine wasm');
  const server = await serve();
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    let asked = false;
    // Every fetch of the engine's wasm waits until the interface has been seen.
    await context.route('**/whisker-engine_bg.wasm', async (route) => {
      asked = true;
      await held;
      await route.continue();
    });
    const started = Date.now();
    await page.goto(`${server.origin}/?backend=cpu`);
    await page.getByTestId('add-class').waitFor({ timeout: 60_000 });
    const drawn = (Date.now() - started) / 1000;
    assert.ok(await page.getByTestId('train').isVisible(), 'the Train button is drawn');
    console.log(`# interface drawn in ${drawn.toFixed(2)} s with the engine's wasm held back (asked for: ${asked})`);
    release();
    const badge = await openApp(page, server.origin, 'cpu', 120_000);
    assert.equal(badge.engine, 'worker');
  } finally {
    await close();
    await server.close();
  }
});

test("without module workers the engine runs on the page's thread", { timeout: 10 * 60_000 }, async () => {
  const server = await serve();
  const { context, close } = await launch();
  try {
    // A browser that cannot start a module worker (Firefox before 114, say).
    await context.addInitScript(() => {
      const Native = window.Worker;
      window.Worker = function Worker(url, options) {
        if (options?.type === 'module') throw new TypeError('module workers are not supported');
        return new Native(url, options);
      };
    });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    const badge = await openApp(page, server.origin, 'cpu', 180_000);
    assert.equal(badge.engine, 'page', 'the engine must run on the page\'s thread');
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    const run = await train(page, 300_000);
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const results = await predict(page, held, 120_000);
    const right = results.filter((r) => r.file.startsWith(r.cls)).length;
    console.log(`# no worker: trained (validation accuracy ${run.valAccuracy}), ${right} of ${results.length} new photos right`);
    assert.ok(right >= 3, `only ${right} of ${results.length} right`);
    assert.deepEqual(problems, []);
  } finally {
    await close();
    await server.close();
  }
});
