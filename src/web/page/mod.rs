//! The page: everything that runs on the browser tab's own thread. It draws and reacts, and asks
//! the engine (see [`crate::web::protocol`]) for everything heavy.
//!
//! - `client`: the connection to the engine;
//! - `camera`: the camera (one open at a time) and recording photos with it; `live`: live
//!   prediction on its frames;
//! - `state`: the reactive state (signals), `ids` the ids of what the page creates;
//! - `actions`: what the buttons do; `backbone`: the network chosen; `project`: the project
//!   saved in the browser; `preview`: the expected accuracy and the feature map before training;
//!   `compare`: with vs without transfer, and which layer, after training;
//!   `recovery`: a new engine when the old one dies;
//! - `words`: every sentence the page shows about a state or a failure;
//! - `app` and `components`: the page itself, one component per file.
//!
//! Nothing here imports the engine side.

pub mod actions;
pub mod app;
pub mod backbone;
pub mod camera;
pub mod client;
pub mod compare;
pub mod components;
pub mod ids;
pub mod live;
pub mod preview;
pub mod project;
pub mod recovery;
pub mod state;
pub mod words;

/// A console logger and a panic hook that logs the panic and tells the user the page broke.
/// Safe to call more than once.
pub fn install_diagnostics() {
    let _ = console_log::init_with_level(log::Level::Info);
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_crash();
    }));
}

/// Mounts the app in the page's body, replacing the boot placeholder.
pub fn mount() {
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
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
            "Something broke inside Whisker. Reload the page: your classes, photos and model are kept in this browser. If it happens again, add ?backend=cpu to the address.",
        ));
        let _ = body.prepend_with_node_1(&div);
    }
}
