// Starts the app. An external module (not Trunk's inline loader) so the Content-Security-Policy
// can forbid inline scripts. Trunk fills in the hashed file names (Trunk.toml, pattern_script).
const tag = document.querySelector('script[data-whisker-js]');
try {
  const { default: init } = await import(tag.dataset.whiskerJs);
  const wasm = await init({ module_or_path: tag.dataset.whiskerWasm });
  // The instance's exports, for tests and benchmarks that report its memory.
  window.__whiskerWasm = wasm;
  dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
  // Offline after this first visit: the service worker keeps the app's files (static/sw.js).
  // Registered once the app runs, so its downloads never delay the first start.
  navigator.serviceWorker
    ?.register(new URL('sw.js', import.meta.url))
    .catch((error) => console.warn('Whisker will not work offline:', error));
} catch (error) {
  console.error(error);
  const text = document.getElementById('boot-text');
  if (text) {
    text.textContent =
      'Whisker could not start in this browser: it needs WebAssembly. Try an up-to-date Chrome, Edge, Firefox or Safari.';
  }
}
