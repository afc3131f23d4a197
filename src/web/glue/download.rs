//! Saving bytes as a file the user downloads: no server involved, the browser writes it.

use super::js;
use wasm_bindgen::{JsCast, JsValue};

/// Offers `bytes` (a `Uint8Array`) as a download named `name`, as a click on a link would.
///
/// The object URL is kept for a minute: the download starts from it asynchronously, and revoking
/// it at once can cancel the download in some browsers.
pub fn save_file(bytes: &JsValue, name: &str) -> Result<(), JsValue> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(
        &js_sys::Array::of1(bytes),
        &options,
    )?;
    let url = gloo_file::ObjectUrl::from(gloo_file::Blob::from(blob));
    let document = js::window()
        .document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let body = document
        .body()
        .ok_or_else(|| JsValue::from_str("no body"))?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.set_hidden(true);
    body.append_child(&link)?;
    link.click();
    link.remove();
    gloo_timers::callback::Timeout::new(60_000, move || drop(url)).forget();
    Ok(())
}
