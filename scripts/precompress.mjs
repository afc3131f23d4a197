// Brotli copies of a build's large files (`x.wasm` -> `x.wasm.br`), made once per build so a
// server can send them as they are (scripts/static-files.mjs does; so do most static hosts).
//
// Quality 11 with a 16 MB window: the wasm repeats itself over megabytes, which gzip's 32 kB
// window cannot see. Measured on the release wasm (35.0 MB): gzip -9 6.97 MB, brotli quality 9
// 4.59 MB in 6 s, quality 11 3.84 MB in 65 s (2-core machine). Run by scripts/precache.mjs (the
// Trunk hook) on release builds; `node scripts/precompress.mjs DIR` does a built folder.

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants } from 'node:zlib';

const compress = promisify(brotliCompress);

/** Files worth a compressed copy: text and binary assets of at least 1 kB. */
export const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|svg|json|webmanifest|bpk)$/;

/** Every file under `dir` that COMPRESSIBLE names, as full paths. */
function candidates(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return candidates(path);
    return COMPRESSIBLE.test(entry.name) && statSync(path).size >= 1024 ? [path] : [];
  });
}

/** Writes `<file>.br` beside each compressible file under `dir`; resolves to [path, raw, br]. */
export async function precompress(dir) {
  return Promise.all(
    candidates(dir).map(async (path) => {
      const body = readFileSync(path);
      const br = await compress(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_LGWIN]: 24,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      });
      writeFileSync(`${path}.br`, br);
      return [path, body.length, br.length];
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node scripts/precompress.mjs DIR');
  for (const [path, raw, br] of await precompress(dir)) {
    console.log(`${path}: ${(raw / 1e6).toFixed(2)} MB -> ${(br / 1e6).toFixed(2)} MB brotli`);
  }
}
