// Offline after the first visit: the service worker (static/sw.js) caches the build, the manifest
// makes the app installable, and with the server stopped and the browser offline a reload opens
// the page, trains on 5 + 5 photos and predicts. The user's photos never enter the cache.
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets (or $WHISKER_DATA).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, photos, openApp, fillClasses, train, predict } from './lib.mjs';

/** The files of Whisker's service worker cache, as paths. */
async function cachedFiles(page) {
  return page.evaluate(async () => {
    const names = (await caches.keys()).filter((n) => n.startsWith('whisker-'));
    const files = [];
    for (const name of names) {
      for (const request of await (await caches.open(name)).keys()) files.push(new URL(request.url).pathname);
    }
    return { names, files: files.sort() };
  });
}

test('offline: after one visit, a reload without network trains and predicts', { timeout: 10 * 60_000 }, async () => {
  const server = await serve();
  const { context, close } = await launch();
  let serving = true;
  try {
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu', 120_000);
    // The service worker installed itself and cached the build.
    await page.waitForFunction(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      return registration?.active?.state === 'activated';
    }, null, { timeout: 120_000, polling: 250 }).catch((error) => {
      throw new Error('the service worker never activated: its install failed (static/sw.js refuses an install ' +
        `whose files the browser did not keep, as on a nearly full disk): ${error.message}`);
    });
    // Both wasm binaries and their glue: the page's (named with Trunk's content hash) and the
    // engine's (named after its binary).
    const wanted = [/^\/index\.html$/, /^\/boot\.js$/, /^\/worker\.js$/, /^\/whisker-[0-9a-f]{16}_bg\.wasm$/,
      /^\/whisker-[0-9a-f]{16}\.js$/, /^\/whisker-engine_bg\.wasm$/, /^\/whisker-engine\.js$/,
      /^\/models\/mobilenet_v2\.i8\.bpk$/, /^\/manifest\.webmanifest$/];
    const before = await cachedFiles(page);
    assert.equal(before.names.length, 1, `caches: ${before.names}`);
    for (const w of wanted) {
      assert.ok(before.files.some((f) => w.test(f)), `${w} is not cached (cache ${before.names}): ${before.files.join(' ')}`);
    }
    console.log(`# offline: ${before.files.length} files cached as ${before.names[0]}`);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, [], 'the app must be installable');

    // No network at all from here on.
    await server.close();
    serving = false;
    await context.setOffline(true);
    const fromNetwork = [];
    page.on('response', (r) => {
      if (r.url().startsWith('http') && !r.fromServiceWorker()) fromNetwork.push(r.url());
    });
    const loadStart = Date.now();
    await openApp(page, server.origin, 'cpu', 120_000);
    console.log(`# offline: reloaded in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    const run = await train(page, 240_000);
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const results = await predict(page, held, 120_000);
    const right = results.filter((r) => r.file.startsWith(r.cls)).length;
    console.log(`# offline: trained (validation accuracy ${run.valAccuracy}), ${right} of ${results.length} new photos right`);
    assert.ok(right >= 3, `only ${right} of ${results.length} right`);
    assert.deepEqual(fromNetwork, [], 'requests reached the network');
    // The photos went to the engine, not to the cache.
    assert.deepEqual(await cachedFiles(page), before);
  } finally {
    await close();
    if (serving) await server.close();
  }
});
