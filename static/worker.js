// The engine's thread: a module worker running the engine's own wasm (`whisker-engine`, built by
// Trunk beside the page's). Its `main` sees no window and serves the page's requests
// (src/web/engine/worker.rs). The page passes the engine's JS glue URL in this script's query
// string; the glue fetches and compiles the wasm beside it.
//
// Requests that arrive while the wasm starts are queued here; the wasm takes them over.
const queued = [];
self.__whiskerQueued = queued;
self.onmessage = (event) => queued.push(event);

try {
  const { default: init } = await import(new URL(self.location.href).searchParams.get('js'));
  // The instance's exports, for tests and benchmarks that report its memory.
  self.__whiskerWasm = await init();
} catch (error) {
  console.error(error);
  self.postMessage({ fatal: `the engine could not start: ${error}` });
}
