//! Small helpers for reading plain JavaScript objects.

use wasm_bindgen::{JsCast, JsValue};

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

/// The page's `window`. The app only ever runs in a window.
pub fn window() -> web_sys::Window {
    web_sys::window().expect("Whisker runs in a browser window")
}
