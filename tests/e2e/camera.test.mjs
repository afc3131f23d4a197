// The camera, in headless Chromium with a fake camera playing a video made from two of the shared
// photos (a cat, then a dog, a few seconds each, looping): hold each class's camera button while
// its photo is shown to record it, train, then turn live prediction on and check that it names
// the photo being shown, at how many updates a second, without long tasks on the page's thread.
// Then what the page says when the camera is denied or missing, and the camera picker.
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets (or $WHISKER_DATA).
// Live prediction is held to 5 updates a second on the CPU path; on WebGPU (SwiftShader here, a
// CPU emulating a GPU) its rate is printed. WHISKER_E2E_BACKENDS=cpu (or webgpu) runs only one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, photos, observeLongTasks, openApp, setSettings, train } from './lib.mjs';
import { fakeCameraVideo, fakeCameraArgs, shownPhoto } from './fake-camera.mjs';

const LONG_TASK_LIMIT_MS = 100;
// On SwiftShader the GPU process runs the engine's WebGPU work on the same two cores, and the
// page's frame captures (`createImageBitmap` of the <video>) most likely wait on it: 52, 167 and
// 214 ms on one build, as the machine's load varied; 0–84 ms on the CPU path in the same runs.
// The looser gate there still catches work moved onto the page's thread.
const SWIFTSHADER_LONG_TASK_LIMIT_MS = 400;
const SHOTS = join(ROOT, 'tests', 'screenshots');
const CLASSES = ['cat', 'dog'];
/** How long each class's button is held: ~7 photos at 4 a second, within one 4 s photo. */
const HOLD_MS = 1800;
/** Live prediction on the CPU path must keep up at least this (the issue). */
const MIN_UPDATES_PER_SECOND = 5;
const BACKENDS = (process.env.WHISKER_E2E_BACKENDS ?? 'cpu,webgpu').split(',').map((s) => s.trim());
const CASES = {
  cpu: { settings: {}, loadTimeout: 120_000, trainTimeout: 240_000, liveMs: 12_000, strict: true, longTask: LONG_TASK_LIMIT_MS },
  // SwiftShader takes ~2 s a photo: fewer epochs, and the live answer trails the picture by
  // seconds, so only its rate is measured.
  webgpu: { settings: { epochs: 12 }, loadTimeout: 300_000, trainTimeout: 480_000, liveMs: 20_000, strict: false, longTask: SWIFTSHADER_LONG_TASK_LIMIT_MS },
};

let server;
let video;
before(async () => {
  server = await serve();
  mkdirSync(SHOTS, { recursive: true });
  video = await fakeCameraVideo(CLASSES.map((c) => photos('train', c, 1)[0]));
});
after(async () => server?.close());

/** Waits until the preview shows photo `index` having just switched to it. */
async function waitForSwitchTo(page, index) {
  const deadline = Date.now() + 4 * video.seconds * 1000;
  let last = await shownPhoto(page, video.fingerprints);
  while (Date.now() < deadline) {
    const now = await shownPhoto(page, video.fingerprints);
    if (now === index && last !== index) return;
    last = now;
    await page.waitForTimeout(40);
  }
  throw new Error(`the camera never switched to photo ${index}`);
}

/** Holds `button` down with the mouse for `ms`. */
async function hold(page, button, ms) {
  await button.hover();
  await page.mouse.down();
  await page.waitForTimeout(ms);
  await page.mouse.up();
}

