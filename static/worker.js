// The engine's thread: a module worker running the same wasm as the page. The app's `main` sees
// no window and serves the page's requests (src/web/worker.rs). The page passes the JS glue's
// URL in this script's query string and posts its compiled WebAssembly.Module as the first
// message (src/web/client.rs), so the wasm is neither downloaded nor compiled twice.
//
// Requests that arrive while the wasm starts are queued here; the wasm takes them over.
const queued = [];
self.__whiskerQueued = queued;
let gotModule;
const module = new Promise((resolve) => {
  gotModule = resolve;
});
self.onmessage = (event) => {
  if (event.data instanceof Object && event.data.module instanceof WebAssembly.Module) {
    gotModule(event.data.module);
  } else {
    queued.push(event);
  }
};

try {
  const { default: init } = await import(new URL(self.location.href).searchParams.get('js'));
  // The instance's exports, for tests and benchmarks that report its memory.
  self.__whiskerWasm = await init({ module_or_path: await module });
} catch (error) {
  console.error(error);
  self.postMessage({ fatal: `the engine could not start: ${error}` });
}
