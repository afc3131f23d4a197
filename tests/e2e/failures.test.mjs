// When the app cannot start, it says so in plain words instead of hanging: the weights are
// missing on the server, or the engine's worker cannot load. Needs dist/ (trunk build --release).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch } from './lib.mjs';

let server;
before(async () => {
  server = await serve();
});
after(async () => server?.close());

/** Opens the app with URLs matching `glob` answered by a 404; returns the loading error's text. */
async function loadErrorWith(glob) {
  const { context, close } = await launch();
  try {
    await context.route(glob, (route) => route.fulfill({ status: 404, body: 'not found' }));
    const page = await context.newPage();
    await page.goto(`${server.origin}/?backend=cpu`);
    const error = page.getByTestId('load-error');
    await error.waitFor({ timeout: 60_000 });
    const train = page.getByTestId('train');
    assert.ok(await train.isDisabled(), 'Train must stay disabled without a network');
    return (await error.innerText()).trim();
  } finally {
    await close();
  }
}

test('missing weights: the page says which file is missing and what to run', async () => {
  const text = await loadErrorWith('**/models/mobilenet_v2.i8.bpk');
  assert.match(text, /weights .* are missing on the server/);
  assert.match(text, /setup-weights\.sh/);
});

test("the engine's worker cannot load: the page says so", async () => {
  // The page passes the app's file names in the worker's query string.
  const text = await loadErrorWith('**/worker.js?*');
  assert.match(text, /engine stopped working\. Reload the page/);
});
