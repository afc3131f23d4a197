//! The web app (wasm32 only): a Leptos page over the same core and ML layers as the CLI.
//!
//! - `glue`: typed wrappers over browser APIs (decoding, fetching, WebGPU probing, yielding).
//! - `photos`, `engine`: the user's photos and the network (device, backbone, feature cache,
//!   trained model), outside the reactive system.
//! - `state`, `actions`, `words`: the reactive state, what the buttons do, and the plain-words
//!   messages.
//! - `app`, `components`: the page.

pub mod actions;
pub mod app;
pub mod components;
pub mod engine;
pub mod glue;
pub mod photos;
pub mod state;
pub mod words;

/// Installs logging and the panic hook, removes the boot placeholder and mounts the app.
pub fn start() {
    install_diagnostics();
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
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
