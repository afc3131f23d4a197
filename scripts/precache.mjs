// Trunk post_build hook (Trunk.toml): writes the list of the build's files and a version hashed
// from their contents into the service worker (static/sw.js, copied to the staging directory),
// so a returning visitor's browser notices a new build and caches exactly its files.
//
// Then, on release builds, the brotli copies a server sends instead (scripts/precompress.mjs).
// One hook for both because Trunk runs a stage's hooks at the same time, and the copies must
// neither be listed nor miss the finished sw.js.
//
// Run by Trunk with TRUNK_STAGING_DIR set; prints a line for each step.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { precompress } from './precompress.mjs';

const SW = 'sw.js';
const stage = process.env.TRUNK_STAGING_DIR;
if (!stage) throw new Error('precache.mjs runs as a Trunk hook: TRUNK_STAGING_DIR is not set');

/** Every file under `dir`, as paths relative to `stage` with forward slashes. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('.')) return [];
    if (entry.isDirectory()) return files(path);
    return [relative(stage, path).split(sep).join('/')];
  });
}

const list = files(stage).filter((f) => f !== SW).sort();
const version = createHash('sha256');
let bytes = 0;
for (const file of list) {
  const body = readFileSync(join(stage, file));
  bytes += body.length;
  version.update(`${file}\0${createHash('sha256').update(body).digest('hex')}\n`);
}
const id = version.digest('hex').slice(0, 16);

const path = join(stage, SW);
let script = readFileSync(path, 'utf8');
for (const [from, to] of [
  ['const VERSION = null;', `const VERSION = ${JSON.stringify(id)};`],
  ['const FILES = null;', `const FILES = ${JSON.stringify(list, null, 2)};`],
]) {
  if (!script.includes(from)) throw new Error(`${path} lacks \`${from}\``);
  script = script.replace(from, to);
}
writeFileSync(path, script);
console.log(`precache: ${list.length} files, ${(bytes / 1e6).toFixed(1)} MB, version ${id}`);

if (process.env.TRUNK_PROFILE === 'release') {
  const started = Date.now();
  const done = await precompress(stage);
  const raw = done.reduce((n, [, r]) => n + r, 0);
  const br = done.reduce((n, [, , b]) => n + b, 0);
  console.log(
    `precompress: ${done.length} files, ${(raw / 1e6).toFixed(1)} MB -> ${(br / 1e6).toFixed(1)} MB brotli in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
