// The user's work survives a reload: classes, photos (as compact copies), settings and the
// trained model with its results come back, and the same photos get the same predictions
// without training again. "Start over" asks once, then really deletes it all.
//
// CPU path. Needs dist/ (trunk build --release) and the photos in ../shared/data/pets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, launch, photos, openApp, fillClasses, setSettings, train, predict } from './lib.mjs';

let server;
let work;
// Made by the first test, opened by the second.
let projectFile;
let expected;
before(async () => {
  server = await serve();
  work = mkdtempSync(join(tmpdir(), 'whisker-project-'));
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits for the notice and returns its text. */
async function notice(page, pattern) {
  const n = page.getByTestId('notice');
  await page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''),
    pattern.source,
    { timeout: 120_000 },
  );
  return (await n.innerText()).trim();
}

test('a reload restores the project and its model; Start over deletes it', { timeout: 15 * 60_000 }, async () => {
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu');
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    await setSettings(page, { epochs: 25 });
    await train(page, 240_000);
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const before = new Map((await predict(page, held, 120_000)).map((r) => [r.file, r]));
    const accuracy = (await page.getByTestId('val-accuracy').innerText()).trim();
    // Let the background saves settle (the manifest waits 300 ms after the last change).
    await page.waitForTimeout(1500);

    await page.reload();
    await openApp(page, server.origin, 'cpu');
    const text = await notice(page, /Restored your project/);
    console.log(`# after a reload: "${text}"`);
    assert.match(text, /10 photos in 2 classes, and your model/);
    const names = await page.getByTestId('class-name').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(names, ['cat', 'dog']);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="photo-thumb"]').length === 10,
      null, { timeout: 120_000 });
    const thumbs = await page.locator('[data-testid="photo-thumb"] img').evaluateAll((imgs) =>
      imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, h: i.naturalHeight })));
    assert.ok(thumbs.every((t) => t.ok), 'every thumbnail shows');
    assert.ok(thumbs.every((t) => Math.min(t.w, t.h) <= 512), 'thumbnails are the compact copies');
    assert.equal(await page.getByTestId('setting-epochs').inputValue(), '25');
    await page.getByTestId('train-done').waitFor({ timeout: 10_000 });
    assert.equal((await page.getByTestId('val-accuracy').innerText()).trim(), accuracy);
    assert.equal(await page.getByTestId('stale').count(), 0, 'the restored model is not out of date');
    // The run the results came from is not in the new engine: the page says how to compare again.
    await page.getByTestId('compare-unavailable').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('baseline-run').count(), 0);

    // Predictions work at once, and say the same.
    const after = await predict(page, held, 120_000);
    for (const r of after) {
      const b = before.get(r.file);
      assert.equal(r.cls, b.cls, `${r.file}: ${r.cls} after the reload, ${b.cls} before`);
      assert.ok(Math.abs(r.prob - b.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${b.prob}`);
    }

    // Training again works on the restored photos.
    await train(page, 240_000);
    const trained = new Map((await predict(page, held, 120_000)).map((r) => [r.file, r]));

    // The whole project as one file.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByTestId('export-project').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'whisker-project-cat-dog.zip');
    projectFile = join(work, download.suggestedFilename());
    await download.saveAs(projectFile);
    expected = trained;
    console.log(`# project file: ${statSync(projectFile).size} bytes for 10 photos and the model`);

    // Start over: asked once; dismissing keeps everything.
    const questions = [];
    page.once('dialog', (d) => { questions.push(d.message()); d.dismiss(); });
    await page.getByTestId('start-over').click();
    await page.waitForTimeout(500);
    assert.equal(questions.length, 1);
    assert.equal(await page.getByTestId('photo-thumb').count(), 10, 'dismissing keeps the photos');
    page.once('dialog', (d) => { questions.push(d.message()); d.accept(); });
    await page.getByTestId('start-over').click();
    await notice(page, /Started over/);
    assert.equal(questions.length, 2);
    assert.equal(await page.getByTestId('photo-thumb').count(), 0);
    assert.equal(await page.getByTestId('train-done').count(), 0);
    await page.waitForTimeout(1500);

    await page.reload();
    await openApp(page, server.origin, 'cpu');
    await page.waitForTimeout(2000);
    assert.equal(await page.getByTestId('photo-thumb').count(), 0, 'nothing comes back after Start over');
    assert.equal(await page.getByTestId('train-done').count(), 0);
    assert.ok(await page.getByTestId('predict-photos').isDisabled(), 'no model after Start over');
    const after2 = await page.getByTestId('class-name').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(after2, ['Cat', 'Not cat']);
  } finally {
    await close();
  }
});

