// Serves a built dist/ on http://127.0.0.1:8080 (or `node scripts/serve-dist.mjs DIR PORT`), the
// way a static host should serve Whisker, and without watching anything: the build is not run
// again behind the user's back (scripts/serve.sh builds first when the sources changed).
//
// Compressed (gzip: the wasm and the weights are most of a first visit) and cacheable (hashed
// files for a year, the others revalidated, so a returning browser and the service worker's
// install, see static/sw.js, get a 304 instead of the bytes again); see static-files.mjs. Only on
// the loopback address, and nothing outside DIR.

import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileHandler } from './static-files.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const DIR = resolve(process.argv[2] ?? join(ROOT, 'dist'));
const PORT = Number(process.argv[3] ?? 8080);

if (!existsSync(join(DIR, 'index.html'))) {
  console.error(`${DIR}/index.html is missing: build the app first (scripts/serve.sh does)`);
  process.exit(1);
}

createServer(fileHandler(DIR, { cache: true, compress: true })).listen(PORT, '127.0.0.1', () => {
  console.log(`serving ${DIR} on http://127.0.0.1:${PORT} (Ctrl-C stops)`);
});
