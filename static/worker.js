// The engine's thread: a module worker that loads the same wasm as the page. The app's `main`
// sees no window and serves the page's requests (src/web/worker.rs). The page passes the
// hashed file names in this script's query string (src/web/client.rs).
//
// Requests that arrive while the wasm loads are queued here; the wasm takes them over.
const queued = [];
self.__whiskerQueued = queued;
self.onmessage = (event) => queued.push(event);

const params = new URL(self.location.href).searchParams;
try {
  const { default: init } = await import(params.get('js'));
  await init({ module_or_path: params.get('wasm') });
} catch (error) {
  console.error(error);
  self.postMessage({ fatal: `the engine could not start: ${error}` });
}
