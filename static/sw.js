// Whisker's service worker: after the first visit the app opens, trains and predicts with no
// network at all.
//
// One cache per build, `whisker-<VERSION>`, for exactly the files the build wrote (FILES): the
// page, its loader, both wasm files (page and engine) and their JS glue, the engine's worker
// script, the style sheet, the manifest and icons, and the backbones' weights.
// scripts/precache.mjs fills in both constants when Trunk builds (a post_build hook in
// Trunk.toml); VERSION hashes every file's contents, so a new build changes this script, the
// browser installs it, it fetches the new files into a new cache and drops the old caches.
//
// What it costs a first visit: installing fetches the files the app needs to start (all of
// FILES but the weights of the networks one may switch to) after the app has started. A file
// whose name carries Trunk's content hash is taken from the browser's HTTP cache where the server
// allows it (the page fetched it moments ago); the others are revalidated (the engine's wasm,
// which Trunk names after its binary: a 304 where the server sends ETags, not its bytes again).
// Another network's weights are cached the first time the page downloads them.
//
// The user's photos never reach it. They are read from local files or the camera and handed to
// the engine in memory, and saved in the origin's private file system, which no service worker
// sees; their thumbnails are blob: URLs, which are not fetched. It answers only same-origin GET
// requests for the files of FILES and leaves every other request alone.

const VERSION = null;
const FILES = null;

const PREFIX = 'whisker-';
const CACHE = `${PREFIX}${VERSION}`;
const KNOWN = new Set(FILES ?? []);
/** Fetched at install: all but the weights of the networks the page does not start with. */
const INSTALL = (FILES ?? []).filter((f) => !f.startsWith('models/') || f.startsWith('models/mobilenet_v2.'));
/** Trunk's content hash in a file name (`whisker-0123456789abcdef_bg.wasm`): such a file never changes. */
const HASHED = /-[0-9a-f]{16}(_bg)?\.[a-z]+$/;

self.addEventListener('install', (event) => {
  // Built without the hook (no list, e.g. `trunk serve` without it): install, but serve nothing.
  if (!FILES) return;
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(
        INSTALL.map((path) => new Request(path, { cache: HASHED.test(path) ? 'default' : 'no-cache' })),
      );
      // Chromium resolves addAll yet keeps nothing when its disk is nearly full (seen with 1.2 GB
      // free): such an install must fail, so that the version before it (if any) keeps serving
      // instead of being replaced by an empty cache, and the browser tries again on a later visit.
      const kept = new Set((await cache.keys()).map((request) => new URL(request.url).pathname));
      const missing = INSTALL.filter((path) => !kept.has(new URL(path, self.registration.scope).pathname));
      if (missing.length > 0) {
        await caches.delete(CACHE);
        throw new Error(
          `the browser kept ${INSTALL.length - missing.length} of ${INSTALL.length} files (not ${missing[0]}): is its disk full?`,
        );
      }
      // The new version serves the next load; no need to wait for every open tab to close.
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const path = ours(event.request);
  if (path === null) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const key = new URL(path, self.registration.scope).href;
      const hit = await cache.match(key);
      // A copy without the cached URL, so the page sees the URL it asked for: a worker's
      // `self.location` keeps its query string (worker.js reads `?js=` from it).
      if (hit) return new Response(hit.body, hit);
      // Not cached yet (another network's weights) or evicted: the network, kept for next time.
      const response = await fetch(event.request);
      if (response.ok && response.status === 200) {
        event.waitUntil(cache.put(key, response.clone()).catch(() => {}));
      }
      return response;
    })(),
  );
});

/** The FILES entry `request` asks for, or null if it is not one of ours to answer. */
function ours(request) {
  if (request.method !== 'GET' || KNOWN.size === 0) return null;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  // The query string is the page's own business (`?backend=cpu`, worker.js's `?js=`).
  let path = url.pathname.slice(scope.pathname.length);
  if (request.mode === 'navigate' && path === '') path = 'index.html';
  return KNOWN.has(path) ? path : null;
}
