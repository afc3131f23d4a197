// The expected accuracy before training (issue "show the transfer", part 1), on the CPU path:
// it asks for two photos a class, appears once there are, follows the photos as more come in,
// and the features it computed are the ones training then uses (nothing extracted twice).
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, photos, openApp, train } from './lib.mjs';

let server;
before(async () => {
  server = await serve();
});
after(async () => {
  await server?.close();
});

/** Uploads `files` into the class card `i` and waits until it shows `total` photos. */
async function upload(page, i, files, total) {
  await page.getByTestId('class-card').nth(i).getByTestId('class-photos').setInputFiles(files);
  await page.waitForFunction(
    ([i, n]) => document.querySelectorAll('[data-testid="class-card"]')[i]
      ?.querySelectorAll('[data-testid="photo-thumb"]').length === n,
    [i, total],
    { timeout: 120_000 },
  );
}

/** Waits for the preview over `n` photos; returns its value. */
async function expected(page, n) {
  const preview = page.locator(`[data-testid="transfer-preview"][data-photos="${n}"]`);
  await preview.waitFor({ timeout: 120_000 });
  const value = Number(await preview.getAttribute('data-value'));
  const text = (await preview.innerText()).replace(/\s+/g, ' ');
  console.log(`# expected accuracy over ${n} photos: ${value} ("${text}")`);
  return { value, text };
}

test('the expected accuracy appears with two photos a class, follows new photos, and training reuses its features', { timeout: 10 * 60_000 }, async () => {
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu');
    const cats = photos('train', 'cat', 5);
    const dogs = photos('train', 'dog', 5);

    await upload(page, 0, cats.slice(0, 2), 2);
    await upload(page, 1, dogs.slice(0, 1), 1);
    const preview = page.getByTestId('transfer-preview');
    await page.waitForFunction(() => /at least 2 photos/.test(document.querySelector('[data-testid="transfer-preview"]')?.textContent ?? ''),
      null, { timeout: 60_000 });
    assert.equal(await preview.getAttribute('data-value'), null, 'no figure from one photo');

    await upload(page, 1, dogs.slice(1, 3), 3);
    const first = await expected(page, 5);
    assert.ok(first.value >= 0 && first.value <= 1, `${first.value}`);
    assert.match(first.text, /Expected accuracy/);

    await upload(page, 0, cats.slice(2), 5);
    await upload(page, 1, dogs.slice(3), 5);
    const second = await expected(page, 10);
    // Pretrained ImageNet features tell these cats from dogs almost perfectly.
    assert.ok(second.value >= 0.8, `expected accuracy ${second.value} on 5 cats and 5 dogs`);

    const run = await train(page, 240_000);
    assert.equal(run.extracted, 0, 'training extracted photos the preview had embedded already');
  } finally {
    await close();
  }
});
