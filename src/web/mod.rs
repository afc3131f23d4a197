//! The web app (wasm32 only): a Leptos page over the same core and ML layers as the CLI.
//!
//! Two threads run the same wasm:
//! - the engine's Web Worker (`worker`, `host`): `photos` (decoded, preprocessed inputs) and
//!   `engine` (device, backbone, feature cache, trained model);
//! - the page (`client`, `state`, `actions`, `words`, `app`, `components`): the reactive state,
//!   what the buttons do, the plain-words messages and the page itself.
//!
//! They talk through `protocol`. `glue` wraps the browser APIs both use (decoding, fetching,
//! WebGPU probing, yielding).

pub mod actions;
pub mod app;
pub mod client;
pub mod components;
pub mod engine;
pub mod glue;
pub mod host;
pub mod photos;
pub mod protocol;
pub mod state;
pub mod words;
pub mod worker;

use wasm_bindgen::JsCast;

/// The wasm's entry point: in the engine's worker, serves the page; on the page, mounts the app.
pub fn start() {
    match js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() {
        Ok(scope) => worker::start(scope),
        Err(_) => start_page(),
    }
}

/// Installs logging and the panic hook, removes the boot placeholder, starts the engine's worker
/// and mounts the app.
pub fn start_page() {
    install_diagnostics();
    engine::set_trace(
        glue::js::window()
            .location()
            .search()
            .is_ok_and(|s| s.contains("trace")),
    );
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    // The worker loads the wasm while the page draws.
    client::client();
    leptos::mount::mount_to_body(app::App);
}

/// A console logger and a panic hook that logs the panic and tells the user the page broke.
/// Safe to call more than once.
pub fn install_diagnostics() {
    let _ = console_log::init_with_level(log::Level::Info);
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_crash();
    }));
}

fn show_crash() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("crash").is_some() {
        return;
    }
    let Some(body) = document.body() else { return };
    if let Ok(div) = document.create_element("div") {
        div.set_id("crash");
        div.set_class_name("banner banner-error crash");
        let _ = div.set_attribute("role", "alert");
        div.set_text_content(Some(
            "Something broke inside Whisker. Reload the page to start again (your photos need to be added again). If it happens again, add ?backend=cpu to the address.",
        ));
        let _ = body.prepend_with_node_1(&div);
    }
}