test('a downloaded project opens in a fresh profile: classes, photos, settings and model', { timeout: 10 * 60_000 }, async () => {
  assert.ok(projectFile, 'the first test made no project file');
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu');
    // Not a project: each refused in plain words, nothing changes.
    const junk = join(work, 'junk.zip');
    writeFileSync(junk, Buffer.from('PK this is not really a zip file'));
    await page.getByTestId('import-project').setInputFiles(junk);
    assert.match(await notice(page, /junk\.zip/), /junk\.zip is damaged or incomplete/);

    await page.getByTestId('import-project').setInputFiles(projectFile);
    const text = await notice(page, /Opened whisker-project/);
    console.log(`# after opening the project: "${text}"`);
    assert.match(text, /10 photos in 2 classes, and its model/);
    const names = await page.getByTestId('class-name').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(names, ['cat', 'dog']);
    assert.equal(await page.getByTestId('photo-thumb').count(), 10);
    assert.equal(await page.getByTestId('setting-epochs').inputValue(), '25');
    await page.getByTestId('train-done').waitFor({ timeout: 10_000 });
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    for (const r of await predict(page, held, 120_000)) {
      const b = expected.get(r.file);
      assert.equal(r.cls, b.cls, `${r.file}: ${r.cls} in the opened project, ${b.cls} before`);
      assert.ok(Math.abs(r.prob - b.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${b.prob}`);
    }
    // And it is now this profile's saved project.
    await page.waitForTimeout(1500);
    await page.reload();
    await openApp(page, server.origin, 'cpu');
    assert.match(await notice(page, /Restored your project/), /10 photos in 2 classes, and your model/);
  } finally {
    await close();
  }
});

test('where the browser keeps no files, the page says so once and works in memory', { timeout: 10 * 60_000 }, async () => {
  const { context, close } = await launch();
  try {
    // As in a private window: the origin-private file system refuses.
    await context.addInitScript(() => {
      if (navigator.storage) {
        navigator.storage.getDirectory = () => Promise.reject(new DOMException('not here', 'SecurityError'));
      }
    });
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu');
    assert.match(await notice(page, /does not keep files/), /your photos and model will be gone when you close it/);
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 3), photos('train', 'dog', 3)]);
    await train(page, 240_000);
    const results = await predict(page, [...photos('val', 'cat', 1), ...photos('val', 'dog', 1)], 120_000);
    assert.equal(results.length, 2);
    assert.equal(await page.getByTestId('notice').count(), 1, 'told once');
  } finally {
    await close();
  }
});

/** Makes the engine's worker throw (as a panic or an out-of-memory would kill it). */
async function crashEngine(page) {
  const workers = page.workers();
  assert.ok(workers.length > 0, 'no engine worker to crash');
  await workers[workers.length - 1].evaluate(() => {
    setTimeout(() => { throw new Error('test: the engine crashes'); }, 0);
  });
}

test('the engine dies mid-training and mid-prediction: a new one takes over and nothing is lost', { timeout: 15 * 60_000 }, async () => {
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await openApp(page, server.origin, 'cpu');
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 15), photos('train', 'dog', 15)]);

    // Mid-training.
    await page.getByTestId('train').click();
    await page.waitForFunction(() => {
      const m = document.querySelector('.phase')?.textContent.match(/Photo (\d+) of (\d+)/);
      return m && Number(m[1]) >= 3;
    }, null, { timeout: 120_000, polling: 'raf' });
    await crashEngine(page);
    const error = page.getByTestId('train-error');
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.innerText(), /stopped while doing this/);
    const back = await notice(page, /was restarted/);
    console.log(`# after a crash while training: "${back}"`);
    assert.match(back, /30 photos are still here/);
    assert.equal(await page.getByTestId('photo-thumb').count(), 30, 'every photo is still shown');
    await page.locator('[data-testid="train"]:not([disabled])').waitFor({ timeout: 120_000 });
    await train(page, 300_000);
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const before = new Map((await predict(page, held, 120_000)).map((r) => [r.file, r]));

    // Mid-prediction (the first restart's notice dismissed, so the next one is waited for).
    await page.getByTestId('notice').getByRole('button').click();
    await page.getByTestId('predict-photos').setInputFiles(photos('val', 'cat', 1));
    await crashEngine(page);
    const again = await notice(page, /was restarted/);
    assert.match(again, /30 photos and your model are still here/);
    await page.locator('[data-testid="train"]:not([disabled])').waitFor({ timeout: 120_000 });
    await page.evaluate(() => document.querySelectorAll('[data-testid="prediction"], [data-testid="prediction-error"]')
      .forEach((row) => row.querySelector('.thumb-remove')?.click()));
    const after = await predict(page, held, 120_000);
    for (const r of after) {
      const b = before.get(r.file);
      assert.equal(r.cls, b.cls, `${r.file}: ${r.cls} after the restart, ${b.cls} before`);
      assert.ok(Math.abs(r.prob - b.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${b.prob}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
