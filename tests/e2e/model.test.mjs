// The model leaves the browser as a file and comes back: "Download model" saves a .safetensors
// file, "Open a model…" in a fresh profile predicts the same photos the same way, and the
// `whisker predict` CLI reads the same file (same top class, probabilities within 0.02: the
// browser's and the CLI's JPEG decoders differ slightly). Damaged, foreign, newer and
// unknown-network files are each refused with their own sentence, in the page and in the CLI (a
// model made on the other network switches the page to it: see backbone.test.mjs).
// Also: Stop takes effect at once, a deleted class marks the model out of date, and "cat" and
// "Cat " are not two classes.
//
// CPU path only (the model file does not depend on the backend). Needs dist/ (trunk build
// --release), the native CLI (target/debug/whisker, built by scripts/test-browser.sh) and the
// photos in ../shared/data/pets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ROOT, serve, launch, photos, openApp, fillClasses, train, predict } from './lib.mjs';

const CLI = process.env.WHISKER_CLI ?? join(ROOT, 'target', 'debug', 'whisker');
// The record the page runs on, so the CLI differs from the page only by its image decoder.
const WEIGHTS = join(ROOT, 'static', 'models', 'mobilenet_v2.i8.bpk');

let server;
let work;
before(async () => {
  server = await serve();
  work = mkdtempSync(join(tmpdir(), 'whisker-model-'));
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A safetensors file's header (JSON) and the tensor bytes after it. */
function splitSafetensors(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) };
}

function joinSafetensors(header, data) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

/** The model file with its Whisker metadata changed by `edit`. */
function withMeta(bytes, edit) {
  const { header, data } = splitSafetensors(bytes);
  const meta = JSON.parse(header.__metadata__.whisker);
  edit(meta);
  header.__metadata__.whisker = JSON.stringify(meta);
  return joinSafetensors(header, data);
}

/** Opens a model file in the page; returns the notice { text, problem }. */
async function openModel(page, path) {
  const notice = page.getByTestId('notice');
  if (await notice.count()) await notice.getByRole('button').click();
  await page.getByTestId('import-model').setInputFiles(path);
  await notice.waitFor({ timeout: 60_000 });
  return { text: (await notice.innerText()).trim(), problem: (await notice.getAttribute('data-problem')) === 'true' };
}

/** `whisker predict --json` on `files`: { file basename -> { cls, prob } }, or the error. */
function cliPredict(model, files) {
  const run = spawnSync(CLI, ['predict', model, ...files, '--json', '--weights', WEIGHTS], { encoding: 'utf8' });
  if (run.status !== 0) return { error: run.stderr.trim(), status: run.status };
  const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { rows: new Map(rows.map((r) => [basename(r.file), { cls: r.class, prob: r.probability }])) };
}

