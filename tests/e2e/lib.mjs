// Shared by the end-to-end test and the browser benchmark: a tiny static server for dist/, a
// headless system Chromium, and the page flows (upload, train, predict) through the page's
// data-testid contract.

import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { fileHandler } from '../../scripts/static-files.mjs';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const DIST = join(ROOT, 'dist');
export const DATA = resolve(ROOT, process.env.WHISKER_DATA ?? '../shared/data/pets');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Serves `dir` on 127.0.0.1 (a free port). Resolves to { origin, port, close() }. By default no
 * caching and no compression, so each test sees exactly what the page asks for; `options` go to
 * `fileHandler` (`{ cache: true, compress: true }` is how scripts/serve-dist.mjs serves), except
 * `sent`, a Map the server adds each response's body bytes to, by path.
 */
export function serve(dir = DIST, { sent, ...options } = {}) {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html is missing: build the app first (trunk build --release)`);
  }
  const handler = fileHandler(dir, options);
  // `sent` (a Map): the body bytes the server sent, by path, as they left it.
  const counting = (req, res) => {
    const end = res.end;
    res.end = function (body, ...rest) {
      if (body?.length) {
        const path = new URL(req.url, 'http://localhost').pathname;
        sent.set(path, (sent.get(path) ?? 0) + body.length);
      }
      return end.call(this, body, ...rest);
    };
    handler(req, res);
  };
  const server = createServer(sent ? counting : handler);
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({ origin: `http://127.0.0.1:${port}`, port, close: () => new Promise((c) => server.close(c)) });
    });
  });
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

// Browser profiles live in memory where the machine has /dev/shm: Chromium silently keeps none of
// a service worker's cache when the disk under its profile is nearly full (seen with 1.2 GB free
// on a build machine), and these tests are about the app, not about the machine's disk.
const PROFILES = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/**
 * A headless Chromium with a fresh profile; `args` are added to CHROMIUM_ARGS, other `options`
 * go to Playwright's launchPersistentContext (a phone's viewport, say). Resolves to
 * { context, close() }.
 */
export async function launch({ args = [], ...options } = {}) {
  const profile = mkdtempSync(join(PROFILES, 'whisker-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: { width: 1440, height: 1000 },
    ...options,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The first `n` photos of `split/cls`, in a stable order. */
export function photos(split, cls, n) {
  const dir = join(DATA, split, cls);
  const names = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp|gif|bmp)$/i.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length < n) throw new Error(`${dir} holds ${names.length} photos, ${n} needed`);
  return names.slice(0, n).map((f) => join(dir, f));
}

/** Records long main-thread tasks from the start of every page of the context. */
export async function observeLongTasks(context) {
  await context.addInitScript(() => {
    window.__longTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          window.__longTasks.push({ start: e.startTime, duration: e.duration });
        }
      }).observe({ type: 'longtask', buffered: true });
    } catch (e) {
      window.__longTasks = null;
    }
  });
}

/** Opens the app and waits until the network is loaded. Returns the backend badge's data. */
export async function openApp(page, origin, backend, timeout = 300_000) {
  await page.goto(`${origin}/?backend=${backend}`);
  return untilUsable(page, timeout);
}

/** Waits until the opened page's Train button is usable (or fails with its load error). */
async function untilUsable(page, timeout) {
  const badge = page.getByTestId('backend');
  await badge.and(page.locator('[data-backend]')).waitFor({ timeout });
  const ready = page.locator('[data-testid="train"]:not([disabled])');
  const failed = page.getByTestId('load-error');
  await Promise.race([
    ready.waitFor({ timeout }),
    failed.waitFor({ timeout }).then(async () => {
      throw new Error(`the app could not load: ${await failed.innerText()}`);
    }),
  ]);
  return {
    backend: await badge.getAttribute('data-backend'),
    engine: await badge.getAttribute('data-engine'),
    label: (await badge.innerText()).trim(),
  };
}

/**
 * A first visit to `origin` on `backend`, from a server counting the body bytes it sends into
 * `sent` (`serve(dir, { sent })`): resolves to { total } bytes sent until Train is usable, and
 * in seconds from the start: { paint } (first contentful paint), { drawn } (the interface's
 * "add a class" button), { usable } (Train enabled: weights loaded, kernels warmed up).
 */
