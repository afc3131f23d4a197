//! Small helpers for reading plain JavaScript objects.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

// `import()` is syntax, not a function: a one-line module of our own does it (a snippet file
// next to the app's JS, which the CSP's `script-src 'self'` allows; `Function` would need eval).
#[wasm_bindgen(inline_js = "export function import_module(url) { return import(url); }")]
extern "C" {
    /// `import(url)`: a promise of the module's namespace object.
    pub fn import_module(url: &str) -> js_sys::Promise;
}

/// A property of a JavaScript object, `undefined` when missing or unreadable.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A string property, `None` when missing, not a string or empty.
pub fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key)
        .as_string()
        .filter(|s| !s.trim().is_empty())
}

/// A boolean property, `None` when missing or not a boolean.
pub fn get_bool(target: &JsValue, key: &str) -> Option<bool> {
    get(target, key).as_bool()
}

/// Calls `target[method]()` and returns what it gave, or `None` if there is no such method or it
/// threw.
pub fn call0(target: &JsValue, method: &str) -> Option<JsValue> {
    let f = get(target, method).dyn_into::<js_sys::Function>().ok()?;
    f.call0(target).ok()
}

/// A short human-readable description of a thrown JavaScript value (for logs and error details).
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        let name: String = e.name().into();
        let message: String = e.message().into();
        return format!("{name}: {message}");
    }
    format!("{value:?}")
}

/// The page's `window`. Only for code that runs on the page's thread (the UI), never in the
/// engine's worker: use [`js_sys::global`] there.
pub fn window() -> web_sys::Window {
    web_sys::window().expect("Whisker's page runs in a browser window")
}

/// Calls `globalThis[name](args...)`: the functions that windows and workers share
/// (`fetch`, `createImageBitmap`), without knowing which one this code runs in.
fn call_global(name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let f = get(&global, name)
        .dyn_into::<js_sys::Function>()
        .map_err(|_| JsValue::from_str(&format!("{name} is not available here")))?;
    let array: js_sys::Array = args.iter().copied().collect();
    f.apply(&global, &array)
}

/// `fetch(url)` on this thread's global scope.
pub fn fetch(url: &str) -> Result<js_sys::Promise, JsValue> {
    call_global("fetch", &[&JsValue::from_str(url)])?.dyn_into()
}

/// `createImageBitmap(source, options)` on this thread's global scope.
pub fn create_image_bitmap(
    source: &JsValue,
    options: &web_sys::ImageBitmapOptions,
) -> Result<js_sys::Promise, JsValue> {
    call_global("createImageBitmap", &[source, options.as_ref()])?.dyn_into()
}

/// Milliseconds since this thread's time origin (`performance.now()`), or since the epoch where
/// there is no `performance`.
pub fn now_ms() -> f64 {
    let performance = get(&js_sys::global(), "performance");
    call0(&performance, "now")
        .and_then(|v| v.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}
