// The network choice, on the CPU path: only the chosen network's weights are downloaded;
// "More accurate" (EfficientNet-Lite0) loads, trains and predicts; the choice and its model come
// back after a reload (and only Lite0 is downloaded then); switching asks first, and Cancel keeps
// the model; a Lite0 model file opened while MobileNetV2 is in use switches back to Lite0 and
// predicts the same. (The other e2e tests run the default, MobileNetV2.)
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { serve, launch, photos, openApp, fillClasses, train, predict } from './lib.mjs';

const FAST = 'mobilenet_v2.i8.bpk';
const ACCURATE = 'efficientnet_lite0.i8.bpk';

let server;
let work;
before(async () => {
  server = await serve();
  work = mkdtempSync(join(tmpdir(), 'whisker-backbone-'));
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The radio button's checked state for each network, { 'mobilenet-v2': bool, ... }. */
async function checked(page) {
  return page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('input[name="backbone"]')]
      .map((i) => [i.value, i.checked]),
  ));
}

/** Clicks a network's radio button and waits until the page is ready on it. Returns how many
 * times its record (`file`) was requested meanwhile. */
async function choose(page, id, requested, file) {
  const before = requested.filter((f) => f === file).length;
  await page.getByTestId(`backbone-${id}`).check();
  // The page always fetches the chosen record (the engine drops it if it holds that network).
  for (let t = 0; requested.filter((f) => f === file).length === before; t++) {
    assert.ok(t < 600, `${file} was never requested`);
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(
    ([id]) => document.querySelector(`[data-testid="backbone-${id}"]`)?.checked
      && !document.querySelector('[data-testid="loading"]')
      && !document.querySelector('[data-testid="train"]')?.disabled,
    [id],
    { timeout: 300_000, polling: 100 },
  );
  return requested.filter((f) => f === file).length - before;
}

test('the network choice: download on demand, train on Lite0, kept across reloads and model files', { timeout: 15 * 60_000 }, async () => {
  const { context, close } = await launch();
  const requested = [];
  context.on('request', (r) => {
    // What the page asks for; the service worker's own fetches for the offline copy are not
    // the page's downloads.
    if (r.url().endsWith('.bpk') && !r.serviceWorker()) requested.push(basename(new URL(r.url()).pathname));
  });
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    await openApp(page, server.origin, 'cpu');
    assert.deepEqual(requested, [FAST], 'the first visit downloads only the default network');
    assert.deepEqual(await checked(page), { 'mobilenet-v2': true, 'efficientnet-lite0': false });
    const choice = (await page.getByTestId('backbone-choice').innerText()).replace(/\s+/g, ' ');
    assert.match(choice, /Faster MobileNetV2 · 2\.6 MB download/);
    assert.match(choice, /More accurate EfficientNet-Lite0 · 3\.9 MB download/);

    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    // No model yet: no question asked.
    const started = Date.now();
    const downloads = await choose(page, 'efficientnet-lite0', requested, ACCURATE);
    assert.equal(downloads, 1, `Lite0 downloaded ${downloads} times`);
    console.log(`# switching to EfficientNet-Lite0 (download, build, warm-up): ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const run = await train(page, 300_000);
    const done = page.getByTestId('train-done');
    assert.equal(await done.getAttribute('data-backbone'), 'efficientnet-lite0');
    assert.match(await done.innerText(), /through EfficientNet-Lite0/);
    assert.equal(run.extracted, 10, 'every photo goes through the new network');
    console.log(`# Lite0 on the CPU: 10 photos extracted in ${run.extractSeconds.toFixed(2)} s, val ${run.valAccuracy}`);
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const first = new Map((await predict(page, held, 120_000)).map((r) => [r.file, r]));
    const right = [...first.values()].filter((r) => basename(r.file).toLowerCase().startsWith(r.cls)).length;
    console.log(`# Lite0 predictions: ${right} of ${first.size} held-out photos right`);

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByTestId('export-model').click(),
    ]);
    const modelPath = join(work, download.suggestedFilename());
    await download.saveAs(modelPath);
    await page.waitForTimeout(1500); // the background saves settle

    // A reload comes back on Lite0, downloading only Lite0, with its model.
    requested.length = 0;
    await page.reload();
    await openApp(page, server.origin, 'cpu');
    assert.deepEqual(requested, [ACCURATE], 'a reload downloads only the saved project\'s network');
    assert.deepEqual(await checked(page), { 'mobilenet-v2': false, 'efficientnet-lite0': true });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="photo-thumb"]').length === 10,
      null, { timeout: 120_000 });
    for (const r of await predict(page, held, 120_000)) {
      const before = first.get(r.file);
      assert.equal(r.cls, before.cls, `${r.file} after the reload`);
      assert.ok(Math.abs(r.prob - before.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${before.prob}`);
    }

    // Switching sets the model aside, so it asks; Cancel changes nothing.
    const questions = [];
    page.once('dialog', (d) => { questions.push(d.message()); d.dismiss(); });
    await page.getByTestId('backbone-mobilenet-v2').click();
    await page.waitForTimeout(300);
    assert.match(questions[0] ?? '', /Use MobileNetV2 instead\? .*set aside/);
    assert.deepEqual(await checked(page), { 'mobilenet-v2': false, 'efficientnet-lite0': true });
    assert.ok(await page.getByTestId('predict-photos').isEnabled(), 'Cancel kept the model');

    page.once('dialog', (d) => d.accept());
    await choose(page, 'mobilenet-v2', requested, FAST);
    assert.ok(await page.getByTestId('predict-photos').isDisabled(), 'the Lite0 model was set aside');
    assert.equal(await page.getByTestId('train-done').count(), 0, 'its results went with it');

    // Opening the Lite0 model file switches back to Lite0 and predicts as before.
    await page.getByTestId('import-model').setInputFiles(modelPath);
    const notice = page.getByTestId('notice');
    await page.waitForFunction(() => /Opened/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''),
      null, { timeout: 300_000 });
    assert.notEqual(await notice.getAttribute('data-problem'), 'true', await notice.innerText());
    assert.deepEqual(await checked(page), { 'mobilenet-v2': false, 'efficientnet-lite0': true });
    for (const r of await predict(page, held, 120_000)) {
      const before = first.get(r.file);
      assert.equal(r.cls, before.cls, `${r.file} after opening the file`);
      assert.ok(Math.abs(r.prob - before.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${before.prob}`);
    }
    assert.deepEqual(problems, [], 'the page threw');
  } finally {
    await close();
  }
});