export async function firstVisit(page, origin, sent, backend = 'cpu', timeout = 600_000) {
  const started = Date.now();
  await page.goto(`${origin}/?backend=${backend}`);
  await page.getByTestId('add-class').waitFor({ timeout });
  const drawn = (Date.now() - started) / 1000;
  await untilUsable(page, timeout);
  const usable = (Date.now() - started) / 1000;
  const total = [...sent.values()].reduce((a, b) => a + b, 0);
  const paint = await page.evaluate(() =>
    performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
  return { total, paint: paint / 1000, drawn, usable };
}

/** Names the first classes `names` (adding classes if needed) and uploads `files[i]` into class i. */
export async function fillClasses(page, names, files) {
  const cards = page.getByTestId('class-card');
  while ((await cards.count()) < names.length) await page.getByTestId('add-class').click();
  for (let i = 0; i < names.length; i++) {
    const card = cards.nth(i);
    await card.getByTestId('class-name').fill(names[i]);
    await card.getByTestId('class-photos').setInputFiles(files[i]);
  }
  for (let i = 0; i < names.length; i++) {
    await page.waitForFunction(
      ([i, n]) => document.querySelectorAll('[data-testid="class-card"]')[i]
        ?.querySelectorAll('[data-testid="photo-thumb"]').length === n,
      [i, files[i].length],
      { timeout: 120_000 },
    );
  }
}

/** Sets training settings by their data-testid suffix, e.g. { epochs: 10 }. */
export async function setSettings(page, values) {
  const settings = page.getByTestId('settings');
  if (!(await settings.evaluate((d) => d.open))) await settings.locator('summary').click();
  for (const [key, value] of Object.entries(values)) {
    await page.getByTestId(`setting-${key}`).fill(String(value));
  }
}

/** Clicks Train and waits for the results. Returns timings (page clock) and the results' data. */
export async function train(page, timeout) {
  // Results and errors already shown (a previous run, a restored project) are not this run's.
  const start = await page.evaluate(() => {
    for (const e of document.querySelectorAll('[data-testid="train-done"], [data-testid="train-error"]')) {
      e.setAttribute('data-earlier', '');
    }
    return performance.now();
  });
  await page.getByTestId('train').click();
  const done = page.locator('[data-testid="train-done"]:not([data-earlier])');
  const error = page.locator('[data-testid="train-error"]:not([data-earlier])');
  await Promise.race([
    done.waitFor({ timeout }),
    error.waitFor({ timeout }).then(async () => {
      throw new Error(`training failed: ${await error.innerText()}`);
    }),
  ]);
  const end = await page.evaluate(() => performance.now());
  return {
    start,
    end,
    valAccuracy: (await page.getByTestId('val-accuracy').innerText()).trim(),
    progress: await page.getByTestId('train-progress').getAttribute('aria-valuenow'),
    extractSeconds: Number(await done.getAttribute('data-extract-seconds')),
    trainSeconds: Number(await done.getAttribute('data-train-seconds')),
    extracted: Number(await done.getAttribute('data-extracted')),
  };
}

/** Uploads photos to predict and waits for all of them. Returns [{ file, cls, prob }]. */
export async function predict(page, files, timeout) {
  // Rows already shown are earlier predictions (perhaps by another model): not this call's.
  await page.evaluate(() => {
    for (const r of document.querySelectorAll('[data-testid^="prediction"]')) r.setAttribute('data-earlier', '');
  });
  await page.getByTestId('predict-photos').setInputFiles(files);
  const fresh = ':is([data-testid="prediction"], [data-testid="prediction-error"]):not([data-earlier])';
  await page.waitForFunction(
    ([selector, n]) => document.querySelectorAll(selector).length >= n,
    [fresh, files.length],
    { timeout },
  );
  const errors = await page.locator('[data-testid="prediction-error"]:not([data-earlier])').allInnerTexts();
  if (errors.length) throw new Error(`predictions failed: ${errors.join('; ')}`);
  return page.locator('[data-testid="prediction"]:not([data-earlier])').evaluateAll((rows) =>
    rows.map((r) => ({ file: r.dataset.file, cls: r.dataset.class, prob: Number(r.dataset.prob) })));
}

/**
 * Memory in MB: the page's JavaScript heap and wasm memory, and the engine worker's wasm memory
 * (its linear memory: the network, the feature cache, the model). Blobs (the photos' copies) live
 * in the browser process and are not counted.
 */
export async function memory(page) {
  const pageMem = await page.evaluate(() => ({
    js: performance.memory?.usedJSHeapSize ?? 0,
    wasm: window.__whiskerWasm?.memory?.buffer.byteLength ?? 0,
  }));
  const workers = page.workers();
  const worker = workers.length
    ? await workers[workers.length - 1].evaluate(() => ({
      wasm: self.__whiskerWasm?.memory?.buffer.byteLength ?? 0,
      js: performance.memory?.usedJSHeapSize ?? 0,
    }))
    : { wasm: 0, js: 0 };
  const mb = (b) => Math.round(b / 1e5) / 10;
  return { pageJs: mb(pageMem.js), pageWasm: mb(pageMem.wasm), workerWasm: mb(worker.wasm), workerJs: mb(worker.js) };
}
