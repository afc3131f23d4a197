//! `whisker-engine`: the web app's engine, a wasm of its own that the page's Web Worker loads
//! (`static/worker.js`), so the page's much smaller wasm draws the interface without waiting for
//! burn. Natively there is nothing to run: the command line is `whisker`.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "whisker-engine runs in the browser (Trunk builds it); the command line is `whisker`"
    );
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Synthesised by wasm-ld: runs the static constructors (cubecl registers its IR dialects
    /// through `inventory`).
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // Run the constructors once, here. Without an explicit call wasm-ld treats the module as a
    // "command" and runs every constructor again at the start of *each* export, i.e. on every
    // call from JavaScript into the wasm (each message, each resolved promise): measured at over
    // a second of the engine's time during one training run. See the `inventory` crate docs.
    unsafe { __wasm_call_ctors() };
    whisker::web::start_engine();
}
