// A video for Chromium's fake camera (--use-file-for-fake-video-capture): photos shown in turn,
// each for a few seconds, looping, written as .y4m (raw 4:2:0 frames). There is no ffmpeg here:
// a headless Chromium decodes the photos. Also gives each photo's fingerprint, so a test can tell
// which photo the camera shows at any moment (see `shownPhoto`).

import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './lib.mjs';

/** Side of the fingerprint: the frame shrunk to SIDE x SIDE grey levels. */
const SIDE = 8;

/**
 * Writes a .y4m that shows each of `photos` for `seconds` at `fps`, in turn (Chromium loops it).
 * Each photo is scaled to cover width x height and centred. Resolves to
 * { path, fingerprints, seconds } (fingerprints[i]: photo i's SIDE x SIDE grey levels, 0-255).
 */
export async function fakeCameraVideo(photos, { width = 640, height = 480, fps = 10, seconds = 4 } = {}) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const frames = [];
  try {
    const page = await browser.newPage();
    for (const photo of photos) {
      const base64 = readFileSync(photo).toString('base64');
      const planes = await page.evaluate(
        async ({ base64, width, height }) => {
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          const bitmap = await createImageBitmap(new Blob([bytes]));
          const canvas = new OffscreenCanvas(width, height);
          const ctx = canvas.getContext('2d');
          const scale = Math.max(width / bitmap.width, height / bitmap.height);
          const w = bitmap.width * scale;
          const h = bitmap.height * scale;
          ctx.drawImage(bitmap, (width - w) / 2, (height - h) / 2, w, h);
          const rgba = ctx.getImageData(0, 0, width, height).data;
          // BT.601 studio range, what Chromium's fake camera expects of a .y4m.
          const y = new Uint8Array(width * height);
          const u = new Uint8Array((width / 2) * (height / 2));
          const v = new Uint8Array((width / 2) * (height / 2));
          for (let i = 0; i < width * height; i++) {
            const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
            y[i] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
          }
          for (let row = 0; row < height / 2; row++) {
            for (let col = 0; col < width / 2; col++) {
              let [r, g, b] = [0, 0, 0];
              for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
                const i = 4 * ((2 * row + dy) * width + 2 * col + dx);
                r += rgba[i] / 4;
                g += rgba[i + 1] / 4;
                b += rgba[i + 2] / 4;
              }
              u[row * (width / 2) + col] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
              v[row * (width / 2) + col] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
            }
          }
          const b64 = (a) => btoa(Array.from(a, (c) => String.fromCharCode(c)).join(''));
          return { y: b64(y), u: b64(u), v: b64(v), fingerprint: greyLevels(canvas) };

          function greyLevels(source) {
            const small = new OffscreenCanvas(8, 8).getContext('2d');
            small.drawImage(source, 0, 0, 8, 8);
            const d = small.getImageData(0, 0, 8, 8).data;
            return Array.from({ length: 64 }, (_, i) => 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2]);
          }
        },
        { base64, width, height },
      );
      frames.push(planes);
    }
  } finally {
    await browser.close();
  }
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const parts = [header];
  for (const f of frames) {
    const frame = Buffer.concat([
      Buffer.from('FRAME\n'),
      Buffer.from(f.y, 'base64'),
      Buffer.from(f.u, 'base64'),
      Buffer.from(f.v, 'base64'),
    ]);
    for (let i = 0; i < fps * seconds; i++) parts.push(frame);
  }
  const path = join(mkdtempSync(join(tmpdir(), 'whisker-camera-')), 'camera.y4m');
  writeFileSync(path, Buffer.concat(parts));
  return { path, fingerprints: frames.map((f) => f.fingerprint), seconds };
}

/** Which of the photos (index into `fingerprints`) the page's camera preview shows now. */
export async function shownPhoto(page, fingerprints) {
  const grey = await page.getByTestId('webcam-view').first().evaluate((video) => {
    const small = new OffscreenCanvas(8, 8).getContext('2d');
    small.drawImage(video, 0, 0, 8, 8);
    const d = small.getImageData(0, 0, 8, 8).data;
    return Array.from({ length: 64 }, (_, i) => 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2]);
  });
  const distance = (f) => f.reduce((s, x, i) => s + Math.abs(x - grey[i]), 0);
  const distances = fingerprints.map(distance);
  return distances.indexOf(Math.min(...distances));
}

/** Chromium's flags for a fake camera playing `video` (a .y4m), allowed without asking. */
export function fakeCameraArgs(video) {
  return [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    ...(video ? [`--use-file-for-fake-video-capture=${video}`] : []),
  ];
}
