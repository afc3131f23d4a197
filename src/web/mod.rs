//! The web app (wasm32 only): a Leptos page over the same core and ML layers as the CLI.
//!
//! Two threads run the same wasm, in three parts:
//! - [`engine`]: the Web Worker. It owns the photos and the [`Session`](crate::ml::session::Session)
//!   (device, backbone, feature cache, trained model) and serves the page's requests;
//! - [`page`]: the tab's own thread. Reactive state, what the buttons do, the plain-words
//!   messages and the page itself;
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

use std::rc::Rc;
use wasm_bindgen::JsCast;

/// The wasm's entry point: in the engine's worker, serves the page; on the page, mounts the app.
pub fn start() {
    match js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() {
        #[cfg(feature = "engine")]
        Ok(scope) => engine::worker::start(scope),
        // Built without the engine (`--no-default-features`): nothing to serve.
        #[cfg(not(feature = "engine"))]
        Ok(_) => log::error!("this wasm was built without the engine"),
        Err(_) => {
            prepare_page();
            page::mount();
        }
    }
}

/// Readies the page's thread: diagnostics, and the connection to the engine (its worker, which
/// loads the wasm while the page draws). Where no worker starts, an engine runs on this thread
/// behind the same messages. Safe to call more than once.
pub fn prepare_page() {
    page::install_diagnostics();
    page::client::connect(local_engine);
}

/// The engine on the page's own thread, behind the same messages as its worker.
#[cfg(feature = "engine")]
fn local_engine() -> page::client::Link {
    let engine =
        engine::dispatcher::Dispatcher::new(Rc::new(|reply| page::client::receive(&reply)));
    page::client::Link::Local(Rc::new(move |request| engine.handle_message(request)))
}

/// Built without the engine (`--no-default-features`, which only proves the page needs no
/// burn): no engine on this thread, requests go unanswered.
#[cfg(not(feature = "engine"))]
fn local_engine() -> page::client::Link {
    log::error!("this wasm was built without the engine, and no worker started");
    page::client::Link::Local(Rc::new(|_| {}))
}
