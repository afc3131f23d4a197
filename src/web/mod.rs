//! The web app (wasm32 only): a Leptos page over the same core and ML layers as the CLI.
//!
//! Two wasm binaries, on two threads, in three parts:
//! - [`engine`] (`whisker-engine`, with the `engine` feature): the Web Worker. It owns the photos
//!   and the [`Session`](crate::ml::session::Session) (device, backbone, feature cache, trained
//!   model) and serves the page's requests;
//! - [`page`] (`whisker`, built without burn): the tab's own thread. Reactive state, what the
//!   buttons do, the plain-words messages and the page itself. Its wasm is a fraction of the
//!   engine's, so the interface is drawn while the engine's wasm is still on its way;
//! - [`protocol`]: the messages between them and every type that crosses. It imports nothing
//!   else from `web`; the page never imports the engine, nor the engine the page.
//!
//! [`glue`] wraps the browser APIs both sides use (decoding, fetching, WebGPU probing,
//! yielding). Only this file knows both sides: it starts the right one, and gives the page an
//! engine on its own thread where no worker can start.

#[cfg(feature = "engine")]
pub mod engine;
pub mod glue;
pub mod page;
pub mod protocol;

/// The page's entry point (`whisker`): connects to the engine and mounts the app.
pub fn start() {
    prepare_page();
    page::mount();
}

/// The engine's entry point (`whisker-engine`): in its worker, serves the page; loaded on the
/// page's own thread (where no worker starts), offers itself to the page.
#[cfg(feature = "engine")]
pub fn start_engine() {
    use wasm_bindgen::JsCast;
    match js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() {
        Ok(scope) => engine::worker::start(scope),
        Err(_) => engine::worker::offer_here(),
    }
}

/// Readies the page's thread: diagnostics, and the connection to the engine (its worker, which
/// loads the engine's wasm while the page draws). Where no worker starts, an engine runs on this
/// thread behind the same messages. Safe to call more than once.
pub fn prepare_page() {
    page::install_diagnostics();
    page::client::connect(engine_here);
}

/// An engine on the page's thread, in this very wasm (a build with the `engine` feature: the
/// component tests, which have no worker script to start).
#[cfg(feature = "engine")]
fn engine_here() -> page::client::Link {
    use std::rc::Rc;
    let engine =
        engine::dispatcher::Dispatcher::new(Rc::new(|reply| page::client::receive(&reply)));
    page::client::Link::Local(Rc::new(move |request| engine.handle_message(request)))
}

/// An engine on the page's thread: the engine's own wasm, loaded here (the page's wasm has none).
#[cfg(not(feature = "engine"))]
fn engine_here() -> page::client::Link {
    page::client::load_engine_here()
}