for (const backend of BACKENDS) {
  const c = CASES[backend];
  test(`camera on ${backend}: record two classes, train, predict live`, { timeout: 15 * 60_000 }, async () => {
    const { context, close } = await launch({ args: fakeCameraArgs(video.path) });
    const problems = [];
    try {
      await context.grantPermissions(['camera'], { origin: server.origin });
      await observeLongTasks(context);
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
        if (process.env.WHISKER_E2E_VERBOSE) console.log(`[console.${msg.type()}] ${msg.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await openApp(page, server.origin, backend, c.loadTimeout);
      const start = await page.evaluate(() => performance.now());

      const cards = page.getByTestId('class-card');
      for (let i = 0; i < CLASSES.length; i++) {
        const card = cards.nth(i);
        await card.getByTestId('class-name').fill(CLASSES[i]);
        const button = card.getByTestId('class-webcam');
        // A tap opens the camera in the card; holding records.
        await button.click();
        await card.getByTestId('webcam-view').waitFor();
        await waitForSwitchTo(page, i);
        await hold(page, button, HOLD_MS);
        await page.waitForFunction(
          (i) => {
            const card = document.querySelectorAll('[data-testid="class-card"]')[i];
            return card.querySelectorAll('[data-testid="photo-thumb"]').length >= 5
              && !card.querySelector('[data-testid="class-pending"]');
          },
          i,
          { timeout: 120_000 },
        );
      }
      const counts = await cards.evaluateAll((cs) => cs.map((c) => c.querySelectorAll('[data-testid="photo-thumb"]').length));
      console.log(`# camera (${backend}): recorded ${counts.join(' + ')} photos in ${HOLD_MS} ms holds`);
      assert.ok(counts.every((n) => n >= 5 && n <= 12), `photos per class: ${counts}`);
      // The preview of the front-facing (fake) camera is mirrored; the photos are not.
      assert.ok(await page.getByTestId('webcam-view').evaluate((v) => v.classList.contains('mirrored')));

      await setSettings(page, c.settings);
      const run = await train(page, c.trainTimeout);
      console.log(`# camera (${backend}): trained in ${run.trainSeconds.toFixed(1)} s, validation accuracy ${run.valAccuracy}`);

      await page.getByTestId('live-toggle').click();
      const live = page.getByTestId('live-prediction');
      await page.locator('[data-testid="live-prediction"][data-class]').waitFor({ timeout: c.loadTimeout });
      // The camera moved from the class card to the live view.
      assert.equal(await page.getByTestId('webcam-view').count(), 1);
      const liveStart = await page.evaluate(() => performance.now());
      const updatesStart = Number(await live.getAttribute('data-updates'));
      const samples = [];
      while ((await page.evaluate(() => performance.now())) - liveStart < c.liveMs) {
        const shown = await shownPhoto(page, video.fingerprints);
        const named = await live.getAttribute('data-class');
        const prob = Number(await live.getAttribute('data-prob'));
        samples.push({ shown: CLASSES[shown], named, prob });
        await page.waitForTimeout(150);
      }
      const liveEnd = await page.evaluate(() => performance.now());
      const updates = Number(await live.getAttribute('data-updates')) - updatesStart;
      const perSecond = (updates * 1000) / (liveEnd - liveStart);
      const shownRate = await live.getAttribute('data-rate');
      await page.screenshot({ path: join(SHOTS, `camera-live-${backend}.png`), fullPage: true });
      await page.getByTestId('live-toggle').click();
      await page.locator('[data-testid="live-prediction"]').waitFor({ state: 'detached' });

      const right = samples.filter((s) => s.shown === s.named).length;
      console.log(`# camera (${backend}): live prediction ${perSecond.toFixed(2)} updates/s ` +
        `(${updates} in ${((liveEnd - liveStart) / 1000).toFixed(1)} s; the page shows ${shownRate}/s), ` +
        `named the photo shown in ${right} of ${samples.length} samples`);
      const longTasks = await page.evaluate(() => window.__longTasks);
      const during = longTasks.filter((t) => t.start + t.duration >= start && t.start <= liveEnd);
      const worst = Math.max(0, ...during.map((t) => t.duration));
      console.log(`# camera (${backend}): ${during.length} long tasks from recording to the end of live, longest ${worst.toFixed(0)} ms`);

      for (const s of samples) assert.ok(s.prob >= 0 && s.prob <= 1, `probability ${s.prob}`);
      assert.ok(updates >= 2, `live prediction updated ${updates} times`);
      if (c.strict) {
        for (const cls of CLASSES) {
          const when = samples.filter((s) => s.shown === cls);
          const named = when.filter((s) => s.named === cls).length;
          assert.ok(when.length > 0, `the camera never showed the ${cls} while live`);
          // The answer trails the picture by one frame: a switch of photo costs a sample or two.
          assert.ok(named >= 0.7 * when.length, `the ${cls} was named in only ${named} of ${when.length} samples`);
        }
        assert.ok(perSecond >= MIN_UPDATES_PER_SECOND,
          `live prediction ran at ${perSecond.toFixed(2)} updates/s (at least ${MIN_UPDATES_PER_SECOND} wanted)`);
      }
      assert.ok(worst <= c.longTask, `a task on the page's thread took ${worst.toFixed(0)} ms (limit ${c.longTask} ms)`);
      const panics = problems.filter((p) => /panicked|RuntimeError|unreachable|Content Security Policy/i.test(p));
      assert.deepEqual(panics, []);
    } finally {
      await close();
    }
  });
}

/** Opens the app with the camera `args`, presses the first class's camera button; returns the page. */
async function pressCamera(context) {
  const page = await context.newPage();
  await page.goto(`${server.origin}/?backend=cpu`);
  const card = page.getByTestId('class-card').first();
  await card.getByTestId('class-webcam').click();
  return { page, card };
}

test('camera denied: the card says so, photos still upload', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream=deny'],
  });
  try {
    const { page, card } = await pressCamera(context);
    const problem = card.getByTestId('camera-problem');
    await problem.waitFor({ timeout: 30_000 });
    assert.match(await problem.innerText(), /isn't allowed to use the camera/);
    assert.equal(await page.getByTestId('webcam-view').count(), 0);
    // Everything else keeps working.
    await card.getByTestId('class-photos').setInputFiles(photos('train', 'cat', 2));
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="photo-thumb"]').length === 2,
      null,
      { timeout: 60_000 },
    );
  } finally {
    await close();
  }
});

test('no camera: the card says so', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({
    args: ['--use-fake-device-for-media-stream=device-count=0', '--use-fake-ui-for-media-stream'],
  });
  try {
    const { card } = await pressCamera(context);
    const problem = card.getByTestId('camera-problem');
    await problem.waitFor({ timeout: 30_000 });
    assert.match(await problem.innerText(), /No camera was found/);
  } finally {
    await close();
  }
});

test('two cameras: a picker switches between them', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({
    args: ['--use-fake-device-for-media-stream=device-count=2', '--use-fake-ui-for-media-stream'],
  });
  try {
    const { page, card } = await pressCamera(context);
    const picker = card.getByTestId('camera-picker');
    await picker.waitFor({ timeout: 30_000 });
    const options = await picker.locator('option').evaluateAll((os) => os.map((o) => o.value));
    assert.equal(options.length, 2);
    const before = await picker.inputValue();
    const other = options.find((o) => o !== before);
    await picker.selectOption(other);
    await page.waitForFunction(
      (id) => document.querySelector('[data-testid="camera-picker"]')?.value === id
        && document.querySelector('[data-testid="webcam-view"]')?.readyState >= 2,
      other,
      { timeout: 30_000 },
    );
  } finally {
    await close();
  }
});
