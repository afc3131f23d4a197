// A phone-sized screen with touch (390x844, as an iPhone 12-15; Chromium's mobile emulation): the
// main flow (classes, upload, train, predict) works, the page never scrolls sideways, every
// control is reachable and at least 44 px in both directions, the file inputs open the camera
// app (accept="image/*"), holding the camera button with a finger records, and the live view fits
// the screen. Screenshots go to tests/screenshots/phone*.png.
//
// Needs dist/ (trunk build --release) and the photos in ../shared/data/pets (or $WHISKER_DATA).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, photos, openApp, fillClasses, train, predict } from './lib.mjs';
import { fakeCameraArgs } from './fake-camera.mjs';

const SHOTS = join(ROOT, 'tests', 'screenshots');
const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};
/** The smallest comfortable touch target (Apple's and Google's guidelines: 44 pt, 48 dp). */
const MIN_TARGET_PX = 44;

let server;
before(async () => {
  server = await serve();
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => server?.close());

/** Checks the page cannot scroll sideways and every visible control is big enough and on screen. */
async function checkLayout(page, when) {
  const layout = await page.evaluate((min) => {
    window.scrollTo(10_000, window.scrollY);
    const scrolled = window.scrollX;
    window.scrollTo(0, window.scrollY);
    // A radio button or checkbox is tapped through its label: the label is its target.
    const target = (e) => (e.type === 'radio' || e.type === 'checkbox') && e.closest('label') ? e.closest('label') : e;
    const controls = [...document.querySelectorAll('button, input, select, summary, textarea, a[href], label.drop, video')]
      .map((e) => ({ e, r: target(e).getBoundingClientRect(), s: getComputedStyle(e) }))
      // Rendered and visible (a visually hidden file input is reached through its label).
      .filter(({ r, s }) => r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none');
    const name = (e) => e.dataset.testid || e.getAttribute('aria-label') || e.className || e.tagName;
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      scrolled,
      small: controls
        .filter(({ e, r }) => e.tagName !== 'VIDEO' && (r.width < min || r.height < min))
        .map(({ e, r }) => `${name(e)} ${r.width.toFixed(0)}x${r.height.toFixed(0)}`),
      outside: controls
        .filter(({ r }) => r.left < -0.5 || r.right > window.innerWidth + 0.5)
        .map(({ e, r }) => `${name(e)} ${r.left.toFixed(0)}..${r.right.toFixed(0)}`),
    };
  }, MIN_TARGET_PX);
  assert.ok(layout.overflow <= 0 && layout.scrolled === 0,
    `${when}: the page scrolls sideways (${layout.overflow} px too wide)`);
  assert.deepEqual(layout.small, [], `${when}: controls under ${MIN_TARGET_PX} px`);
  assert.deepEqual(layout.outside, [], `${when}: controls off the screen`);
}

/** Holds `locator` with one finger for `ms` (touch events, as a phone sends them). */
async function touchHold(page, locator, ms) {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
  await page.waitForTimeout(ms);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

test('phone: classes, upload, train, predict, camera and live view on a 390 px touch screen', { timeout: 10 * 60_000 }, async () => {
  const { context, close } = await launch({ ...PHONE, args: fakeCameraArgs() });
  try {
    await context.grantPermissions(['camera'], { origin: server.origin });
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu', 120_000);
    await checkLayout(page, 'loaded');
    // Photo pickers (not the model and project files).
    const inputs = page.locator('[data-testid="class-photos"], [data-testid="predict-photos"]');
    assert.deepEqual(new Set(await inputs.evaluateAll((is) => is.map((i) => i.accept))), new Set(['image/*']),
      'photo inputs must accept image/* (the phone then offers its camera app)');

    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    await checkLayout(page, 'photos added');
    await page.getByTestId('settings').locator('summary').tap();
    await checkLayout(page, 'settings open');

    const run = await train(page, 240_000);
    console.log(`# phone: trained, validation accuracy ${run.valAccuracy}`);
    await checkLayout(page, 'trained');
    const held = [...photos('val', 'cat', 2), ...photos('val', 'dog', 2)];
    const results = await predict(page, held, 120_000);
    const right = results.filter((r) => r.file.startsWith(r.cls)).length;
    console.log(`# phone: ${right} of ${results.length} new photos right`);
    assert.ok(right >= 3, `only ${right} of ${results.length} right`);
    await checkLayout(page, 'predicted');
    await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });

    // A finger held on the camera button opens the camera and records photos.
    const card = page.getByTestId('class-card').first();
    await touchHold(page, card.getByTestId('class-webcam'), 2000);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="class-card"]').querySelectorAll('[data-testid="photo-thumb"]').length > 5,
      null,
      { timeout: 30_000 },
    );
    await checkLayout(page, 'camera open in a card');

    // The live view fits the screen.
    await page.getByTestId('live-toggle').tap();
    await page.locator('[data-testid="live-prediction"][data-class]').waitFor({ timeout: 60_000 });
    const preview = await page.getByTestId('webcam-view').boundingBox();
    assert.ok(preview.width <= PHONE.viewport.width && preview.height <= PHONE.viewport.height * 0.6,
      `the live preview is ${preview.width}x${preview.height}`);
    await checkLayout(page, 'live');
    // The page brought the picture and the answer on screen by itself.
    const shown = await page.getByTestId('live-prediction').boundingBox();
    assert.ok(shown.y >= 0 && shown.y + shown.height <= PHONE.viewport.height + 1,
      `the live answer is off screen (${shown.y.toFixed(0)}..${(shown.y + shown.height).toFixed(0)})`);
    await page.screenshot({ path: join(SHOTS, 'phone-live.png') });
    await page.getByTestId('live-toggle').tap();
  } finally {
    await close();
  }
});