test('the model as a file: download, open in a fresh profile, the CLI agrees; bad files are refused', { timeout: 15 * 60_000 }, async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build it (cargo build --bin whisker)`);
  const held = [...photos('val', 'cat', 3), ...photos('val', 'dog', 3)];
  let modelPath;
  let first;

  const a = await launch();
  try {
    const page = await a.context.newPage();
    await openApp(page, server.origin, 'cpu');
    assert.ok(await page.getByTestId('export-model').isDisabled(), 'nothing to download before training');
    await fillClasses(page, ['cat', 'dog'], [photos('train', 'cat', 5), photos('train', 'dog', 5)]);
    await train(page, 240_000);
    first = new Map((await predict(page, held, 120_000)).map((r) => [r.file, r]));

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByTestId('export-model').click(),
    ]);
    const name = download.suggestedFilename();
    assert.match(name, /\.safetensors$/, `the download is called ${name}`);
    assert.equal(name, 'whisker-cat-dog.safetensors');
    modelPath = join(work, name);
    await download.saveAs(modelPath);
    console.log(`# model file ${name}: ${readFileSync(modelPath).length} bytes`);
  } finally {
    await a.close();
  }

  // The CLI reads the same file: same top class, probabilities within 0.02.
  const cli = cliPredict(modelPath, held);
  assert.ok(cli.rows, `whisker predict failed: ${cli.error}`);
  let worst = 0;
  for (const [file, page] of first) {
    const c = cli.rows.get(file);
    assert.equal(c.cls, page.cls, `${file}: the CLI says ${c.cls}, the page ${page.cls}`);
    worst = Math.max(worst, Math.abs(c.prob - page.prob));
  }
  console.log(`# CLI vs page: same top class on ${first.size} photos, largest probability difference ${worst.toFixed(4)}`);
  assert.ok(worst <= 0.02, `the CLI's probabilities differ from the page's by ${worst}`);

  // Bad files, each with its own sentence.
  const good = readFileSync(modelPath);
  const bad = {
    'truncated.safetensors': [good.subarray(0, Math.floor(good.length / 2)), /damaged or incomplete/, /damaged or incomplete|cut short/],
    'random.safetensors': [Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), /not a Whisker model file/, /not a Whisker model file/],
    'foreign.safetensors': [
      joinSafetensors({ weight: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)),
      /not a Whisker model file/, /not a Whisker model file/,
    ],
    'unknown.safetensors': [withMeta(good, (m) => { m.backbone = 'someone/resnet50'; }), /needs a network \(someone\/resnet50\)/, /needs backbone someone\/resnet50/],
    'future.safetensors': [withMeta(good, (m) => { m.format_version = 99; }), /newer version of Whisker/, /newer Whisker \(format 99/],
  };
  for (const [name, [bytes, , cliWords]] of Object.entries(bad)) {
    writeFileSync(join(work, name), bytes);
    const run = cliPredict(join(work, name), held.slice(0, 1));
    assert.ok(run.error !== undefined, `the CLI accepted ${name}`);
    assert.match(run.error, cliWords, `the CLI on ${name}`);
    assert.doesNotMatch(run.error, /panicked/, `the CLI panicked on ${name}`);
  }

  const b = await launch();
  try {
    const page = await b.context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (/panicked|RuntimeError/.test(m.text())) problems.push(m.text()); });
    await openApp(page, server.origin, 'cpu');
    for (const [name, [, pageWords]] of Object.entries(bad)) {
      const notice = await openModel(page, join(work, name));
      assert.ok(notice.problem, `${name} was accepted: ${notice.text}`);
      assert.match(notice.text, pageWords, `${name}: ${notice.text}`);
      assert.match(notice.text, new RegExp(name.replace('.', '\\.')), `${name}: the notice names the file`);
    }
    assert.ok(await page.getByTestId('predict-photos').isDisabled(), 'a refused file must not enable predictions');

    // A fresh profile opens the model and predicts the same photos the same way.
    const opened = await openModel(page, modelPath);
    assert.ok(!opened.problem, opened.text);
    assert.match(opened.text, /Opened whisker-cat-dog\.safetensors/);
    const names = await page.getByTestId('class-name').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(names, ['cat', 'dog'], 'empty cards take the model\'s classes');
    const again = await predict(page, held, 120_000);
    for (const r of again) {
      const before = first.get(r.file);
      assert.equal(r.cls, before.cls, `${r.file}: ${r.cls} after opening, ${before.cls} before`);
      assert.ok(Math.abs(r.prob - before.prob) <= 1e-3, `${r.file}: ${r.prob} vs ${before.prob}`);
    }
    assert.deepEqual(problems, [], 'the page panicked');
  } finally {
    await b.close();
  }
});

test('Stop takes effect at once; a deleted class makes the model out of date; "cat" and "Cat " are one name', { timeout: 15 * 60_000 }, async () => {
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    await openApp(page, server.origin, 'cpu');
    const classes = ['cat', 'dog', 'other'];
    await fillClasses(page, classes, classes.map((c) => photos('train', c, 20)));

    // Stop while the photos are being looked at.
    await page.getByTestId('train').click();
    await page.waitForFunction(() => {
      const m = document.querySelector('.phase')?.textContent.match(/Photo (\d+) of (\d+)/);
      return m && Number(m[1]) >= 3;
    }, null, { timeout: 120_000, polling: 'raf' });
    const clicked = await page.evaluate(() => performance.now());
    await page.getByTestId('stop').click();
    await page.locator('[data-testid="train-stopped"], [data-testid="stopped-early"]').first().waitFor({ timeout: 30_000 });
    const ended = await page.evaluate(() => performance.now());
    const stoppedIn = ended - clicked;
    const how = (await page.getByTestId('train-stopped').count()) ? 'before training' : 'while training';
    console.log(`# Stop took effect in ${stoppedIn.toFixed(0)} ms (${how})`);
    assert.ok(stoppedIn <= 1000, `Stop took ${stoppedIn.toFixed(0)} ms`);
    assert.ok(await page.getByTestId('train').isEnabled(), 'Train is available again after a stop');

    // Train to the end (the photos looked at before the stop are not looked at again).
    const run = await train(page, 300_000);
    assert.ok(run.extracted < 60, `all ${run.extracted} photos went through the network again`);
    assert.equal(await page.getByTestId('predict-stale').count(), 0);

    // Deleting a class: the model still answers with it, and the page says so.
    await page.getByTestId('class-card').nth(2).getByTestId('delete-class').click();
    const stale = page.getByTestId('predict-stale');
    await stale.waitFor({ timeout: 10_000 });
    assert.match(await stale.innerText(), /“other”/);
    await page.getByTestId('stale').waitFor({ timeout: 10_000 });

    // "cat" and "Cat " would read as one class in every prediction.
    await page.getByTestId('class-card').nth(1).getByTestId('class-name').fill('Cat ');
    await page.getByTestId('train').click();
    const error = page.getByTestId('train-error');
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.innerText(), /Two classes are called “Cat”/);
  } finally {
    await close();
  }
});
